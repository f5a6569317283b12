"""Fields that documents stored by an earlier version lack, given to them a batch at a time.

A backfill is named; once a batch finds nothing left it leaves a marker in ``migrations``,
so later calls cost one read (finding documents without the field reads the whole
collection). Safe to repeat, and to run in several processes at once: each update is the
same ``$set`` of a value computed from the document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pymongo import UpdateOne

from ..db import Database


async def batch(
    db: Database,
    *,
    name: str,
    collection: str,
    field: str,
    reads: dict[str, int],
    value: Callable[[dict[str, Any]], Any],
    limit: int = 500,
) -> bool:
    """Set ``field`` to ``value(doc)`` (``doc`` holds the ``reads`` fields) on up to ``limit``
    documents of ``collection`` that lack it; True once none is left."""
    if await _done(db, name):
        return True
    docs = db[collection].find({field: {"$exists": False}}, reads).limit(limit)
    ops = [_set(field, value, d) async for d in docs]
    if ops:
        await db[collection].bulk_write(ops, ordered=False)
    if len(ops) == limit:
        return False
    await _mark_done(db, name)
    return True


async def complete(
    db: Database,
    *,
    name: str,
    collection: str,
    field: str,
    reads: dict[str, int],
    value: Callable[[dict[str, Any]], Any],
    chunk: int = 500,
) -> None:
    """The same for every such document, at once (at start-up, before anything reads the
    field): one pass of one cursor, the updates ``chunk`` at a time (asking again for what
    still lacks the field would read the collection once a chunk)."""
    if await _done(db, name):
        return
    ops: list[UpdateOne] = []
    async for d in db[collection].find({field: {"$exists": False}}, reads, batch_size=chunk):
        ops.append(_set(field, value, d))
        if len(ops) == chunk:
            await db[collection].bulk_write(ops, ordered=False)
            ops = []
    if ops:
        await db[collection].bulk_write(ops, ordered=False)
    await _mark_done(db, name)


def _set(field: str, value: Callable[[dict[str, Any]], Any], doc: dict[str, Any]) -> UpdateOne:
    return UpdateOne({"_id": doc["_id"]}, {"$set": {field: value(doc)}})


async def _done(db: Database, name: str) -> bool:
    return await db.migrations.find_one({"_id": name}) is not None


async def _mark_done(db: Database, name: str) -> None:
    await db.migrations.update_one({"_id": name}, {"$set": {"done": True}}, upsert=True)
