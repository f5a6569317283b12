"""The ``outbox`` collection: a new tweet's outbox entry, kept off the tweet's document.

A tweet document has seven indexes, and SecantusDB rewrites every index entry of a document
on any update: recording "applied" on the tweet itself (``pending`` unset, ``fx`` set) cost
the worker more than any effect it applied (2.1 ms a tweet against 0.8 ms for a document
with only ``_id``). So a new tweet is stored already saying what will have been applied
for it (its ``fx``, not pending) and its entry is a small document here, ``{_id: the
tweet's id, at}``, written just before the tweet (both in the request's group-commit round,
``store/group_insert.py``). While the entry exists nothing has been applied, whatever the
tweet's ``fx`` says; the worker applies the tweet's effects and then deletes the entry.

Crash windows: killed between the entry and the tweet, an entry has no tweet. The worker
drops it once it is older than ``OUTBOX_INTENT_GRACE_SECONDS``, first inserting a tombstone
under the tweet's id in ``tweets`` (hidden, deleted, no author), so a request slower than
that can no longer store the tweet: its insert fails on ``_id`` and it answers with an error,
having announced nothing. Killed after the tweet, before the answer: the entry is there, the
worker applies it (the client's retry with its Idempotency-Key gets the tweet).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..db import Database
from . import inlists
from .group_insert import GroupInserts


async def add(
    db: Database, *, tweet_id: ObjectId, now: datetime, grouped: GroupInserts | None
) -> None:
    """Record that ``tweet_id`` is about to be stored with effects pending."""
    entry = {"_id": tweet_id, "pending": True, "at": now}
    if grouped is None:
        await db.outbox.insert_one(entry)
    else:
        await grouped.insert_one(db.outbox, entry)


async def oldest(db: Database, *, limit: int) -> list[dict[str, Any]]:
    """The oldest entries (tweet ids are creation order)."""
    return await db.outbox.find({}).sort("_id", 1).limit(limit).to_list(length=limit)


async def drop_orphans(
    db: Database, *, entries: list[dict[str, Any]], now: datetime, grace: timedelta
) -> None:
    """Entries whose tweet never appeared: once older than ``grace``, a tombstone takes the
    tweet's id (so a late insert fails) and the entry goes. Younger ones wait: their
    request may still be storing the tweet."""
    for entry in entries:
        if entry["at"] > now - grace:
            continue
        tombstone = {"_id": entry["_id"], "tombstone": True, "hidden": True, "deleted": True,
                     "created_at": entry["at"]}  # fmt: skip
        try:
            await db.tweets.insert_one(tombstone)
        except DuplicateKeyError:
            continue  # the tweet arrived after all: the next round applies it
        await db.outbox.delete_one({"_id": entry["_id"]})


async def remove(db: Database, *, tweet_ids: list[ObjectId]) -> None:
    """These tweets' effects are applied (and recorded where the tweet needs it)."""
    if tweet_ids:
        await inlists.delete(db.outbox, "_id", tweet_ids)
