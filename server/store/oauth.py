"""``oauth_states``: one document per started sign-in, consumed once by its callback."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..db import Database


async def put_state(
    db: Database,
    *,
    state_hash: str,
    code_verifier: str,
    mode: str,
    expires_at: datetime,
    browser_hash: str,
    nonce: str | None,
) -> None:
    await db.oauth_states.insert_one(
        {
            "state_hash": state_hash,
            "code_verifier": code_verifier,
            "mode": mode,
            "expires_at": expires_at,
            "browser_hash": browser_hash,
            "nonce": nonce,
        }
    )


async def take_state(db: Database, *, state_hash: str) -> dict[str, Any] | None:
    """Remove and return the state: a second callback with the same state finds nothing."""
    return await db.oauth_states.find_one_and_delete({"state_hash": state_hash})
