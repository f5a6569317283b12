"""The ``outbox`` collection: new tweets' outbox entries, kept off the tweets' documents.

A tweet document has seven indexes, and SecantusDB rewrites every index entry of a document
on any update: recording "applied" on the tweet itself (``pending`` unset, ``fx`` set) cost
the worker more than any effect it applied (2.1 ms a tweet against 0.8 ms for a document
with only ``_id``). So a new tweet is stored already saying what will have been applied
for it (its ``fx``, not pending) and its entry is a small document here, written just
before the tweet. While the entry exists nothing has been applied, whatever the tweet's
``fx`` says; the worker applies the tweet's effects and then deletes the entry.

One entry serves a whole group-commit round (``store/group_insert.py``): ``{_id, tweets:
[ids], at, pending}``, written before the round's ``insert_many`` of the tweets, so a round of 16
posts costs one entry to write, to read and to delete, not 16 (an entry a tweet was ~0.2 ms
of the database a post, most of it the delete). An entry of an earlier version, ``{_id: the
tweet's id, at}``, stands for that one tweet.

Crash windows: killed between the entry and the tweets, an entry names tweets that never
came. The worker leaves an entry alone while any of its tweets is missing and the entry is
younger than ``OUTBOX_INTENT_GRACE_SECONDS`` (their insert may still be on its way); after
that a tombstone takes each missing id in ``tweets`` (hidden, deleted, no author), so a
request slower than that can no longer store it: its insert fails on ``_id`` and it answers
with an error, having announced nothing. Killed after the tweets, before the answer: the
entry is there, the worker applies it (the client's retry with its Idempotency-Key gets the
tweet). A tweet that will never be stored (its key's first tweet was returned instead) is
taken off its entry at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from ..db import Database
from . import inlists
from .group_insert import GroupInserts

# Marks a tweet read for an entry: the entry's id, deleted once the tweet is applied.
ENTRY = "_entry"


async def add(
    db: Database, *, tweet_id: ObjectId, now: datetime, grouped: GroupInserts | None
) -> ObjectId:
    """Record that ``tweet_id`` is about to be stored with effects pending; the entry's id."""
    if grouped is None:
        entry = _entry([(tweet_id, now)])
        await db.outbox.insert_one(entry)
        return entry["_id"]
    entry_id: ObjectId = await grouped.insert_packed(db.outbox, (tweet_id, now), _entry)
    return entry_id


def _entry(items: list[tuple[ObjectId, datetime]]) -> dict[str, Any]:
    # ``pending``, as every outbox's documents (``outbox.backlog`` asks each for it).
    tweets, at = [t for t, _ in items], min(at for _, at in items)
    return {"_id": ObjectId(), "tweets": tweets, "at": at, "pending": True}


def tweet_ids(entry: dict[str, Any]) -> list[ObjectId]:
    return list(entry.get("tweets", [entry["_id"]]))


async def oldest(
    db: Database, *, limit: int, after: ObjectId | None = None
) -> list[dict[str, Any]]:
    """The oldest entries (after ``after``), naming about ``limit`` tweets (whole entries:
    at least one)."""
    entries, count = [], 0
    query = {} if after is None else {"_id": {"$gt": after}}
    for entry in await db.outbox.find(query).sort("_id", 1).limit(limit).to_list(length=limit):
        if count >= limit:
            break
        entries.append(entry)
        count += len(tweet_ids(entry))
    return entries


async def existing(db: Database, *, entry_ids: list[ObjectId]) -> set[ObjectId]:
    """Which of these entries are still there (not yet applied)."""
    if not entry_ids:
        return set()
    cursor = db.outbox.find({"_id": {"$in": entry_ids}}, {"_id": 1})
    return {d["_id"] async for d in cursor}


async def ready(
    db: Database,
    *,
    entries: list[dict[str, Any]],
    found: dict[ObjectId, dict[str, Any]],
    now: datetime,
    grace: timedelta,
) -> list[dict[str, Any]]:
    """The entries whose tweets can be applied now (``found`` holds the documents read for
    them). An entry with tweets missing waits while younger than ``grace``; past it each
    missing id gets a tombstone (a late insert then fails), or turns out to have arrived
    (the next round applies the entry). Entries with nothing left to apply (every tweet a
    tombstone, or none named) go now."""
    out, empty = [], []
    for entry in entries:
        ids = tweet_ids(entry)
        missing = [t for t in ids if t not in found]
        if missing and (entry["at"] > now - grace or not await _bury(db, entry, missing)):
            continue
        if all(t not in found or found[t].get("tombstone") for t in ids):
            empty.append(entry["_id"])
        else:
            out.append(entry)
    await remove(db, entry_ids=empty)
    return out


async def _bury(db: Database, entry: dict[str, Any], missing: list[ObjectId]) -> bool:
    """Tombstones for tweets that never came; False when one arrived after all."""
    arrived = False
    for tweet_id in missing:
        tombstone = {"_id": tweet_id, "tombstone": True, "hidden": True, "deleted": True,
                     "created_at": entry["at"]}  # fmt: skip
        try:
            await db.tweets.insert_one(tombstone)
        except DuplicateKeyError:
            arrived = True
    return not arrived


async def forget(db: Database, *, entry_id: ObjectId, tweet_id: ObjectId) -> None:
    """``tweet_id`` will never be stored: off its entry (the others still wait)."""
    await db.outbox.update_one({"_id": entry_id}, {"$pull": {"tweets": tweet_id}})


async def remove(db: Database, *, entry_ids: list[ObjectId]) -> None:
    """These entries' tweets are applied (and recorded where the tweet needs it)."""
    if entry_ids:
        await inlists.delete(db.outbox, "_id", entry_ids)
