"""Sign-in state: one-time codes (``otps``), sessions and their rotating refresh tokens.

A session is one sign-in (its id is the access token's ``sid``). Each refresh hands out a
new refresh token in the same session and marks the old one used; presenting a used one
again means it leaked, so the whole session is revoked.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from ..db import Database


async def put_otp(
    db: Database, *, user_id: str, code_hash: str, now: datetime, ttl_seconds: int
) -> None:
    await db.otps.replace_one(
        {"user_id": user_id},
        {
            "user_id": user_id,
            "code_hash": code_hash,
            "attempts": 0,
            "sent_at": now,
            "expires_at": now + timedelta(seconds=ttl_seconds),
        },
        upsert=True,
    )


async def get_otp(db: Database, *, user_id: str) -> dict[str, Any] | None:
    return await db.otps.find_one({"user_id": user_id})


async def guess_otp(
    db: Database, *, user_id: str, now: datetime, max_attempts: int
) -> dict[str, Any] | None:
    """Count one guess, atomically, only while the code is live and has tries left.

    The count is part of the guess: the update matches only while ``attempts`` is below
    ``max_attempts`` and the code has not expired, so however many guesses arrive at once,
    on however many processes, at most ``max_attempts`` of them are ever compared. Returns
    the code as it is after the count (the caller compares its ``code_hash``), or None.
    """
    return await db.otps.find_one_and_update(
        {"user_id": user_id, "attempts": {"$lt": max_attempts}, "expires_at": {"$gt": now}},
        {"$inc": {"attempts": 1}},
        return_document=ReturnDocument.AFTER,
    )


async def delete_otp(db: Database, *, user_id: str) -> None:
    await db.otps.delete_one({"user_id": user_id})


async def consume_otp(db: Database, *, otp_id: Any, code_hash: str) -> bool:
    """Delete the code a counted guess matched; True once, for exactly one caller.

    Matching the hash too means a code replaced meanwhile (a resend) is not consumed.
    """
    result = await db.otps.delete_one({"_id": otp_id, "code_hash": code_hash})
    return result.deleted_count == 1


async def create_session(
    db: Database, *, user_id: str, now: datetime, user_agent: str = "", address: str = ""
) -> str:
    """A new session, with the client it signed in from (shown in the list of devices)."""
    result = await db.sessions.insert_one(
        {
            "user_id": user_id,
            "created_at": now,
            "last_used_at": now,
            "user_agent": user_agent[:300],
            "address": address,
            "revoked_at": None,
        }
    )
    return str(result.inserted_id)


async def touch_session(db: Database, *, session_id: str, now: datetime) -> None:
    """Note a use (a refresh: access tokens are checked from caches, not counted)."""
    await db.sessions.update_one({"_id": ObjectId(session_id)}, {"$set": {"last_used_at": now}})


async def active_sessions(db: Database, *, user_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """The user's sessions not yet ended, most recently used first."""
    cursor = db.sessions.find({"user_id": user_id, "revoked_at": None})
    docs = await cursor.to_list(length=limit)
    docs.sort(key=lambda d: d.get("last_used_at") or d["created_at"], reverse=True)
    return docs


async def owned_session(db: Database, *, session_id: str, user_id: str) -> bool:
    """Whether ``session_id`` is one of ``user_id``'s sessions not yet ended."""
    if not ObjectId.is_valid(session_id):
        return False
    projection = {"user_id": 1, "revoked_at": 1}
    found = await db.sessions.find_one({"_id": ObjectId(session_id)}, projection)
    return found is not None and found["user_id"] == user_id and found.get("revoked_at") is None


async def session_active(db: Database, *, session_id: str) -> bool:
    if not ObjectId.is_valid(session_id):
        return False
    # A find by _id alone: SecantusDB's point lookup (a count is an aggregation there).
    found = await db.sessions.find_one({"_id": ObjectId(session_id)}, {"revoked_at": 1})
    return found is not None and found.get("revoked_at") is None


async def revoke_session(db: Database, *, session_id: str, now: datetime) -> None:
    await db.sessions.update_one(
        {"_id": ObjectId(session_id), "revoked_at": None}, {"$set": {"revoked_at": now}}
    )
    await db.refresh_tokens.update_many({"session_id": session_id}, {"$set": {"used": True}})


async def revoke_user_sessions(db: Database, *, user_id: str, now: datetime) -> list[str]:
    ids = [str(d["_id"]) async for d in db.sessions.find({"user_id": user_id, "revoked_at": None})]
    for sid in ids:
        await revoke_session(db, session_id=sid, now=now)
    return ids


async def add_refresh_token(
    db: Database, *, session_id: str, user_id: str, token_hash: str, expires_at: datetime
) -> None:
    await db.refresh_tokens.insert_one(
        {
            "token_hash": token_hash,
            "session_id": session_id,
            "user_id": user_id,
            "used": False,
            "expires_at": expires_at,
        }
    )


async def find_refresh_token(db: Database, *, token_hash: str) -> dict[str, Any] | None:
    return await db.refresh_tokens.find_one({"token_hash": token_hash})


async def use_refresh_token(db: Database, *, token_hash: str) -> bool:
    """Mark a refresh token used; True only for the one caller that got there first."""
    doc = await db.refresh_tokens.find_one_and_update(
        {"token_hash": token_hash, "used": False}, {"$set": {"used": True}}
    )
    return doc is not None
