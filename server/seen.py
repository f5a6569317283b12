"""Tweets as one reader sees them: quoted tweets embedded, and the reader's own marks
(``liked_by_me``, ``reposted_by_me``, ``bookmarked_by_me``) set — the same on every read
path, each mark from the reader's cached set (``server/likedcache.py``) when warm.

With Redis, the three marks are one script (``as_seen_by``), and a page hydrated
here (``hydrate``) asks them in the same pipeline as the tweets' bodies: a warm page's
tweets, as its reader sees them, cost one Redis round trip.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

from bson import ObjectId

from . import bookmarks, likes, quotes, reposts, tweetcache, tweets
from .accounts import Caller
from .ids import tweet_oid
from .likedcache import LikedCache, queue_marks
from .models import Tweet
from .redisslots import shared_replies
from .services import Services
from .tweetcache import RedisTweetCache

log = logging.getLogger("murmur.seen")


class Marks(NamedTuple):
    """Which of a page's tweet ids the reader liked, reposted, bookmarked."""

    liked: set[str]
    reposted: set[str]
    bookmarked: set[str]


async def as_seen_by(svc: Services, caller: Caller | None, items: list[Tweet]) -> list[Tweet]:
    """``items`` as ``caller`` (None: signed out) may see them now."""
    items = await quotes.embed(svc, caller, items)
    if caller is None or not items:
        return items
    return _marked(items, await _marks(svc, caller, [t.tweet_id for t in items]))


async def hydrate(svc: Services, caller: Caller | None, tweet_ids: list[ObjectId]) -> list[Tweet]:
    """The visible tweets among ``tweet_ids``, in that order, as ``caller`` sees them
    (``as_seen_by``). With Redis their bodies (``tweetcache``) and the caller's marks go in
    one pipeline: a warm page is one round trip (one per master on a cluster, in parallel:
    the marks' keys share the reader's slot, the tweets' are grouped by slot)."""
    cache, caches = svc.tweet_cache, _mark_caches(svc)
    if caller is None or not tweet_ids or caches is None or not isinstance(cache, RedisTweetCache):
        return await as_seen_by(svc, caller, await tweetcache.hydrate(cache, svc.db, tweet_ids))
    wanted = [str(t) for t in tweet_ids]
    parts: dict[str, Any] = {}

    def queue(pipe: Any) -> None:
        parts["tweets"] = cache.queue_lookup(pipe, wanted)
        parts["marks"] = queue_marks(pipe, caches, caller.id, wanted)

    replies = await shared_replies(cache.redis, queue, log, "tweet and marks caches")
    read_tweets, answer = parts["tweets"], parts["marks"]
    # Redis away: nothing seen, so nothing read now is stored.
    found, seen = ({}, {}) if replies is None else read_tweets(replies)
    marks = Marks(*await answer(svc.db, replies))
    items = await tweetcache.completed(cache, svc.db, tweet_ids, found, seen)
    return _marked(await quotes.embed(svc, caller, items), marks)


async def one(svc: Services, caller: Caller | None, tweet_id: str) -> Tweet:
    """One tweet as ``caller`` sees it (404 as ``tweets.visible``): its body and the
    caller's marks in one Redis round trip when warm."""
    found = await hydrate(svc, caller, [tweet_oid(tweet_id)])
    return await tweets.readable(svc, caller, tweets.the_one(found))


def _mark_caches(svc: Services) -> tuple[LikedCache, LikedCache, LikedCache] | None:
    """The reader's three mark caches, in ``Marks``' order, when all three are in Redis."""
    if svc.liked is None or svc.reposted is None or svc.bookmarked is None:
        return None
    return svc.liked, svc.reposted, svc.bookmarked


async def _marks(svc: Services, caller: Caller, ids: list[str]) -> Marks:
    """The caller's marks among ``ids``: one script for the three cached sets (they share
    the reader's slot, and ``svc.cache_redis``), else each its own way."""
    caches = _mark_caches(svc)
    if caches is None:
        return Marks(
            await likes.liked_by_me(svc, caller, ids),
            await reposts.reposted_by_me(svc, caller, ids),
            await bookmarks.bookmarked_by_me(svc, caller, ids),
        )
    parts: dict[str, Any] = {}

    def queue(pipe: Any) -> None:
        parts["marks"] = queue_marks(pipe, caches, caller.id, ids)

    replies = await shared_replies(caches[0].redis, queue, log, "marks caches")
    return Marks(*await parts["marks"](svc.db, replies))


def _marked(items: list[Tweet], marks: Marks) -> list[Tweet]:
    # Copies keep the tweet's pre-rendered JSON (server/tweetjson.py); one without marks is
    # shared (``Tweet.marked``).
    return [
        t.marked(
            t.tweet_id in marks.liked,
            t.tweet_id in marks.reposted,
            t.tweet_id in marks.bookmarked,
        )
        for t in items
    ]
