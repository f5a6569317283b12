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
    if await db.migrations.find_one({"_id": name}) is not None:
        return True
    docs = db[collection].find({field: {"$exists": False}}, reads).limit(limit)
    ops = [UpdateOne({"_id": d["_id"]}, {"$set": {field: value(d)}}) async for d in docs]
    if ops:
        await db[collection].bulk_write(ops, ordered=False)
    if len(ops) == limit:
        return False
    await db.migrations.update_one({"_id": name}, {"$set": {"done": True}}, upsert=True)
    return True


async def complete(db: Database, **spec: Any) -> None:
    """``batch`` until none is left (at start-up, before anything reads the field)."""
    while not await batch(db, **spec):
        pass
