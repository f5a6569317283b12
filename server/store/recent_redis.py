"""Recent tweet ids per author and of the whole public timeline, in Redis sorted sets, so the
first pages of a profile, of ``GET /tweets`` and of big authors' pulled tweets need no query.

Keys ``murmur:<db>:recent:{<author>}`` and ``murmur:<db>:recent:{*}`` (everyone). As in
``timelines_redis.py`` members are ``<tweet id hex>:<author>`` with score 0, so lexicographic
order is id order and ``before`` cursors work. A set holds the newest ``cap`` visible tweets;
``added_many`` (create, restore) and ``removed`` (delete, hide) keep it current.

Redis is a cache of ``tweets`` here: a set is read only when its marker,
``murmur:<db>:recent-built:{<key>}``, names the run of the Redis server holding it (else it is
rebuilt from ``tweets`` first, like a stored timeline). The marker also says whether the set
held every tweet when built (``:1``); the first trim clears that. A read that reaches below a
set that is not complete answers None, and the caller asks the database. A tweet deleted while a set
was being rebuilt can be left in it: hydrating the page leaves it out (a page one short).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any, cast

from bson import ObjectId
from redis.asyncio import Redis

from ..redisslots import (
    REDIS_ERRORS,
    eval_each,
    queue_run_markers,
    rebuild_set,
    run_markers,
    shared_execute,
    tagged,
)

log = logging.getLogger("murmur.recent")

PUBLIC = "*"
# Loads a set from ``tweets``: (author or PUBLIC, how many) -> (tweet id, author), newest first.
Loader = Callable[[str, int], Awaitable[list[tuple[ObjectId, str]]]]

# KEYS: a set, its marker (one slot: they share a hash tag); ARGV: the member, the set's cap.
_ADD = """
redis.call('ZADD', KEYS[1], 0, ARGV[1])
local trimmed = redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
local marker = redis.call('GET', KEYS[2])
if trimmed > 0 and marker and string.sub(marker, -2) == ':1' then
  redis.call('SET', KEYS[2], string.sub(marker, 1, -3) .. ':0')
