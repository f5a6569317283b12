"""Stored home timelines: one small interface, two stores.

- ``MongoTimelines``: the ``timelines`` collection, one document per (owner, tweet). Works
  with no Redis at all. The unique (owner, tweet_id) index makes fan-out idempotent: a
  retried batch hits duplicate-key errors for the entries it already wrote, and those are
  ignored.
- ``RedisTimelines`` (``server/store/timelines_redis.py``): one sorted set per owner, used
  when ``REDIS_URL`` is set; a cache of durable state, rebuilt from ``follows`` and
  ``tweets`` when Redis has lost it.

``open_timelines(settings, db)`` picks one at start-up. Both keep a timeline near
``timeline_max_entries`` on write, read at call time (tests change the settings live).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from bson import ObjectId
from pymongo.errors import BulkWriteError

from ..db import Database
from ..settings import Settings
from .duplicates import only_duplicates

log = logging.getLogger("murmur.timelines")


# (owner, tweet_id, author): one stored timeline entry.
Entry = tuple[str, ObjectId, str]


class Slot(NamedTuple):
    """One entry of a timeline as read back. An ordinary entry is a tweet (``id``) by
    ``author``; a repost entry is keyed by the repost's id (its place in the timeline), its
    ``author`` is the reposter and ``original`` the reposted tweet, resolved at read time."""

    id: ObjectId
    author: str
    original: ObjectId | None = None


# Loads one owner's timeline from durable state: its entries, any order.
Loader = Callable[[], Awaitable[list[Slot]]]


def _crc(owner: str, tweet_id: ObjectId) -> int:
    return zlib.crc32(f"{owner}:{tweet_id}".encode())


class Push(NamedTuple):
    """One tweet into several timelines (``TimelineStore.push_many``)."""

    owners: Sequence[str]
    tweet_id: ObjectId
    author: str


class TimelinesUnavailable(Exception):
    """The timeline store cannot be reached (Redis down); reads fall back to pulling."""


class TimelineStore(Protocol):
    """Where stored home timelines live. Every write is idempotent."""

    name: str

    async def push(
        self,
        *,
        owners: Sequence[str],
        tweet_id: ObjectId,
        author: str,
        original: ObjectId | None = None,
    ) -> int:
        """Write one tweet into many timelines (and keep them near the cap); how many new.
        A repost entry: ``tweet_id`` is the repost's id, ``author`` the reposter and
        ``original`` the reposted tweet."""
        ...

    async def push_many(self, pushes: Sequence[Push]) -> int:
        """``push`` for several tweets at once (the outbox worker's batch): one write."""
        ...

    async def backfill(self, *, owner: str, author: str, tweet_ids: Iterable[ObjectId]) -> int:
        """Write several tweets of one author into one timeline, then cap it."""
        ...

    async def load(self, *, entries: Sequence[Entry]) -> int:
        """Bulk-write whole timelines (the demo seed; already capped by the caller)."""
        ...

    async def remove_tweet(self, *, owners: Sequence[str], tweet_id: ObjectId) -> int:
        """Remove a tweet (or a repost, by the repost's id) from these owners' timelines."""
        ...

    async def remove_author(self, *, owner: str, author: str) -> int:
        """Remove an author's tweets and reposts from one timeline (an unfollow or a block)."""
        ...

    async def newest(
        self,
        *,
        owner: str,
        before: ObjectId | None,
        limit: int,
        exclude: Iterable[str],
        rebuild: Loader | None = None,
    ) -> list[Slot]:
        """The newest entries in ``owner``'s timeline below ``before``, newest first,
        without those whose author (or reposter) is in ``exclude``; with ``rebuild``, after
        ``ensure_built`` (a store may check it in the same round trip as the read)."""
        ...

    async def oldest_id(self, *, owner: str) -> ObjectId | None: ...

    async def count(self, *, owner: str) -> int: ...

    async def owners_of(self, *, tweet_id: ObjectId) -> list[str]:
        """Whose timelines hold ``tweet_id`` (tests and the benchmark; not a request path)."""
        ...

    async def ensure_built(self, *, owner: str, rebuild: Loader) -> bool:
        """Before a read: rebuild ``owner``'s timeline if the store lost it; True if it did."""
        ...

    async def close(self) -> None: ...


class MongoTimelines:
    """The ``timelines`` collection. Durable, so ``ensure_built`` never has work to do."""

    name = "mongodb"

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def _insert(self, docs: list[dict[str, Any]]) -> int:
        if not docs:
            return 0
        try:
            result = await self.db.timelines.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            only_duplicates(exc)  # entries a re-run fan-out stored already
            return int(exc.details.get("nInserted", 0))
        return len(result.inserted_ids)

    async def push(
        self,
        *,
        owners: Sequence[str],
        tweet_id: ObjectId,
        author: str,
        original: ObjectId | None = None,
    ) -> int:
        extra = {} if original is None else {"original": original}
        docs = [{"owner": o, "tweet_id": tweet_id, "author": author, **extra} for o in owners]
        return await self._insert_trimming(docs)

    async def push_many(self, pushes: Sequence[Push]) -> int:
        docs = [
            {"owner": o, "tweet_id": p.tweet_id, "author": p.author}
            for p in pushes
            for o in p.owners
        ]
        return await self._insert_trimming(docs)

    async def _insert_trimming(self, docs: list[dict[str, Any]]) -> int:
        added = await self._insert(docs)
        # Trim cheaply: the owners a hash of (owner, tweet) picks, about one in
        # ``timeline_trim_every``, so every timeline is trimmed every few dozen tweets it
        # receives and never grows far past the cap (a trim per owner costs a round trip).
        every = self.settings.timeline_trim_every
        picked = {d["owner"] for d in docs if _crc(d["owner"], d["tweet_id"]) % every == 0}
        for owner in sorted(picked):
            await self._trim(owner)
        return added

    async def backfill(self, *, owner: str, author: str, tweet_ids: Iterable[ObjectId]) -> int:
        added = await self._insert(
            [{"owner": owner, "tweet_id": t, "author": author} for t in tweet_ids]
        )
        await self._trim(owner)
        return added

    async def load(self, *, entries: Sequence[Entry]) -> int:
        return await self._insert([{"owner": o, "tweet_id": t, "author": a} for o, t, a in entries])

    async def remove_tweet(self, *, owners: Sequence[str], tweet_id: ObjectId) -> int:
        query = {"owner": {"$in": list(owners)}, "tweet_id": tweet_id}
        return (await self.db.timelines.delete_many(query)).deleted_count

    async def remove_author(self, *, owner: str, author: str) -> int:
        # Scans only this owner's (capped) entries, by the entry index.
        query = {"owner": owner, "author": author}
        return (await self.db.timelines.delete_many(query)).deleted_count

    async def newest(
        self,
        *,
        owner: str,
        before: ObjectId | None,
        limit: int,
        exclude: Iterable[str],
        rebuild: Loader | None = None,
    ) -> list[Slot]:
        query: dict[str, Any] = {"owner": owner}
        excluded = list(exclude)
        if excluded:
            query["author"] = {"$nin": excluded}
        if before is not None:
            query["tweet_id"] = {"$lt": before}
        fields = {"tweet_id": 1, "author": 1, "original": 1}
        cursor = self.db.timelines.find(query, fields).sort("tweet_id", -1).limit(limit)
        return [Slot(d["tweet_id"], d["author"], d.get("original")) async for d in cursor]

    async def oldest_id(self, *, owner: str) -> ObjectId | None:
        doc = await self.db.timelines.find_one(
            {"owner": owner}, {"tweet_id": 1}, sort=[("tweet_id", 1)]
        )
        return None if doc is None else doc["tweet_id"]

    async def _trim(self, owner: str) -> int:
        """Drop all but the newest ``timeline_max_entries`` entries of ``owner``'s timeline."""
        keep = self.settings.timeline_max_entries
        cursor = self.db.timelines.find({"owner": owner}, {"tweet_id": 1}).sort("tweet_id", -1)
        edge = await cursor.skip(keep).limit(1).to_list(length=1)
        if not edge:
            return 0
        query = {"owner": owner, "tweet_id": {"$lte": edge[0]["tweet_id"]}}
        return (await self.db.timelines.delete_many(query)).deleted_count

    async def count(self, *, owner: str) -> int:
        return await self.db.timelines.count_documents({"owner": owner})

    async def owners_of(self, *, tweet_id: ObjectId) -> list[str]:
        cursor = self.db.timelines.find({"tweet_id": tweet_id}, {"owner": 1})
        return [d["owner"] async for d in cursor]

    async def ensure_built(self, *, owner: str, rebuild: Loader) -> bool:
        return False

    async def close(self) -> None:
        return None


def open_timelines(settings: Settings, db: Database) -> TimelineStore:
    """The timeline store for these settings: Redis when configured, else MongoDB."""
    choice = settings.timeline_store
    if choice == "auto":
        choice = "redis" if settings.redis_url else "mongodb"
    if choice == "redis":
        if not settings.redis_url:
            raise RuntimeError("TIMELINE_STORE=redis needs REDIS_URL")
        from .timelines_redis import RedisTimelines

        store: TimelineStore = RedisTimelines(
            settings.redis_url, prefix=f"murmur:{settings.mongodb_db}:tl:", settings=settings
        )
    else:
        store = MongoTimelines(db, settings)
    log.info("home timelines stored in %s", store.name)
    return store
