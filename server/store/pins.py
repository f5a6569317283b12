"""The ``pins`` collection: a user's pinned tweets, one document per pin in one of
``MAX_PINS`` slots. Two unique indexes make the rules hold under concurrent requests: a
tweet is pinned once per user, and a user has at most one pin per slot."""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..db import Database

MAX_PINS = 5


async def add(db: Database, *, user_id: str, tweet_id: str, now: datetime) -> bool | None:
    """Pin; True when this call pinned it, False when it was pinned already, None when
    every slot is taken."""
    if await db.pins.count_documents({"user_id": user_id, "tweet_id": tweet_id}, limit=1):
        return False
    for slot in range(MAX_PINS):
        doc = {"_id": ObjectId(), "user_id": user_id, "tweet_id": tweet_id, "slot": slot,
               "created_at": now}  # fmt: skip
        try:
            await db.pins.insert_one(doc)
            return True
        except DuplicateKeyError:
            if await db.pins.count_documents({"user_id": user_id, "tweet_id": tweet_id}, limit=1):
                return False  # a concurrent pin of the same tweet won
    return None


async def remove(db: Database, *, user_id: str, tweet_id: str) -> bool:
    result = await db.pins.delete_one({"user_id": user_id, "tweet_id": tweet_id})
    return result.deleted_count == 1


async def pinned(db: Database, *, user_id: str) -> list[str]:
    """A user's pinned tweet ids, newest pin first."""
    cursor = db.pins.find({"user_id": user_id}, {"tweet_id": 1}).sort("_id", -1)
    return [d["tweet_id"] async for d in cursor]


async def remove_for_tweet(db: Database, *, tweet_id: str) -> None:
    """A deleted tweet is unpinned."""
    await db.pins.delete_many({"tweet_id": tweet_id})
