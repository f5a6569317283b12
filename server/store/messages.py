"""The ``messages`` collection: direct messages, each its own outbox entry until the worker
has recorded it on its conversation and announced it (``server/effects/messages.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId

from ..db import Database
from ..models import Message
from ..paging import PageQuery
from . import idempotency
from .conversations import last_message

_FIELDS = {"idempotency": 0, "pending": 0}


def to_model(doc: dict[str, Any]) -> Message:
    return Message(**last_message(doc))


async def insert(
    db: Database,
    *,
    conversation_id: ObjectId,
    sender_id: str,
    sender_name: str,
    content: str,
    html: str,
    now: datetime,
    idempotency_key: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Store a message pending its effects. With an ``idempotency_key`` (unique per sender,
    kept 24 hours) a retry returns the first message: ``(doc, False)``."""
    doc: dict[str, Any] = {
        "_id": ObjectId(),
        "conversation_id": conversation_id,
        "sender_id": sender_id,
        "sender_name": sender_name,
        "content": content,
        "html": html,
        "created_at": now,
        "pending": True,
    }
    return await idempotency.insert(
        db.messages, doc, user_id=sender_id, key=idempotency_key, now=now
    )


async def page(db: Database, *, conversation_id: ObjectId, page: PageQuery) -> list[Message]:
    """A conversation's messages, newest first."""
    query: dict[str, Any] = {"conversation_id": conversation_id}
    if page.after is not None:
        query["_id"] = {"$lt": page.after}
    cursor = db.messages.find(query, _FIELDS).sort("_id", -1).skip(page.skip).limit(page.limit)
    return [to_model(d) async for d in cursor]


async def exists(db: Database, *, conversation_id: ObjectId, message_id: ObjectId) -> bool:
    query = {"_id": message_id, "conversation_id": conversation_id}
    return await db.messages.count_documents(query, limit=1) > 0


async def unread(
    db: Database, *, conversation_id: ObjectId, user_id: str, after: ObjectId | None, cap: int
) -> int:
    """Messages by others after ``after`` (everything when None), counted up to ``cap``."""
    query: dict[str, Any] = {"conversation_id": conversation_id, "sender_id": {"$ne": user_id}}
    if after is not None:
        query["_id"] = {"$gt": after}
    return await db.messages.count_documents(query, limit=cap)


async def pending(db: Database, *, limit: int) -> list[dict[str, Any]]:
    """The oldest messages whose effects the worker has not applied."""
    cursor = db.messages.find({"pending": True}, _FIELDS).sort("_id", 1).limit(limit)
    return await cursor.to_list(None)


async def settle(db: Database, *, message_ids: list[ObjectId]) -> None:
    """Record these messages as applied."""
    if message_ids:
        await db.messages.update_many({"_id": {"$in": message_ids}}, {"$unset": {"pending": ""}})
