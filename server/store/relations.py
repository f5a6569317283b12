"""The ``relations`` collection: blocks and mutes, one document per (owner, kind, target)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..db import Database
from ..paging import PageQuery

Kind = Literal["block", "mute"]


async def add(db: Database, *, owner: str, kind: Kind, target: str, now: datetime) -> bool:
    """Record the relation; True when it is new."""
    doc = {"_id": ObjectId(), "owner": owner, "kind": kind, "target": target, "created_at": now}
    try:
        await db.relations.insert_one(doc)
    except DuplicateKeyError:
        return False
    return True


async def remove(db: Database, *, owner: str, kind: Kind, target: str) -> bool:
    result = await db.relations.delete_one({"owner": owner, "kind": kind, "target": target})
    return result.deleted_count == 1


async def involving(db: Database, *, user_id: str) -> list[dict[str, Any]]:
    """Every block and mute ``user_id`` made or received (owner, kind, target)."""
    query = {"$or": [{"owner": user_id}, {"target": user_id, "kind": "block"}]}
    return await db.relations.find(query, {"_id": 0, "owner": 1, "kind": 1, "target": 1}).to_list()


async def between(db: Database, *, a: str, b: str) -> list[dict[str, Any]]:
    """The relations either of two users holds on the other."""
    query = {"$or": [{"owner": a, "target": b}, {"owner": b, "target": a}]}
    return await db.relations.find(query, {"_id": 0, "owner": 1, "kind": 1, "target": 1}).to_list()


async def related_to(db: Database, *, users: list[str], others: list[str]) -> set[str]:
    """Which of ``users`` block or mute any of ``others``, or are blocked by one of them."""
    if not users:
        return set()
    query = {
        "$or": [
            {"owner": {"$in": users}, "target": {"$in": others}},
            {"owner": {"$in": others}, "target": {"$in": users}, "kind": "block"},
        ]
    }
    mine, theirs = set(users), set(others)
    found: set[str] = set()
    async for d in db.relations.find(query, {"_id": 0, "owner": 1, "kind": 1, "target": 1}):
        if d["owner"] in mine and d["target"] in theirs:
            found.add(d["owner"])
        if d["kind"] == "block" and d["target"] in mine and d["owner"] in theirs:
            found.add(d["target"])
    return found


async def page(
    db: Database, *, owner: str, kind: Kind, page: PageQuery
) -> tuple[list[str], ObjectId | None]:
    """Newest first: the users ``owner`` blocked or muted."""
    query: dict[str, Any] = {"owner": owner, "kind": kind}
    if page.after is not None:
        query["_id"] = {"$lt": page.after}
    cursor = (
        db.relations.find(query, {"target": 1})
        .sort("_id", -1)
        .skip(page.skip)
        .limit(page.limit + 1)
    )
    docs = await cursor.to_list(length=page.limit + 1)
    more = len(docs) > page.limit
    docs = docs[: page.limit]
    return [d["target"] for d in docs], (docs[-1]["_id"] if more and docs else None)


async def remove_involving(db: Database, *, user_id: str) -> list[str]:
    """Every block and mute by or of ``user_id`` goes (an account's deletion); the other
    ends, whose cached sets must be dropped."""
    others = {
        r["target"] if r["owner"] == user_id else r["owner"]
        for r in await involving(db, user_id=user_id)
    }
    await db.relations.delete_many({"$or": [{"owner": user_id}, {"target": user_id}]})
    return sorted(others)
