"""The ``conversations`` collection: one document per set of participants.

A conversation is keyed by its sorted participant ids (a unique index), so asking for the
same set twice finds the same one. ``members`` are the participants who have not left;
``activity`` is the id of its newest message (or its own id before the first), so the
list orders and pages by one ObjectId; ``read.<user>`` is the newest message id each member
has read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bson import ObjectId
from pydantic import BaseModel, ConfigDict, Field
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..db import Database
from ..models import Conversation, ConversationMember, Message
from ..paging import PageQuery


def key_of(user_ids: list[str]) -> str:
    """The unique key of a participant set (order and repeats do not matter)."""
    return ",".join(sorted(set(user_ids)))


class ConversationRecord(BaseModel):
    """A stored conversation (``_id`` as ``id``; read markers as ObjectIds)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    id: ObjectId
    participants: list[ConversationMember]
    members: list[str]
    created_at: datetime
    activity: ObjectId
    last_message: Message | None = None
    read: dict[str, ObjectId] = Field(default_factory=dict)

    def name_of(self, user_id: str) -> str:
        return next(p.user_name for p in self.participants if p.user_id == user_id)

    def view(self, *, unread: int) -> Conversation:
        """As a member sees it: the current members only, with ``unread`` theirs."""
        members = set(self.members)
        return Conversation(
            conversation_id=str(self.id),
            participants=[p for p in self.participants if p.user_id in members],
            created_at=self.created_at,
            last_message=self.last_message,
            unread_count=unread,
            read={u: str(i) for u, i in self.read.items() if u in members},
        )


def _record(doc: dict[str, Any]) -> ConversationRecord:
    return ConversationRecord(id=doc["_id"], **{k: v for k, v in doc.items() if k != "_id"})


async def open_or_join(
    db: Database, *, caller: str, participants: list[ConversationMember], now: datetime
) -> tuple[ConversationRecord, bool]:
    """The conversation of exactly these participants: created (``True``), or found (the
    caller joins it again if they had left). One write either way."""
    ids = [p.user_id for p in participants]
    key = key_of(ids)
    oid = ObjectId()
    doc: dict[str, Any] = {
        "_id": oid,
        "key": key,
        "participants": [p.model_dump() for p in participants],
        "members": sorted(set(ids)),
        "created_at": now,
        "activity": oid,
        "read": {},
    }
    try:
        await db.conversations.insert_one(doc)
        return _record(doc), True
    except DuplicateKeyError:
        pass
    found = await db.conversations.find_one_and_update(
        {"key": key}, {"$addToSet": {"members": caller}}, return_document=ReturnDocument.AFTER
    )
    assert found is not None, "a conversation is never deleted"
    return _record(found), False


async def member_view(
    db: Database, *, conversation_id: ObjectId, user_id: str
) -> ConversationRecord | None:
    """The conversation if ``user_id`` is one of its members, else None."""
    found = await db.conversations.find_one({"_id": conversation_id, "members": user_id})
    return _record(found) if found else None


async def members_of(
    db: Database, *, conversation_ids: list[ObjectId]
) -> dict[ObjectId, list[str]]:
    """The members of each of these conversations, in one query."""
    query = {"_id": {"$in": conversation_ids}}
    return {d["_id"]: d["members"] async for d in db.conversations.find(query, {"members": 1})}


async def page(db: Database, *, user_id: str, page: PageQuery) -> list[ConversationRecord]:
    """A member's conversations, newest activity first."""
    query: dict[str, Any] = {"members": user_id}
    if page.after is not None:
        query["activity"] = {"$lt": page.after}
    cursor = db.conversations.find(query).sort("activity", -1).skip(page.skip).limit(page.limit)
    return [_record(d) async for d in cursor]


async def leave(db: Database, *, conversation_id: ObjectId, user_id: str) -> bool:
    """Take ``user_id`` out of the members (and their read marker); False if not one."""
    result = await db.conversations.update_one(
        {"_id": conversation_id, "members": user_id},
        {"$pull": {"members": user_id}, "$unset": {f"read.{user_id}": ""}},
    )
    return result.modified_count == 1


async def leave_all(db: Database, *, user_id: str) -> None:
    """A deleted account leaves every conversation."""
    await db.conversations.update_many(
        {"members": user_id}, {"$pull": {"members": user_id}, "$unset": {f"read.{user_id}": ""}}
    )


async def mark_read(
    db: Database, *, conversation_id: ObjectId, user_id: str, up_to: ObjectId
) -> ConversationRecord | None:
    """Move the member's read marker forward to ``up_to`` (never back); the conversation
    after, or None when ``user_id`` is not a member."""
    found = await db.conversations.find_one_and_update(
        {"_id": conversation_id, "members": user_id},
        {"$max": {f"read.{user_id}": up_to}},
        return_document=ReturnDocument.AFTER,
    )
    return _record(found) if found else None


async def record_message(db: Database, *, message: dict[str, Any]) -> None:
    """The worker's round for one message: the conversation's last message and activity
    move to it unless a newer one is there already (so a re-run changes nothing), and the
    sender has read everything up to their own message."""
    mid = message["_id"]
    sender = message["sender_id"]
    await db.conversations.update_one(
        {"_id": message["conversation_id"], "activity": {"$lt": mid}},
        {"$set": {"activity": mid, "last_message": last_message(message)}},
    )
    await db.conversations.update_one(
        {"_id": message["conversation_id"], "members": sender},
        {"$max": {f"read.{sender}": mid}},
    )


def last_message(message: dict[str, Any]) -> dict[str, Any]:
    """The copy of a message the conversation keeps (a ``Message``'s fields)."""
    return {
        "message_id": str(message["_id"]),
        "conversation_id": str(message["conversation_id"]),
        "sender_id": message["sender_id"],
        "sender_name": message["sender_name"],
        "content": message["content"],
        "html": message["html"],
        "created_at": message["created_at"],
    }
