"""Home timelines in Redis sorted sets: a cache of ``follows`` + ``tweets``, rebuilt when lost.

One sorted set per owner, ``murmur:<db>:tl:<owner>``. Every member has score 0 and is
``<tweet id hex>:<author>`` (a repost: ``<repost id hex>:<reposter>:<original id hex>``):
with equal scores Redis orders members by their bytes, and the
24 hex digits of an ObjectId sort exactly like the ObjectId itself, so ranks, lexicographic
ranges and cursors (``before``) match the MongoDB store id for id (a float score cannot hold
the id's 96 bits). Carrying the author lets an unfollow remove entries without MongoDB.

A second key per owner, ``murmur:<db>:tl-built:<owner>``, holds the ``run_id`` of the Redis
server the timeline was built on. Both keys carry the owner as a hash tag (``tl:{<owner>}``):
on a Redis Cluster they then live on the same master, and the ``run_id`` read is that
master's (``server/redisslots.py``), so a shard that restarted or failed over is told apart.
Before a read, a missing marker (flushed, evicted, never built) or one from another server
run (a restart, even one restoring a snapshot, or a fail-over) has the timeline rebuilt from
durable state first; see ``ensure_built``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any, cast

from bson import ObjectId

from realtime.redis_backend import connect_redis

from ..redisslots import (
    REDIS_ERRORS,
    SET_RUN_MARKER,
    eval_each,
    rebuild_set,
    shared_execute,
    tagged,
)
from ..settings import Settings
from .timelines import Entry, Loader, Push, Slot, TimelinesUnavailable

log = logging.getLogger("murmur.timelines")

_READ_CHUNK = 200


def _member(tweet_id: ObjectId, author: str, original: ObjectId | None = None) -> str:
    return f"{tweet_id}:{author}" if original is None else f"{tweet_id}:{author}:{original}"


def _parse(member: str) -> Slot:
    tweet_id, author, *original = member.split(":")
    return Slot(ObjectId(tweet_id), author, ObjectId(original[0]) if original else None)


def _tweet_range(tweet_id: ObjectId) -> tuple[str, str]:
    """The lexicographic range holding ``tweet_id``'s member, whoever the author (';' > ':')."""
    return f"[{tweet_id}:", f"({tweet_id};"


# KEYS: the timeline's marker, the timeline. ARGV: the range's high end, how many. The first
# chunk of a read, or nil when the timeline is not built on this server run (``RUN_MARKERS``'
# check and the read in one script).
_FIRST_IF_BUILT = """
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
if redis.call('GET', KEYS[1]) ~= run_id then
  return false
end
return redis.call('ZREVRANGEBYLEX', KEYS[2], ARGV[1], '-', 'LIMIT', 0, tonumber(ARGV[2]))
"""


