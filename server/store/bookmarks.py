"""The ``bookmarks`` collection: one private document per (user, tweet). A bookmark moves no
counter and notifies nobody, so it has no outbox entry: the one write is all there is."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..db import Database
from ..paging import PageQuery


async def add(db: Database, *, user_id: str, tweet_id: str, now: datetime) -> bool:
    """Bookmark; True when this call made it (False: it was bookmarked already)."""
    try:
        result = await db.bookmarks.update_one(
            {"user_id": user_id, "tweet_id": tweet_id},
            {"$setOnInsert": {"_id": ObjectId(), "created_at": now}},
            upsert=True,
        )
    except DuplicateKeyError:
        return False  # a concurrent bookmark of the same tweet won
    return result.upserted_id is not None


async def remove(db: Database, *, user_id: str, tweet_id: str) -> bool:
    """Remove a bookmark; True when there was one."""
    result = await db.bookmarks.delete_one({"user_id": user_id, "tweet_id": tweet_id})
    return result.deleted_count == 1


async def bookmarked_among(db: Database, *, user_id: str, tweet_ids: list[str]) -> set[str]:
    """Which of ``tweet_ids`` ``user_id`` bookmarked (one query for a page)."""
    if not tweet_ids:
        return set()
    query = {"user_id": user_id, "tweet_id": {"$in": tweet_ids}}
    return {d["tweet_id"] async for d in db.bookmarks.find(query, {"tweet_id": 1})}


async def bookmarked_by(db: Database, *, user_id: str, limit: int) -> list[str]:
    """Up to ``limit`` ids of tweets ``user_id`` bookmarked (filling a cache of them)."""
    cursor = db.bookmarks.find({"user_id": user_id}, {"tweet_id": 1}).limit(limit)
    return [d["tweet_id"] async for d in cursor]


async def page(db: Database, *, user_id: str, page: PageQuery) -> tuple[list[str], ObjectId | None]:
    """Newest bookmark first: the bookmarked tweet ids, and the bookmark id to continue after."""
    query: dict[str, Any] = {"user_id": user_id}
    if page.after is not None:
        query["_id"] = {"$lt": page.after}
    cursor = (
        db.bookmarks.find(query, {"tweet_id": 1})
        .sort("_id", -1)
        .skip(page.skip)
        .limit(page.limit + 1)
    )
    docs = await cursor.to_list(length=page.limit + 1)
    more = len(docs) > page.limit
    docs = docs[: page.limit]
    return [d["tweet_id"] for d in docs], (docs[-1]["_id"] if more and docs else None)


async def remove_for_tweet(db: Database, *, tweet_id: str) -> None:
    """A deleted tweet leaves every bookmark list."""
    await db.bookmarks.delete_many({"tweet_id": tweet_id})
