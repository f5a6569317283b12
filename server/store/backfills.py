"""Fields that documents stored by an earlier version lack, given to them a batch at a time.

A backfill is named; once a batch finds nothing left it leaves a marker in ``migrations``,
so later calls cost one read (finding documents without the field reads the whole
collection). Safe to repeat, and to run in several processes at once: each update is the
same ``$set`` of a value computed from the document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymongo import UpdateOne

from ..db import Database


@dataclass(frozen=True)
class Backfill:
    """Give ``field`` = ``value(doc)`` (``doc`` holds the ``reads`` fields) to the documents
    of ``collection`` that lack it."""

    name: str
    collection: str
    field: str
    reads: dict[str, int]
    value: Callable[[dict[str, Any]], Any]

    async def batch(self, db: Database, *, limit: int = 500) -> bool:
        """Up to ``limit`` of them; True once none is left."""
        if await self._done(db):
            return True
        docs = db[self.collection].find({self.field: {"$exists": False}}, self.reads)
        ops = [self._set(d) async for d in docs.limit(limit)]
        if ops:
            await db[self.collection].bulk_write(ops, ordered=False)
        if len(ops) == limit:
            return False
        await self._mark_done(db)
        return True

    async def complete(self, db: Database, *, chunk: int = 500) -> None:
        """All of them at once (at start-up, before anything reads the field): one pass of
        one cursor, the updates ``chunk`` at a time (asking again for what still lacks the
        field would read the collection once a chunk)."""
        if await self._done(db):
            return
        ops: list[UpdateOne] = []
        query = {self.field: {"$exists": False}}
        async for d in db[self.collection].find(query, self.reads, batch_size=chunk):
            ops.append(self._set(d))
            if len(ops) == chunk:
                await db[self.collection].bulk_write(ops, ordered=False)
                ops = []
        if ops:
            await db[self.collection].bulk_write(ops, ordered=False)
        await self._mark_done(db)

    def _set(self, doc: dict[str, Any]) -> UpdateOne:
        return UpdateOne({"_id": doc["_id"]}, {"$set": {self.field: self.value(doc)}})

    async def _done(self, db: Database) -> bool:
        return await db.migrations.find_one({"_id": self.name}) is not None

    async def _mark_done(self, db: Database) -> None:
        await db.migrations.update_one({"_id": self.name}, {"$set": {"done": True}}, upsert=True)
