"""The ``notifications`` collection: one document per notification, newest id last."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import UpdateOne
from pymongo.errors import BulkWriteError

from ..db import Database
from ..models import Notification
from ..paging import PageQuery
from . import inlists
from .duplicates import only_duplicates


def to_model(doc: dict[str, Any]) -> Notification:
    return Notification(
        notification_id=str(doc["_id"]),
        kind=doc["kind"],
        actor_id=doc["actor_id"],
        actor_name=doc["actor_name"],
        tweet_id=doc.get("tweet_id"),
        created_at=doc["created_at"],
        read=doc.get("read", False),
    )


async def insert_many(db: Database, docs: list[dict[str, Any]]) -> None:
    """Store notifications built by ``new_document`` at once (the demo seed's bulk path)."""
    if docs:
        await db.notifications.insert_many(docs, ordered=False)


def new_document(
    *,
    recipient: str,
    kind: str,
    actor_id: str,
    actor_name: str,
    tweet_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "recipient": recipient,
        "kind": kind,
        "actor_id": actor_id,
        "actor_name": actor_name,
        "tweet_id": tweet_id,
        "created_at": now,
        "read": False,
    }


async def claim_many(
    db: Database, *, keys: list[str], now: datetime, window: timedelta
) -> dict[str, ObjectId | None]:
    """The id each key's notification gets: a new one, or the one of an earlier claim that
    still holds (so a repeat inside the window, and a retried claim, reuse it). One write for
    them all, and one read only when some claims were held.

    One document per key (``_id``): the update takes an expired claim, the upsert creates a
    missing one, and when a live claim exists the upsert's insert hits the ``_id`` and fails,
    so of many simultaneous callers exactly one gets a new id."""
    if not keys:
        return {}
    fresh = {key: ObjectId() for key in keys}
    held: list[str] = []
    try:
        await db.notification_claims.bulk_write(
            [UpdateOne({"_id": key, "until": {"$lte": now}},
                       {"$set": {"until": now + window, "note": note}}, upsert=True)
             for key, note in fresh.items()],
            ordered=False,
        )  # fmt: skip
    except BulkWriteError as exc:
        order = list(fresh)
        held = [order[i] for i in only_duplicates(exc)]
    claimed: dict[str, ObjectId | None] = dict(fresh)
    if held:
        notes = await inlists.find(db.notification_claims, "_id", held)
        found = {d["_id"]: d.get("note") for d in notes}
        # None: a claim made before claims remembered their note (that one was sent).
        claimed.update({key: found.get(key) for key in held})
    return claimed


async def insert_new(db: Database, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Store notifications under their claimed ids; the ones not stored already."""
    if not docs:
        return []
    try:
        await db.notifications.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        there = set(only_duplicates(exc))
        return [d for i, d in enumerate(docs) if i not in there]
    return docs


async def page(
    db: Database,
    *,
    recipient: str,
    unread_only: bool,
    page: PageQuery,
    exclude_actors: Iterable[str] = (),
) -> tuple[list[Notification], ObjectId | None]:
    query = _query(recipient, exclude_actors)
    if unread_only:
        query["read"] = False
    if page.after is not None:
        query["_id"] = {"$lt": page.after}
    cursor = db.notifications.find(query).sort("_id", -1).skip(page.skip).limit(page.limit + 1)
    docs = await cursor.to_list(length=page.limit + 1)
    more = len(docs) > page.limit
    docs = docs[: page.limit]
    return [to_model(d) for d in docs], (docs[-1]["_id"] if more and docs else None)


async def mark_read(db: Database, *, recipient: str, up_to: ObjectId) -> int:
    """Mark every notification up to and including ``up_to`` read; how many changed."""
    result = await db.notifications.update_many(
        {"recipient": recipient, "read": False, "_id": {"$lte": up_to}},
        {"$set": {"read": True}},
    )
    return result.modified_count


async def unread_count(db: Database, *, recipient: str, exclude_actors: Iterable[str] = ()) -> int:
    return await db.notifications.count_documents(
        {**_query(recipient, exclude_actors), "read": False}
    )


def _query(recipient: str, exclude_actors: Iterable[str]) -> dict[str, Any]:
    query: dict[str, Any] = {"recipient": recipient}
    excluded = sorted(exclude_actors)
    if excluded:
        query["actor_id"] = {"$nin": excluded}
    return query


async def remove_involving(db: Database, *, user_id: str) -> None:
    """Notifications to or caused by ``user_id`` go (an account's deletion)."""
    await db.notifications.delete_many({"$or": [{"recipient": user_id}, {"actor_id": user_id}]})
