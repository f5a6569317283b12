"""``liked_by_me`` (and ``reposted_by_me``) without a query per page: each reader's liked
(or reposted) tweet ids, kept in Redis. One ``LikedCache`` per kind of mark.

One Redis set per user, ``murmur:<db>:liked:{<user>}``, holding the ids of every tweet they
like, when they like at most ``max_likes`` (a page then asks Redis only: ``SMISMEMBER``).
Whoever likes more is marked so and answered by one batched query per page, as before. A
set is filled from ``likes`` on first use and kept current by ``changed`` (called right after
every like and unlike); it expires after ``ttl`` (a restored Redis snapshot is stale at most
that long). Like the tweet cache, a fill that raced with a like or an unlike is not stored:
each user has a version, bumped by ``changed``, and a Lua script stores only while it is
still the one read before the query.

Without Redis (one process, the timelines in MongoDB anyway) it is the batched query.
Redis away: the batched query.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio import Redis

from .db import Database
from .redisslots import REDIS_ERRORS, Replies, replies_or_none, tagged
from .store import likes as like_store

log = logging.getLogger("murmur.likedcache")

# KEYS: version, set, marker. ARGV: seen version, ttl, marker value, then the members.
_FILL_IF_UNCHANGED = """
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
for i = 4, #ARGV, 500 do
  redis.call('SADD', KEYS[2], unpack(ARGV, i, math.min(i + 499, #ARGV)))
end
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[2])
return 1
"""


# KEYS: (version, set, marker) per cache; ARGV: tweet ids. Per cache {marker, version,
# membership of each id}: a missing key is false, which Redis replies as nil.
_READ_MARKS = """
local reply = {}
for i = 1, #KEYS, 3 do
  reply[#reply + 1] = {
    redis.call('GET', KEYS[i + 2]), redis.call('GET', KEYS[i]),
    #ARGV > 0 and redis.call('SMISMEMBER', KEYS[i + 1], unpack(ARGV)) or {},
  }
end
return reply
"""


class LikedCache:
    """Which tweets a user likes, from Redis; the database for heavy likers or an outage."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        max_likes: int = 2000,
        ttl: int = 3600,
        kind: str = "liked",
        among: Callable[..., Awaitable[set[str]]] = like_store.liked_among,
        listing: Callable[..., Awaitable[list[str]]] = like_store.liked_by,
    ) -> None:
        self.redis = redis
        self.kind = kind  # the key's name: "liked", "reposted"
        self._among = among  # (db, user_id=, tweet_ids=) → the marked ones, from the database
        self._listing = listing  # (db, user_id=, limit=) → up to limit marked tweet ids
        self.prefix = prefix  # "murmur:<db>:"
        self.max_likes = max_likes
        self.ttl = ttl
        self._fill = redis.register_script(_FILL_IF_UNCHANGED)

    def _keys(self, user_id: str) -> list[str]:
        """The user's version, set and marker keys. They carry the user as a hash tag: the
        fill script touches all three, which a Redis Cluster allows only within one slot."""
        k = self.kind
        tag = tagged(user_id)
        return [f"{self.prefix}{part}:{tag}" for part in (f"{k}-v", k, f"{k}-built")]

    async def liked_among(self, db: Database, user_id: str, tweet_ids: list[str]) -> set[str]:
        """Which of ``tweet_ids`` ``user_id`` likes."""
        pipe = self.redis.pipeline(transaction=False)
        answer = queue_marks(pipe, [self], user_id, tweet_ids)
        [liked] = await answer(db, await replies_or_none(pipe, log, f"{self.kind} cache"))
        return liked

    async def _answer(
        self, db: Database, user_id: str, tweet_ids: list[str], reply: list[Any] | None
    ) -> set[str]:
        """Which of ``tweet_ids`` ``user_id`` marked, from this cache's part of a
        ``_READ_MARKS`` reply (None: Redis away), or from the database when the set is not
        built (built first when it can be)."""
        if reply is not None:
            built, seen, hits = reply
            if built == "all":
                return {t for t, hit in zip(tweet_ids, hits, strict=True) if hit}
            liked = await self._build(db, user_id, seen or "") if built is None else None
            if liked is not None:
                return liked.intersection(tweet_ids)
        return await self._among(db, user_id=user_id, tweet_ids=tweet_ids)

    async def changed(self, user_id: str, tweet_id: str, *, liked: bool) -> None:
        """``user_id`` liked (or unliked) ``tweet_id``: every process sees it on its next read."""
        version, members, _ = self._keys(user_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.incr(version)
        pipe.expire(version, self.ttl)
        if liked:
            pipe.sadd(members, tweet_id)
        else:
            pipe.srem(members, tweet_id)
        pipe.expire(members, self.ttl)
        try:
            await pipe.execute()
        except REDIS_ERRORS as exc:
            log.error("liked cache: could not record %s on %s: %s", user_id, tweet_id, exc)

    async def _build(self, db: Database, user_id: str, seen: str) -> set[str] | None:
        """Fill the user's set; what they like (None: too many to keep)."""
        liked = await self._listing(db, user_id=user_id, limit=self.max_likes + 1)
        many = len(liked) > self.max_likes
        args: list[Any] = [seen, self.ttl, "many" if many else "all", *([] if many else liked)]
        try:
            await self._fill(keys=self._keys(user_id), args=args)
        except REDIS_ERRORS as exc:
            log.warning("liked cache: could not fill %s: %s", user_id, exc)
        return None if many else set(liked)


def queue_marks(
    pipe: Any, caches: Sequence[LikedCache], user_id: str, tweet_ids: list[str]
) -> Callable[[Database, Replies | None], Awaitable[list[set[str]]]]:
    """Queue on ``pipe`` one read of ``user_id``'s marks among ``tweet_ids`` in each of
    ``caches`` (their markers, versions and memberships: one script, since every key carries
    the user's tag), so that a page's marks ride in the pipeline of its tweets
    (``server/seen.py``): one round trip, and one command, for all of them. Returns what
    answers, one set per cache, from the pipeline's replies (None: Redis away, so the
    database)."""
    keys = [k for c in caches for k in c._keys(user_id)]
    pipe.eval(_READ_MARKS, len(keys), *keys, *tweet_ids)

    async def answer(db: Database, replies: Replies | None) -> list[set[str]]:
        reply = None if replies is None else next(replies)
        return [
            await c._answer(db, user_id, tweet_ids, None if reply is None else reply[i])
            for i, c in enumerate(caches)
        ]

    return answer
