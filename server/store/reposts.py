"""The ``reposts`` collection: one edge per (tweet, user), like ``likes``. An un-repost
marks the edge ``off``; the outbox worker moves ``repost_count`` (``store/edges.py``) and
then removes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

from ..db import Database
from . import edges
from .timelines import Slot


async def add(db: Database, *, tweet_id: str, user_id: str, now: datetime) -> bool:
    """Repost; True when this call made the change (False: reposted already)."""
    return await edges.turn_on(db.reposts, {"tweet_id": tweet_id, "user_id": user_id}, now=now)


async def remove(db: Database, *, tweet_id: str, user_id: str) -> bool:
    """Take a repost back; True when this call made the change."""
    return await edges.turn_off(db.reposts, {"tweet_id": tweet_id, "user_id": user_id})


async def reposted_among(db: Database, *, user_id: str, tweet_ids: list[str]) -> set[str]:
    """Which of ``tweet_ids`` ``user_id`` reposted (one query for a whole page)."""
    if not tweet_ids:
        return set()
    query = {"user_id": user_id, "tweet_id": {"$in": tweet_ids}}
    return {d["tweet_id"] for d in await edges.on_only(db.reposts, query, ["tweet_id"])}


async def reposted_by(db: Database, *, user_id: str, limit: int) -> list[str]:
    """Up to ``limit`` ids of tweets ``user_id`` reposted (filling a cache of their reposts)."""
    docs = await edges.first_on(db.reposts, {"user_id": user_id}, ["tweet_id"], limit=limit)
    return [d["tweet_id"] for d in docs]


async def remove_for_tweet(db: Database, *, tweet_id: str) -> None:
    """A deleted tweet takes its reposts with it."""
    await db.reposts.delete_many({"tweet_id": tweet_id})


async def newest_by(
    db: Database, *, users: list[str], before: ObjectId | None, limit: int
) -> list[Slot]:
    """The newest ``limit`` reposts by any of ``users`` below ``before``, as home timeline
    entries (the pull path for reposters above the fan-out threshold)."""
    if not users:
        return []
    query: dict[str, Any] = {"user_id": {"$in": users}}
    if before is not None:
        query["_id"] = {"$lt": before}
    fields = ["user_id", "tweet_id"]
    docs = await edges.first_on(db.reposts, query, fields, limit=limit, newest_first=True)
    return [Slot(d["_id"], d["user_id"], ObjectId(d["tweet_id"])) for d in docs]
