"""The ``account_codes`` collection: an account's short-lived secrets, stored as HMACs.

One document per secret, with a ``purpose``: ``reset`` (a password-reset link's token),
``email`` (the code sent to a new address, with that address; one per account) and
``login`` (the challenge between the password and the second factor of a sign-in). Each is
found by its hash, counts its guesses atomically and is taken (deleted) by exactly one caller.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pymongo import ReturnDocument

from ..db import Database

Purpose = Literal["reset", "email", "login"]


async def put(
    db: Database,
    *,
    purpose: Purpose,
    user_id: str,
    code_hash: str,
    now: datetime,
    expires_at: datetime,
    data: dict[str, Any] | None = None,
    one_per_account: bool = False,
) -> None:
    """Store a secret; ``one_per_account`` replaces the account's earlier one of this purpose."""
    doc = {
        "purpose": purpose,
        "user_id": user_id,
        "code_hash": code_hash,
        "attempts": 0,
        "created_at": now,
        "expires_at": expires_at,
        **(data or {}),
    }
    if one_per_account:
        await db.account_codes.replace_one(
            {"purpose": purpose, "user_id": user_id}, doc, upsert=True
        )
    else:
        await db.account_codes.insert_one(doc)


async def live(
    db: Database, *, purpose: Purpose, code_hash: str, now: datetime
) -> dict[str, Any] | None:
    """The unexpired secret with this hash (not consumed: ``take`` does that)."""
    return await db.account_codes.find_one(
        {"code_hash": code_hash, "purpose": purpose, "expires_at": {"$gt": now}}
    )


async def guess(
    db: Database, *, purpose: Purpose, match: dict[str, Any], now: datetime, max_attempts: int
) -> dict[str, Any] | None:
    """Count one guess, only while the secret is live and has tries left (as ``guess_otp``).

    ``match`` picks the secret (``{"code_hash": ...}`` or ``{"user_id": ...}``); however many
    guesses arrive at once, at most ``max_attempts`` are ever admitted. The document after
    the count, or None.
    """
    query = {**match, "purpose": purpose, "attempts": {"$lt": max_attempts}}
    return await db.account_codes.find_one_and_update(
        {**query, "expires_at": {"$gt": now}},
        {"$inc": {"attempts": 1}},
        return_document=ReturnDocument.AFTER,
    )


async def take(db: Database, *, code_id: Any, code_hash: str) -> bool:
    """Delete the secret; True for exactly one caller (a replaced one is not taken)."""
    result = await db.account_codes.delete_one({"_id": code_id, "code_hash": code_hash})
    return result.deleted_count == 1


async def delete_for_account(db: Database, *, purpose: Purpose, user_id: str) -> None:
    await db.account_codes.delete_many({"purpose": purpose, "user_id": user_id})
