"""Two-factor state on the ``users`` document: the TOTP secret, its last used time step and
the recovery codes' hashes. Read only by ``server/twofactor.py``, never cached.

``totp_enabled`` is also on ``UserRecord`` (sign-in must know); the secret is not.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from ..db import Database


async def secret(db: Database, *, user_id: str) -> tuple[str | None, str | None]:
    """(the enabled secret, the pending one awaiting its first code)."""
    doc = await db.users.find_one(
        {"_id": ObjectId(user_id)}, {"totp_secret": 1, "totp_pending_secret": 1, "totp_enabled": 1}
    )
    if doc is None:
        return None, None
    enabled = doc.get("totp_secret") if doc.get("totp_enabled") else None
    return enabled, doc.get("totp_pending_secret")


async def set_pending(db: Database, *, user_id: str, secret: str) -> bool:
    """Remember a new secret until a code confirms it; False when 2FA is already on."""
    result = await db.users.update_one(
        {"_id": ObjectId(user_id), "totp_enabled": {"$ne": True}},
        {"$set": {"totp_pending_secret": secret}},
    )
    return result.matched_count == 1


async def enable(
    db: Database, *, user_id: str, secret: str, step: int, recovery_hashes: list[str]
) -> bool:
    """Turn 2FA on with the pending ``secret`` (its confirming code's step counts as used)."""
    result = await db.users.update_one(
        {"_id": ObjectId(user_id), "totp_pending_secret": secret, "totp_enabled": {"$ne": True}},
        {
            "$set": {
                "totp_enabled": True,
                "totp_secret": secret,
                "totp_last_step": step,
                "totp_recovery": recovery_hashes,
            },
            "$unset": {"totp_pending_secret": ""},
        },
    )
    return result.modified_count == 1


async def claim_step(db: Database, *, user_id: str, step: int) -> bool:
    """Record ``step`` as used, only if it is later than the last one: each code works once,
    even when two requests present it at the same moment on different processes."""
    result = await db.users.update_one(
        {"_id": ObjectId(user_id), "totp_enabled": True, "totp_last_step": {"$lt": step}},
        {"$set": {"totp_last_step": step}},
    )
    return result.modified_count == 1


async def use_recovery_code(db: Database, *, user_id: str, code_hash: str) -> bool:
    """Remove one recovery code; True for exactly one caller."""
    result = await db.users.update_one(
        {"_id": ObjectId(user_id), "totp_enabled": True, "totp_recovery": code_hash},
        {"$pull": {"totp_recovery": code_hash}},
    )
    return result.modified_count == 1


async def disable(db: Database, *, user_id: str) -> None:
    unset: dict[str, Any] = {
        f: "" for f in ("totp_secret", "totp_pending_secret", "totp_last_step", "totp_recovery")
    }
    await db.users.update_one(
        {"_id": ObjectId(user_id)}, {"$set": {"totp_enabled": False}, "$unset": unset}
    )