end
return trimmed
"""


class RecentIds:
    """The recent-id sets; every method answers None (or does nothing) when Redis is away."""

    def __init__(
        self, redis: Redis, *, prefix: str, load: Loader, author_cap: int = 200,
        public_cap: int = 800,
    ) -> None:  # fmt: skip
        self.redis = redis
        self.prefix = prefix  # "murmur:<db>:"
        self.load = load
        self.author_cap = author_cap
        self.public_cap = public_cap
        self._rebuilding: dict[str, asyncio.Task[None]] = {}

    def _key(self, who: str) -> str:
        return f"{self.prefix}recent:{tagged(who)}"

    def _marker(self, who: str) -> str:
        # The set's tag: _ADD touches both, and the marker names the run of the set's server.
        return f"{self.prefix}recent-built:{tagged(who)}"

    def _cap(self, who: str) -> int:
        return self.public_cap if who == PUBLIC else self.author_cap

    async def added_many(self, tweets: Sequence[tuple[str, str]]) -> None:
        """Tweets (id, author) became visible (posted or restored), in one pipeline. Raises
        what Redis raises: a tweet missing from a set that is still marked built would be
        missing from the first pages until the set is rebuilt, so the outbox worker retries
        until it lands."""
        # One script per set, its keys in one slot (a cluster's masters hold the two sets).
        pipe = self.redis.pipeline(transaction=False)
        calls = [
            ([self._key(w), self._marker(w)], [f"{tweet_id}:{author}", self._cap(w)])
            for tweet_id, author in tweets
            for w in (author, PUBLIC)
        ]
        eval_each(pipe, _ADD, calls)
        await pipe.execute()

    async def distrust(self, *, author: str) -> None:
        """Drop the markers of ``author``'s set and everyone's: readers rebuild them from
        ``tweets`` until they are marked built again. For a change that may not have
        reached them (an add that failed): until the worker's retry lands, a reader of the
        set as it stands would miss the tweet."""
        pipe = self.redis.pipeline(transaction=False)
        for who in (author, PUBLIC):
            pipe.delete(self._marker(who))
        await pipe.execute()

    async def removed(self, *, tweet_id: str, author: str) -> None:
        """A tweet is gone (deleted or hidden). Raises as ``added_many`` does."""
        member = f"{tweet_id}:{author}"
        pipe = self.redis.pipeline(transaction=False)
        for who in (author, PUBLIC):
            pipe.zrem(self._key(who), member)
        await pipe.execute()

    async def newest(
        self, who: list[str], *, before: ObjectId | None, limit: int, exclude: Iterable[str] = ()
    ) -> list[ObjectId] | None:
        """The newest ``limit`` ids below ``before`` by any of ``who`` (authors, or
        ``[PUBLIC]``) without ``exclude``'s, newest first; None when the sets cannot tell."""
        excluded = set(exclude)
        want = limit + (64 if excluded else 0)
        try:
            found = await self._read(who, before, want)
            if found is None:
                return None
        except REDIS_ERRORS as exc:
            log.warning("recent ids unavailable, reading the database: %s", exc)
            return None
        ids: set[ObjectId] = set()
        for members, complete in found:
            if len(members) < want and not complete:
                return None  # the page reaches below what the set holds
            kept = [m for m in members if m.partition(":")[2] not in excluded]
            if len(kept) < limit and len(members) == want:
                return None  # too many excluded in what was read: let the database filter
            ids.update(ObjectId(m.partition(":")[0]) for m in kept)
        return sorted(ids, reverse=True)[:limit]

    async def _read(
        self, who: list[str], before: ObjectId | None, want: int
    ) -> list[tuple[list[str], bool]] | None:
        high = "+" if before is None else f"({before}"
        for attempt in range(2):
            queued: dict[str, Any] = {}

            def queue(pipe: Any, queued: dict[str, Any] = queued) -> None:
                # Each marker with the run_id of the server holding it (on a cluster, the
                # master of that author's slot: each set is checked against its own shard).
                queued["groups"] = queue_run_markers(
                    pipe, self.redis, [self._marker(w) for w in who]
                )
                for w in who:
                    pipe.zrevrangebylex(self._key(w), high, "-", start=0, num=want)

            results = await shared_execute(self.redis, queue)
            groups = queued["groups"]
            marks = run_markers(groups, results[: len(groups)])
            stale = [w for w, (m, run) in zip(who, marks, strict=True) if not _built_on(m, run)]
            if not stale:
                members = cast(list[list[str]], results[len(groups) :])
                return [
                    (m, str(k).endswith(":1")) for m, (k, _) in zip(members, marks, strict=True)
                ]
            if attempt == 0:
                for w in stale:
                    await self._rebuild_once(w)
        return None

    async def _rebuild_once(self, who: str) -> None:
        """Rebuild a set once per process however many readers find it stale together.

        Each reader used to rebuild it: the 32 first readers of a cold public timeline each
        read its 800 newest tweets from the database and each dropped the set the others
        had just filled (a reader then found it part-filled and asked the database too):
        seconds of tail latency. The rebuild runs as its own task, so a reader that goes
        away does not stop it for the others."""
        running = self._rebuilding.get(who)
        if running is None:
            running = asyncio.create_task(self._rebuild(who))
            self._rebuilding[who] = running
            running.add_done_callback(partial(self._rebuilt, who))
        await asyncio.shield(running)

    def _rebuilt(self, who: str, task: asyncio.Task[None]) -> None:
        if self._rebuilding.get(who) is task:
            del self._rebuilding[who]
        if not task.cancelled():
            task.exception()  # retrieved: the readers waiting for it have raised it already

    async def _rebuild(self, who: str) -> None:
        """Refill the set from ``tweets`` under a claim (``rebuild_set``): the set is emptied
        before the read, so a tweet added meanwhile is kept; while another process rebuilds
        it, readers ask the database."""
        cap = self._cap(who)
        more = False  # the database holds more than the set keeps: it is not complete

        async def members() -> list[str]:
            nonlocal more
            entries = await self.load(who, cap + 1)
            more = len(entries) > cap
            return [f"{t}:{a}" for t, a in entries[:cap]]

        await rebuild_set(
            self.redis, self._key(who), self._marker(who), members, keep=cap,
            suffix=lambda _: ":0" if more else ":1",
        )  # fmt: skip


def _built_on(marker: str | None, run_id: str) -> bool:
    return marker is not None and marker.rpartition(":")[0] == run_id
