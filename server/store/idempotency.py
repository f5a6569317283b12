"""Inserts that a client may retry with an ``Idempotency-Key`` (Mastodon's convention):
the key is stored with the document, unique per user (a partial unique index on
``idempotency.key``), for 24 hours; a retry gets the first document back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from .group_insert import GroupInserts

WINDOW = timedelta(hours=24)


async def insert(
    collection: AsyncCollection[dict],
    doc: dict[str, Any],
    *,
    user_id: str,
    key: str | None,
    now: datetime,
    projection: dict[str, Any] | None = None,
    grouped: GroupInserts | None = None,
) -> tuple[dict[str, Any], bool]:
    """Insert ``doc``; with a ``key``, unless ``user_id`` stored one under it within the
    window: then ``(that document, False)``. ``grouped``: sent with other requests' inserts
    (a duplicate key still fails only this document)."""

    async def insert_one() -> None:
        if grouped is None:
            await collection.insert_one(doc)
        else:
            await grouped.insert_one(collection, doc)

    if key is None:
        await insert_one()
        return doc, True
    full = f"{user_id}:{key}"
    doc["idempotency"] = {"key": full, "until": now + WINDOW}
    for _ in range(3):
        try:
            await insert_one()
            return doc, True
        except DuplicateKeyError:
            first = await collection.find_one({"idempotency.key": full}, projection)
            if first is None:
                continue  # deleted meanwhile: the key is free again
            if first["idempotency"]["until"] > now:
                return first, False
            # Older than the window: the key is free; take it from the old document.
            await collection.update_one({"_id": first["_id"]}, {"$unset": {"idempotency": ""}})
    raise RuntimeError(f"could not store a document under idempotency key {full!r}")
