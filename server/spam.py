"""The spam screen: a pluggable list of rules run on every new tweet.

A suspicious tweet is not blocked; it is queued for review as a report from ``system`` with
reason ``spam:<rule>``, so a person decides. Add a rule by appending to ``RULES``: an async
function taking the services and the new tweet, returning True when the tweet looks wrong.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta

from pymongo.errors import PyMongoError

from .errors import Conflict
from .models import Tweet
from .redisslots import REDIS_ERRORS
from .services import Services
from .store import reports as report_store
from .store import tweets as tweet_store

log = logging.getLogger("murmur.spam")

MAX_LINKS = 3  # more links than this in one tweet is a link flood
MAX_MENTIONS = 5  # more distinct @names than this is a mention storm
MAX_REPEATS = 2  # earlier identical tweets allowed within REPEAT_WINDOW
REPEAT_WINDOW = timedelta(hours=24)

_LINK_RE = re.compile(r"https?://|www\.", re.IGNORECASE)

Rule = Callable[[Services, Tweet], Awaitable[bool]]


async def link_flood(svc: Services, tweet: Tweet) -> bool:
    """Too many links for one tweet."""
    return len(_LINK_RE.findall(tweet.content)) > MAX_LINKS


async def mention_storm(svc: Services, tweet: Tweet) -> bool:
    """Too many mentions for one tweet."""
    return len(tweet.mentions) > MAX_MENTIONS


def repeat_key(svc: Services, user_id: str, content: str) -> str:
    """The Redis set of ``user_id``'s tweets saying ``content`` (one key: any slot will do)."""
    digest = hashlib.sha256(content.encode()).hexdigest()[:24]
    return f"murmur:{svc.settings.mongodb_db}:repeat:{user_id}:{digest}"


async def repeated_post(svc: Services, tweet: Tweet) -> bool:
    """The author posted the same text several times within the window.

    With Redis, each (author, text) keeps a set of its tweet ids that lives ``REPEAT_WINDOW``
    past the latest one (one pipelined call, no query; a re-run adds the same id again);
    without it, the author's identical tweets since the window's start are counted."""
    if svc.cache_redis is not None:
        key = repeat_key(svc, tweet.user_id, tweet.content)
        try:
            pipe = svc.cache_redis.pipeline(transaction=False)
            pipe.sadd(key, tweet.tweet_id)
            pipe.expire(key, int(REPEAT_WINDOW.total_seconds()))
            pipe.scard(key)
            _, _, seen = await pipe.execute()
            return int(seen) - 1 >= MAX_REPEATS
        except REDIS_ERRORS:
            log.warning("repeat check falls back to the database (Redis unavailable)")
    earlier = await tweet_store.count_identical(
        svc.db,
        user_id=tweet.user_id,
        content=tweet.content,
        since=tweet.created_at - REPEAT_WINDOW,
        exclude=tweet.tweet_id,
    )
    return earlier >= MAX_REPEATS


RULES: dict[str, Rule] = {
    "link_flood": link_flood,
    "mention_storm": mention_storm,
    "repeated_post": repeated_post,
}


async def screen(svc: Services, tweet: Tweet, rules: dict[str, Rule] | None = None) -> list[str]:
    """Run every rule; queue the tweet for review under the first that fires. Returns hits."""
    hits = [name for name, rule in (rules or RULES).items() if await rule(svc, tweet)]
    if hits:
        try:
            await report_store.file(
                svc.db,
                tweet_id=tweet.tweet_id,
                reporter_id=report_store.SYSTEM,
                reason=f"spam:{hits[0]}",
                now=svc.clock(),
            )
        except (Conflict, PyMongoError):
            # The tweet is posted either way; a failed queue entry must not fail the post.
            log.exception("could not queue tweet %s for review", tweet.tweet_id)
        log.info("tweet %s queued for review: %s", tweet.tweet_id, ", ".join(hits))
    return hits
