"""Newest tweet ids by some authors, or of all: what the home timeline's pull paths read, and
what the recent-id sets (``store/recent_redis.py``) and stored timelines are rebuilt from."""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from ..db import Database


async def recent_ids(
    db: Database, *, authors: list[str], before: ObjectId | None, limit: int
) -> list[ObjectId]:
    """The newest tweet ids by any of ``authors`` below ``before`` (the timeline's pull path)."""
    if not authors:
        return []
    query: dict[str, Any] = {"user_id": {"$in": authors}, "hidden": {"$ne": True}}
    if before is not None:
        query["_id"] = {"$lt": before}
    cursor = db.tweets.find(query, {"_id": 1}).sort("_id", -1).limit(limit)
    return [d["_id"] async for d in cursor]


async def recent_entries(
    db: Database, *, authors: list[str], limit: int
) -> list[tuple[ObjectId, str]]:
    """The newest ``limit`` (tweet id, author) pairs by any of ``authors`` (a timeline rebuild)."""
    if not authors:
        return []
    query: dict[str, Any] = {"user_id": {"$in": authors}, "hidden": {"$ne": True}}
    cursor = db.tweets.find(query, {"_id": 1, "user_id": 1}).sort("_id", -1).limit(limit)
    return [(d["_id"], d["user_id"]) async for d in cursor]


async def newest_entries(db: Database, *, limit: int) -> list[tuple[ObjectId, str]]:
    """The newest ``limit`` visible (tweet id, author) pairs of all (rebuilding a cache: this
    reads the whole collection on SecantusDB, once per Redis server run)."""
    cursor = db.tweets.find({"hidden": {"$ne": True}}, {"_id": 1, "user_id": 1})
    docs = await cursor.sort("_id", -1).limit(limit).to_list(length=limit)
    return [(d["_id"], d["user_id"]) for d in docs]
