"""The ``likes`` collection: one document per (tweet, user); the unique index makes a like
idempotent. An unlike marks the document ``off``; the outbox worker moves ``like_count``
(see ``store/edges.py``) and then removes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

from ..db import Database
from ..paging import PageQuery
from . import edges


async def add(db: Database, *, tweet_id: str, user_id: str, now: datetime) -> bool:
    """Like; True when this call made the change (False: it was liked already)."""
    return await edges.turn_on(db.likes, {"tweet_id": tweet_id, "user_id": user_id}, now=now)


async def add_many(db: Database, *, likes: list[tuple[str, str]], now: datetime) -> None:
    """Store many new (tweet_id, user_id) likes at once (the demo seed's bulk path)."""
    docs = [{"_id": ObjectId(), "tweet_id": t, "user_id": u, "created_at": now} for t, u in likes]
    if docs:
        await db.likes.insert_many(docs, ordered=False)


async def remove(db: Database, *, tweet_id: str, user_id: str) -> bool:
    """Unlike; True when this call made the change."""
    return await edges.turn_off(db.likes, {"tweet_id": tweet_id, "user_id": user_id})


async def liked_among(db: Database, *, user_id: str, tweet_ids: list[str]) -> set[str]:
    """Which of ``tweet_ids`` ``user_id`` liked (one query for a whole page)."""
    if not tweet_ids:
        return set()
    query = {"user_id": user_id, "tweet_id": {"$in": tweet_ids}}
    return {d["tweet_id"] for d in await edges.on_only(db.likes, query, ["tweet_id"])}


async def page(
    db: Database, *, tweet_id: str, page: PageQuery
) -> tuple[list[str], ObjectId | None]:
    """Newest first: the users who liked ``tweet_id``."""
    query: dict[str, Any] = {"tweet_id": tweet_id}
    if page.after is not None:
        query["_id"] = {"$lt": page.after}
    docs = await edges.first_on(
        db.likes, query, ["user_id"], limit=page.limit + 1, skip=page.skip, newest_first=True
    )
    more = len(docs) > page.limit
    docs = docs[: page.limit]
    return [d["user_id"] for d in docs], (docs[-1]["_id"] if more and docs else None)


async def remove_for_tweet(db: Database, *, tweet_id: str) -> None:
    await db.likes.delete_many({"tweet_id": tweet_id})


async def liked_by(db: Database, *, user_id: str, limit: int) -> list[str]:
    """Up to ``limit`` ids of tweets ``user_id`` likes (filling a cache of their likes)."""
    docs = await edges.first_on(db.likes, {"user_id": user_id}, ["tweet_id"], limit=limit)
    return [d["tweet_id"] for d in docs]
