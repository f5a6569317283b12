"""Likes and follows are edges that carry their own outbox entry.

A request turns an edge on or off with one write to the edge's document, which also marks
it ``pending``; the outbox worker then moves the counters the edge feeds (once: see
``store/counters.py``), records what it applied in ``counted`` and removes edges that are
off. ``counted`` missing means applied (edges stored before the outbox). ``v`` counts
changes, so the worker settles only the version it read; ``flips`` counts the changes it
applied, which names each counter update for its retry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import DeleteOne, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

# Edges that are on (an off edge is waiting for the worker to remove it).
ON: dict[str, Any] = {"off": {"$exists": False}}


async def turn_on(
    collection: AsyncCollection[dict], pair: dict[str, str], *, now: datetime
) -> bool:
    """Create the edge, or turn an off one back on; False when it was on already."""
    try:
        result = await collection.update_one(
            {**pair, "off": {"$exists": True}},
            {
                "$unset": {"off": ""},
                "$set": {"pending": True, "created_at": now},
                "$inc": {"v": 1},
                "$setOnInsert": {"_id": ObjectId(), "counted": False},
            },
            upsert=True,
        )
    except DuplicateKeyError:
        return False  # the pair exists and is on: nothing to do
    return result.upserted_id is not None or result.modified_count == 1


async def turn_off(collection: AsyncCollection[dict], pair: dict[str, str]) -> bool:
    """Turn the edge off; False when there was no edge that was on."""
    result = await collection.update_one(
        {**pair, **ON}, {"$set": {"off": True, "pending": True}, "$inc": {"v": 1}}
    )
    return result.modified_count == 1


async def turn_off_all(collection: AsyncCollection[dict], query: dict[str, Any]) -> None:
    """Turn off every edge matching ``query`` (an account's deletion)."""
    await collection.update_many(
        {**query, **ON}, {"$set": {"off": True, "pending": True}, "$inc": {"v": 1}}
    )


async def on_only(
    collection: AsyncCollection[dict], query: dict[str, Any], fields: list[str]
) -> list[dict[str, Any]]:
    """``fields`` of the edges matching ``query`` that are on. Off edges (waiting for the
    worker to remove them: few, and briefly) are dropped here rather than in the query:
    SecantusDB uses an index only when every field of the filter is in it, so ``ON`` in a
    filter makes it read the whole collection. Paged queries keep ``ON`` (a page must be
    full: they use ``first_on``)."""
    projection = {**{f: 1 for f in fields}, "off": 1, "_id": 0}
    cursor = collection.find(query, projection).batch_size(5000)
    return [d async for d in cursor if "off" not in d]


async def first_on(
    collection: AsyncCollection[dict],
    query: dict[str, Any],
    fields: list[str],
    *,
    limit: int,
    skip: int = 0,
    newest_first: bool = False,
) -> list[dict[str, Any]]:
    """Up to ``limit`` on edges matching ``query`` (``_id`` and ``fields``), after skipping
    ``skip`` on ones; newest first if asked. Off edges are dropped here, as in ``on_only``,
    so the query stays on its index; the cursor reads only as far as the page needs (off
    edges are few and brief, so a batch a little past the page nearly always suffices)."""
    projection = {**{f: 1 for f in fields}, "off": 1}
    cursor = collection.find(query, projection).batch_size(limit + skip + 16)
    if newest_first:
        cursor = cursor.sort("_id", -1)
    found: list[dict[str, Any]] = []
    try:
        async for doc in cursor:
            if "off" in doc:
                continue
            if skip:
                skip -= 1
                continue
            found.append(doc)
            if len(found) >= limit:
                break
    finally:
        await cursor.close()
    return found


def is_on(doc: dict[str, Any]) -> bool:
    return "off" not in doc


def counted(doc: dict[str, Any]) -> bool:
    """Whether the counters include this edge now (what the worker last applied)."""
    return bool(doc.get("counted", True))


def op_id(prefix: str, doc: dict[str, Any]) -> str:
    """The id of the counter update that applies this edge's current change."""
    return f"{prefix}{doc['_id']}f{doc.get('flips', 0)}"


async def pending(collection: AsyncCollection[dict], *, limit: int) -> list[dict[str, Any]]:
    """The oldest edges with a change the worker has not applied."""
    cursor = collection.find({"pending": True}).sort("_id", 1).limit(limit)
    return await cursor.to_list(length=limit)


async def settle(
    collection: AsyncCollection[dict], docs: list[dict[str, Any]], flips: dict[Any, int]
) -> None:
    """Record each edge as applied: an off edge goes, an on edge is counted, with ``flips``
    (edge id -> the turns its counters have taken; ``store/counters.py:Toggle``). An edge
    that changed again since it was read keeps ``pending`` (the next round applies that)."""
    ops: list[UpdateOne | DeleteOne] = []
    for doc in docs:
        seen = {"_id": doc["_id"], "v": doc.get("v", 0)}
        applied = {"counted": is_on(doc), "flips": flips[doc["_id"]]}
        if is_on(doc):
            ops.append(UpdateOne(seen, {"$set": applied, "$unset": {"pending": ""}}))
        else:
            ops.append(DeleteOne(seen))
    if not ops:
        return
    result = await collection.bulk_write(ops, ordered=False)
    if result.matched_count + result.deleted_count < len(ops):
        # Some changed again since they were read: record what was applied, keep them pending.
        await collection.bulk_write(
            [
                UpdateOne(
                    {"_id": d["_id"], "v": {"$ne": d.get("v", 0)}},
                    {"$set": {"counted": is_on(d), "flips": flips[d["_id"]]}},
                )
                for d in docs
            ],
            ordered=False,
        )
