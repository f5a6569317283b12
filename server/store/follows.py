"""The ``follows`` collection: one document per edge, ``follower`` → ``followee``.

A unique index on the pair makes "follow twice" one edge even under concurrent requests.
An unfollow marks the edge ``off``; the outbox worker moves the counters (``store/edges.py``)
and then removes it, so every read here asks for edges that are on.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from bson import ObjectId

from ..db import Database
from ..paging import PageQuery
from . import edges


async def add(db: Database, *, follower: str, followee: str, now: datetime) -> bool:
    """Create the edge; True when it is new (False when it already existed)."""
    return await edges.turn_on(db.follows, {"follower": follower, "followee": followee}, now=now)


async def add_many(db: Database, *, edges: list[tuple[str, str]], now: datetime) -> None:
    """Create many new (follower, followee) edges at once (the demo seed's bulk path)."""
    docs = [{"_id": ObjectId(), "follower": a, "followee": b, "created_at": now} for a, b in edges]
    if docs:
        await db.follows.insert_many(docs, ordered=False)


async def remove(db: Database, *, follower: str, followee: str) -> bool:
    """Delete the edge; True when there was one."""
    return await edges.turn_off(db.follows, {"follower": follower, "followee": followee})


async def exists(db: Database, *, follower: str, followee: str) -> bool:
    pair = {"follower": follower, "followee": followee}
    return bool(await edges.on_only(db.follows, pair, ["follower"]))


async def page(
    db: Database, *, field: str, user_id: str, page: PageQuery
) -> tuple[list[str], ObjectId | None]:
    """Newest edges first where ``field`` (follower/followee) is ``user_id``: the other ends."""
    other = "followee" if field == "follower" else "follower"
    query: dict[str, Any] = {field: user_id}
    if page.after is not None:
        query["_id"] = {"$lt": page.after}
    docs = await edges.first_on(
        db.follows, query, [other], limit=page.limit + 1, skip=page.skip, newest_first=True
    )
    more = len(docs) > page.limit
    docs = docs[: page.limit]
    return [d[other] for d in docs], (docs[-1]["_id"] if more and docs else None)


async def followers_of(db: Database, *, followees: list[str]) -> dict[str, list[str]]:
    """Every follower of each of ``followees`` (one query for a whole batch of authors)."""
    out: dict[str, list[str]] = {f: [] for f in followees}
    if followees:
        query = {"followee": {"$in": followees}}
        for d in await edges.on_only(db.follows, query, ["follower", "followee"]):
            out[d["followee"]].append(d["follower"])
    return out


async def followees_among(db: Database, *, follower: str, candidates: list[str]) -> list[str]:
    """Which of ``candidates`` ``follower`` follows."""
    if not candidates:
        return []
    query = {"follower": follower, "followee": {"$in": candidates}}
    return [d["followee"] for d in await edges.on_only(db.follows, query, ["followee"])]


async def followers_among(db: Database, *, followee: str, candidates: list[str]) -> list[str]:
    """Which of ``candidates`` follow ``followee``."""
    if not candidates:
        return []
    query = {"followee": followee, "follower": {"$in": candidates}}
    return [d["follower"] for d in await edges.on_only(db.follows, query, ["follower"])]


async def followee_counts(db: Database, *, followers: list[str], limit: int) -> Counter[str]:
    """How many of ``followers`` follow each user, from at most ``limit`` follow edges (one
    query; off edges left out here, since a condition on ``off`` would keep SecantusDB from
    using the index)."""
    counts: Counter[str] = Counter()
    if followers:
        query = {"follower": {"$in": followers}}
        fields = {"followee": 1, "off": 1, "_id": 0}
        async for d in db.follows.find(query, fields, limit=limit):
            if "off" not in d:
                counts[d["followee"]] += 1
    return counts


async def followees(db: Database, *, follower: str) -> list[str]:
    """Everyone ``follower`` follows (used by the timeline's pull fallback)."""
    found = await edges.on_only(db.follows, {"follower": follower}, ["followee"])
    return [d["followee"] for d in found]
