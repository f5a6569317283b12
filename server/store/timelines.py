"""The ``timelines`` collection: stored home timelines, one document per (owner, tweet).

The unique (owner, tweet_id) index is what makes fan-out idempotent: a retried batch hits
duplicate-key errors for the entries it already wrote, and those are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bson import ObjectId
from pymongo.errors import BulkWriteError

from ..db import Database

_DUPLICATE_KEY = 11000


async def _insert(db: Database, docs: list[dict[str, Any]]) -> int:
    if not docs:
        return 0
    try:
        result = await db.timelines.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != _DUPLICATE_KEY for e in errors):
            raise
        return int(exc.details.get("nInserted", 0))
    return len(result.inserted_ids)


async def push(db: Database, *, owners: Iterable[str], tweet_id: ObjectId, author: str) -> int:
    """Write one tweet into many timelines; how many entries were new."""
    return await _insert(db, [{"owner": o, "tweet_id": tweet_id, "author": author} for o in owners])


async def backfill(db: Database, *, owner: str, author: str, tweet_ids: Iterable[ObjectId]) -> int:
    """Write several tweets of one author into one timeline."""
    return await _insert(db, [{"owner": owner, "tweet_id": t, "author": author} for t in tweet_ids])


async def insert_entries(db: Database, *, entries: list[tuple[str, ObjectId, str]]) -> int:
    """Many (owner, tweet_id, author) entries at once (the demo seed's bulk path)."""
    return await _insert(db, [{"owner": o, "tweet_id": t, "author": a} for o, t, a in entries])


async def remove_tweet(db: Database, *, owners: list[str], tweet_id: ObjectId) -> int:
    """Remove a tweet from these owners' timelines (by the entry index, batch by batch)."""
    query = {"owner": {"$in": owners}, "tweet_id": tweet_id}
    return (await db.timelines.delete_many(query)).deleted_count


async def remove_author(db: Database, *, owner: str, author: str) -> int:
    """An unfollow: scans only this owner's (capped) entries, by the entry index."""
    return (await db.timelines.delete_many({"owner": owner, "author": author})).deleted_count


async def newest_ids(
    db: Database, *, owner: str, before: ObjectId | None, limit: int, exclude: Iterable[str]
) -> list[ObjectId]:
    """The newest tweet ids in ``owner``'s stored timeline below ``before``."""
    query: dict[str, Any] = {"owner": owner}
    excluded = list(exclude)
    if excluded:
        query["author"] = {"$nin": excluded}
    if before is not None:
        query["tweet_id"] = {"$lt": before}
    cursor = db.timelines.find(query, {"tweet_id": 1}).sort("tweet_id", -1).limit(limit)
    return [d["tweet_id"] async for d in cursor]


async def oldest_id(db: Database, *, owner: str) -> ObjectId | None:
    doc = await db.timelines.find_one({"owner": owner}, {"tweet_id": 1}, sort=[("tweet_id", 1)])
    return None if doc is None else doc["tweet_id"]


async def trim(db: Database, *, owner: str, keep: int) -> int:
    """Drop all but the newest ``keep`` entries of ``owner``'s timeline."""
    cursor = db.timelines.find({"owner": owner}, {"tweet_id": 1}).sort("tweet_id", -1)
    edge = await cursor.skip(keep).limit(1).to_list(length=1)
    if not edge:
        return 0
    query = {"owner": owner, "tweet_id": {"$lte": edge[0]["tweet_id"]}}
    return (await db.timelines.delete_many(query)).deleted_count


async def count(db: Database, *, owner: str) -> int:
    return await db.timelines.count_documents({"owner": owner})


async def owners_of(db: Database, *, tweet_id: ObjectId) -> list[str]:
    """Whose stored timelines hold ``tweet_id`` (tests and the benchmark use it)."""
    return [d["owner"] async for d in db.timelines.find({"tweet_id": tweet_id}, {"owner": 1})]