class RedisTimelines:
    """Pipelined sorted-set writes: a 1,000-follower batch is one round trip."""

    name = "redis"

    def __init__(self, url: str, *, prefix: str, settings: Settings) -> None:
        self.redis = connect_redis(url, cluster=settings.redis_cluster)
        self.prefix = prefix  # "murmur:<db>:tl:"
        self.built_prefix = prefix.removesuffix(":") + "-built:"
        self.settings = settings

    def key(self, owner: str) -> str:
        return self.prefix + tagged(owner)

    def built_key(self, owner: str) -> str:
        return self.built_prefix + tagged(owner)

    @property
    def _trim_to(self) -> int:
        """ZREMRANGEBYRANK's stop: everything below the newest ``timeline_max_entries``."""
        return -(self.settings.timeline_max_entries + 1)

    async def push(
        self,
        *,
        owners: Sequence[str],
        tweet_id: ObjectId,
        author: str,
        original: ObjectId | None = None,
    ) -> int:
        return await self._push([(owners, _member(tweet_id, author, original))])

    async def push_many(self, pushes: Sequence[Push]) -> int:
        return await self._push([(p.owners, _member(p.tweet_id, p.author)) for p in pushes])

    async def _push(self, members: list[tuple[Sequence[str], str]]) -> int:
        """Each member into its owners' timelines, trimmed: one pipeline."""
        pipe = self.redis.pipeline(transaction=False)
        for owners, member in members:
            for owner in owners:
                pipe.zadd(self.key(owner), {member: 0})
                pipe.zremrangebyrank(self.key(owner), 0, self._trim_to)
        results = await self._run(pipe)
        return sum(int(n) for n in results[::2])

    async def backfill(self, *, owner: str, author: str, tweet_ids: Iterable[ObjectId]) -> int:
        mapping = {_member(t, author): 0 for t in tweet_ids}
        if not mapping:
            return 0
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self.key(owner), mapping)  # type: ignore[arg-type]
        pipe.zremrangebyrank(self.key(owner), 0, self._trim_to)
        return int((await self._run(pipe))[0])

    async def load(self, *, entries: Sequence[Entry]) -> int:
        """Whole timelines (the demo seed): written and marked built on this server run."""
        by_owner: dict[str, dict[str, float]] = {}
        for owner, tweet_id, author in entries:
            by_owner.setdefault(owner, {})[_member(tweet_id, author)] = 0
        if not by_owner:
            return 0
        pipe = self.redis.pipeline(transaction=False)
        for owner, mapping in by_owner.items():
            pipe.zadd(self.key(owner), mapping)
            pipe.zremrangebyrank(self.key(owner), 0, self._trim_to)
            eval_each(pipe, SET_RUN_MARKER, [([self.built_key(owner)], [])])
        return sum(int(n) for n in (await self._run(pipe))[::3])

    async def remove_tweet(self, *, owners: Sequence[str], tweet_id: ObjectId) -> int:
        low, high = _tweet_range(tweet_id)
        pipe = self.redis.pipeline(transaction=False)
        for owner in owners:
            pipe.zremrangebylex(self.key(owner), low, high)
        return sum(int(n) for n in await self._run(pipe))

    async def remove_author(self, *, owner: str, author: str) -> int:
        try:
            members = cast(list[str], await self.redis.zrange(self.key(owner), 0, -1))
            gone = [m for m in members if _parse(m).author == author]
            return int(await self.redis.zrem(self.key(owner), *gone)) if gone else 0
        except REDIS_ERRORS as exc:
            raise TimelinesUnavailable(str(exc)) from exc

    async def newest(
        self,
        *,
        owner: str,
        before: ObjectId | None,
        limit: int,
        exclude: Iterable[str],
        rebuild: Loader | None = None,
    ) -> list[Slot]:
        excluded = set(exclude)
        high = "+" if before is None else f"({before}"  # "<before>:..." sorts above "<before>"
        found: list[Slot] = []
        try:
            want = min(_READ_CHUNK, limit) if not excluded else _READ_CHUNK
            first = None if rebuild is None else await self._first_if_built(owner, high, want)
            if first is None and rebuild is not None:
                await self.ensure_built(owner=owner, rebuild=rebuild)
            while len(found) < limit:
                # Excluded authors are filtered here, so read on until the page is full.
                want = min(_READ_CHUNK, limit - len(found)) if not excluded else _READ_CHUNK
                if first is not None:
                    chunk, first = first, None
                else:
                    chunk = cast(
                        list[str],
                        await self.redis.zrevrangebylex(
                            self.key(owner), high, "-", start=0, num=want
                        ),
                    )
                for member in chunk:
                    slot = _parse(member)
                    if slot.author not in excluded and len(found) < limit:
                        found.append(slot)
                if len(chunk) < want:
                    break
                high = f"({chunk[-1]}"
        except REDIS_ERRORS as exc:
            raise TimelinesUnavailable(str(exc)) from exc
        return found

    async def _first_if_built(self, owner: str, high: str, want: int) -> list[str] | None:
        """The first chunk of a read together with the ``ensure_built`` check, in one round
        trip and one command (every read but the first after a rebuild finds the timeline
        built); None when it must be rebuilt first."""
        # The marker and the timeline share the owner's tag: one slot, so one script, and the
        # run_id it reads is the one of the master holding both.
        keys = (self.built_key(owner), self.key(owner))
        (chunk,) = await shared_execute(
            self.redis, lambda pipe: pipe.eval(_FIRST_IF_BUILT, 2, *keys, high, want)
        )
        return None if chunk is None else cast(list[str], chunk)

    async def oldest_id(self, *, owner: str) -> ObjectId | None:
        try:
            first = cast(list[str], await self.redis.zrange(self.key(owner), 0, 0))
        except REDIS_ERRORS as exc:
            raise TimelinesUnavailable(str(exc)) from exc
        return _parse(first[0]).id if first else None

    async def count(self, *, owner: str) -> int:
        return int(await self.redis.zcard(self.key(owner)))

    async def owners_of(self, *, tweet_id: ObjectId) -> list[str]:
        # On a cluster, scan_iter walks every master.
        keys = [k async for k in self.redis.scan_iter(match=self.prefix + "*", count=1000)]
        low, high = _tweet_range(tweet_id)
        pipe = self.redis.pipeline(transaction=False)
        for k in keys:
            pipe.zrangebylex(k, low, high)
        hits = await pipe.execute()
        return [k[len(self.prefix) + 1 : -1] for k, hit in zip(keys, hits, strict=True) if hit]

    async def ensure_built(self, *, owner: str, rebuild: Loader) -> bool:
        """Rebuild ``owner``'s timeline unless it was built on this Redis server run.

        Under a claim (``rebuild_set``): the old set is dropped *before* durable state is
        read, so a push landing meanwhile is kept (it is added on top), and every tweet
        stored before the read is in what the loader returns; while another reader rebuilds
        it, this one is told the store is unavailable (and pulls)."""
        count = 0

        async def members() -> list[str]:
            nonlocal count
            slots = await rebuild()
            count = len(slots)
            return [_member(*slot) for slot in slots]

        try:
            rebuilt = await rebuild_set(
                self.redis, self.key(owner), self.built_key(owner), members,
                keep=self.settings.timeline_max_entries,
            )  # fmt: skip
        except REDIS_ERRORS as exc:
            raise TimelinesUnavailable(str(exc)) from exc
        if rebuilt is None:
            raise TimelinesUnavailable("being rebuilt by another reader")
        if rebuilt:
            log.info("rebuilt the home timeline of %s (%d entries)", owner, count)
        return rebuilt

    async def close(self) -> None:
        await self.redis.aclose()

    @staticmethod
    async def _run(pipe: Any) -> list[int]:
        """Execute a write pipeline; a Redis outage becomes ``TimelinesUnavailable`` (the
        fan-out job is then retried with backoff, like any failed job)."""
        try:
            return list(await pipe.execute())
        except REDIS_ERRORS as exc:
            raise TimelinesUnavailable(str(exc)) from exc
