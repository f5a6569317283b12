"""The ``likes`` collection: one document per (tweet, user); the unique index makes a like
idempotent, and only the request that inserted (or deleted) it moves ``like_count``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..db import Database
from ..http import PageQuery


async def add(db: Database, *, tweet_id: str, user_id: str, now: datetime) -> bool:
    doc = {"_id": ObjectId(), "tweet_id": tweet_id, "user_id": user_id, "created_at": now}
    try:
        await db.likes.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


async def add_many(db: Database, *, likes: list[tuple[str, str]], now: datetime) -> None:
    """Store many new (tweet_id, user_id) likes at once (the demo seed's bulk path)."""
    docs = [{"_id": ObjectId(), "tweet_id": t, "user_id": u, "created_at": now} for t, u in likes]
    if docs:
        await db.likes.insert_many(docs, ordered=False)


async def remove(db: Database, *, tweet_id: str, user_id: str) -> bool:
    result = await db.likes.delete_one({"tweet_id": tweet_id, "user_id": user_id})
    return result.deleted_count == 1


async def liked_among(db: Database, *, user_id: str, tweet_ids: list[str]) -> set[str]:
    """Which of ``tweet_ids`` ``user_id`` liked (one query for a whole page)."""
    if not tweet_ids:
        return set()
    query = {"user_id": user_id, "tweet_id": {"$in": tweet_ids}}
    return {d["tweet_id"] async for d in db.likes.find(query, {"tweet_id": 1})}


async def page(
    db: Database, *, tweet_id: str, page: PageQuery
) -> tuple[list[str], ObjectId | None]:
    """Newest first: the users who liked ``tweet_id``."""
    query: dict[str, Any] = {"tweet_id": tweet_id}
    if page.after is not None:
        query["_id"] = {"$lt": page.after}
    cursor = (
        db.likes.find(query, {"user_id": 1}).sort("_id", -1).skip(page.skip).limit(page.limit + 1)
    )
    docs = await cursor.to_list(length=page.limit + 1)
    more = len(docs) > page.limit
    docs = docs[: page.limit]
    return [d["user_id"] for d in docs], (docs[-1]["_id"] if more and docs else None)


async def remove_for_tweet(db: Database, *, tweet_id: str) -> None:
    await db.likes.delete_many({"tweet_id": tweet_id})


async def liked_by(db: Database, *, user_id: str, limit: int) -> list[str]:
    """Up to ``limit`` ids of tweets ``user_id`` likes (filling a cache of their likes)."""
    cursor = db.likes.find({"user_id": user_id}, {"tweet_id": 1}).limit(limit)
    return [d["tweet_id"] async for d in cursor]
