"""The spam screen: a pluggable list of rules run on every new tweet.

A suspicious tweet is not blocked; it is queued for review as a report from ``system`` with
reason ``spam:<rule>``, so a person decides. Add a rule by appending to ``RULES``: an async
function taking the services and a batch of new tweets (the outbox worker screens a batch
at once), returning for each whether it looks wrong.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
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

Rule = Callable[[Services, Sequence[Tweet]], Awaitable[list[bool]]]


async def link_flood(svc: Services, tweets: Sequence[Tweet]) -> list[bool]:
    """Too many links for one tweet."""
    return [len(_LINK_RE.findall(t.content)) > MAX_LINKS for t in tweets]


async def mention_storm(svc: Services, tweets: Sequence[Tweet]) -> list[bool]:
    """Too many mentions for one tweet."""
    return [len(t.mentions) > MAX_MENTIONS for t in tweets]


def repeat_key(svc: Services, user_id: str, content: str) -> str:
    """The Redis set of ``user_id``'s tweets saying ``content`` (one key: any slot will do)."""
    digest = hashlib.sha256(content.encode()).hexdigest()[:24]
    return f"murmur:{svc.settings.mongodb_db}:repeat:{user_id}:{digest}"


async def repeated_post(svc: Services, tweets: Sequence[Tweet]) -> list[bool]:
    """The author posted the same text several times within the window.

    With Redis, each (author, text) keeps a set of its tweet ids that lives ``REPEAT_WINDOW``
    past the latest one (one pipeline for the batch, no query; a re-run adds the same id
    again); without it, the author's identical tweets since the window's start are counted.
    In a batch a tweet is counted with the ones before it (the set has them all by then)."""
    if svc.cache_redis is not None and tweets:
        try:
            pipe = svc.cache_redis.pipeline(transaction=False)
            for tweet in tweets:
                key = repeat_key(svc, tweet.user_id, tweet.content)
                pipe.sadd(key, tweet.tweet_id)
                pipe.expire(key, int(REPEAT_WINDOW.total_seconds()))
                pipe.smembers(key)
            replies = await pipe.execute()
            return [_earlier(t, replies[3 * i + 2]) >= MAX_REPEATS for i, t in enumerate(tweets)]
        except REDIS_ERRORS:
            log.warning("repeat check falls back to the database (Redis unavailable)")
    return [await _identical_in_window(svc, t) >= MAX_REPEATS for t in tweets]


def _earlier(tweet: Tweet, ids: set[str]) -> int:
    """How many of ``ids`` (one author's tweets saying the same) came before ``tweet``."""
    return sum(1 for i in ids if i < tweet.tweet_id)


async def _identical_in_window(svc: Services, tweet: Tweet) -> int:
    return await tweet_store.count_identical(
        svc.db,
        user_id=tweet.user_id,
        content=tweet.content,
        since=tweet.created_at - REPEAT_WINDOW,
        exclude=tweet.tweet_id,
    )


RULES: dict[str, Rule] = {
    "link_flood": link_flood,
    "mention_storm": mention_storm,
    "repeated_post": repeated_post,
}


async def screen(
    svc: Services, tweets: Sequence[Tweet], rules: dict[str, Rule] | None = None
) -> list[list[str]]:
    """Run every rule on the batch; queue each tweet a rule fires on for review under the
    first that fires. Returns each tweet's hits."""
    fired = {name: await rule(svc, tweets) for name, rule in (rules or RULES).items()}
    hits = [[name for name, found in fired.items() if found[i]] for i in range(len(tweets))]
    for tweet, its in zip(tweets, hits, strict=True):
        if its:
            await _queue(svc, tweet, its)
    return hits


async def _queue(svc: Services, tweet: Tweet, hits: list[str]) -> None:
    """File the tweet for review as the screen's report (once: a re-run conflicts)."""
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
