"""Everything one account owns, read in batches for its export (``server/export.py``).

Each reader walks one collection by ``_id`` (oldest first), ``batch`` documents per round
trip, so an export of a large account never holds it all in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ..db import Database
from . import edges

BATCH = 500


async def _walk(
    db: Database, collection: str, query: dict[str, Any], batch: int, *, edges_on: bool = False
) -> AsyncIterator[list[dict[str, Any]]]:
    """With ``edges_on``, only edges that are on (dropped here, not in the query, which then
    stays on its index: see ``edges.on_only``)."""
    after = None
    while True:
        page_query = {**query, **({"_id": {"$gt": after}} if after is not None else {})}
        docs = await db[collection].find(page_query).sort("_id", 1).limit(batch).to_list(batch)
        if not docs:
            return
        on = [d for d in docs if edges.is_on(d)] if edges_on else docs
        if on:
            yield on
        if len(docs) < batch:
            return
        after = docs[-1]["_id"]


def tweets(
    db: Database, *, user_id: str, batch: int = BATCH
) -> AsyncIterator[list[dict[str, Any]]]:
    """The user's tweets and replies (hidden ones too: they are still theirs)."""
    return _walk(db, "tweets", {"user_id": user_id, "deleted": {"$ne": True}}, batch)


def likes(db: Database, *, user_id: str, batch: int = BATCH) -> AsyncIterator[list[dict[str, Any]]]:
    return _walk(db, "likes", {"user_id": user_id}, batch, edges_on=True)


def follows(
    db: Database, *, field: str, user_id: str, batch: int = BATCH
) -> AsyncIterator[list[dict[str, Any]]]:
    """Edges where ``field`` (``follower``: whom they follow; ``followee``: who follows them)."""
    return _walk(db, "follows", {field: user_id}, batch, edges_on=True)


def messages(
    db: Database, *, user_id: str, batch: int = BATCH
) -> AsyncIterator[list[dict[str, Any]]]:
    """The direct messages the user sent (the others' messages are theirs to export)."""
    return _walk(db, "messages", {"sender_id": user_id}, batch)


def relations(
    db: Database, *, kind: str, user_id: str, batch: int = BATCH
) -> AsyncIterator[list[dict[str, Any]]]:
    """The user's blocks or mutes."""
    return _walk(db, "relations", {"owner": user_id, "kind": kind}, batch)
