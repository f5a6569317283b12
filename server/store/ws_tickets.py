"""``ws_tickets``: single-use tickets a browser trades for a WebSocket connect, kept seconds."""

from __future__ import annotations

from datetime import datetime

from ..db import Database


async def put(db: Database, *, ticket_hash: str, access_token: str, expires_at: datetime) -> None:
    await db.ws_tickets.insert_one(
        {"ticket_hash": ticket_hash, "access_token": access_token, "expires_at": expires_at}
    )


async def take(db: Database, *, ticket_hash: str, now: datetime) -> str | None:
    """Remove and return the ticket's token if it is still fresh: it works once."""
    doc = await db.ws_tickets.find_one_and_delete(
        {"ticket_hash": ticket_hash, "expires_at": {"$gt": now}}
    )
    return None if doc is None else str(doc["access_token"])
