"""Counter updates that are safe to apply twice: the outbox worker's way to ``$inc``.

Each increment carries an operation id (say ``t<tweet id>c0``: "the first time this tweet was
counted"), and the document it changes remembers the ids it has applied (``fx_ops``, the
newest ``KEEP``). A worker killed after the write but before it recorded the effect as done
re-runs the batch: the ids already on a document are left out, so nothing moves twice. The
worker retries a batch before taking newer entries, and a batch is far smaller than
``KEEP``, so an id is still remembered when its retry comes.

Ids derive from what the worker had already applied (not from the time or a counter of its
own), so the retry computes the very same id.

Writing: one read of the documents' applied ids per collection, then one update per
document with the sum of its new increments (a hot document, such as a popular hashtag's
bucket, is rewritten once per batch, not once per tweet), guarded by "its ids are still
the ones read": the last id read is still last (``fx_ops.<n-1>``, ``fx_ops.<n>`` absent).
Every counter update pushes at least one id never applied before, so any update in between
breaks the guard; the batch is then retried from the start (``CountersRaced``) and reads
again.

A collection can be *seeded* (``Counters.seeded``): its document is created on its first
increment, starting from what the seed says (``store/userstats.py``: the count an earlier
version kept elsewhere), inserted rather than updated; should it appear meanwhile, the
insert fails and the batch is retried.

Why not "none of these ids applied" (``$nin``): SecantusDB compares every id of
the list with every id of the array in Python, 400 x 512 for a hashtag in every tweet of a
batch: 170 ms of the database for one update, the guard on the tail 2 ms.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError

from ..db import Database
from .duplicates import DUPLICATE_KEY

OPS = "fx_ops"
KEEP = 512


@dataclass
class Toggle:
    """A counter contribution that follows an on/off state: an edge that exists or not, a
    tweet that is deleted or not. Its updates are named ``f"{prefix}{n}"``, n counting the
    turns; ``counted``/``flips`` are what the owner recorded as applied.

    What was recorded can lag what was applied: a worker killed after the counters moved but
    before it recorded them, and then the state turned back (an unlike, an unfollow, a
    delete), would otherwise see "off, not counted" and leave the counter one too high. So
    ``Counters.write`` reads each target's applied ids and walks on from ``flips`` — every
    applied turn flipped it — before deciding what a target still needs. Targets are walked
    one by one: a kill between two documents' updates leaves them in different states."""

    prefix: str
    flips: int
    counted: bool
    want: bool
    reached: int = -1  # after write: the turns to record (past every id used on any target)
    moved: bool = False  # after write: some target was turned this round

    def __post_init__(self) -> None:
        self.reached = self.flips


class CountersRaced(Exception):
    """Another writer applied some of these increments meanwhile; re-run the batch."""


Key = tuple[tuple[str, Any], ...]


def key_of(key: dict[str, Any]) -> Key:
    """How a document's key (``{"_id": ...}``, ``{"tag": ..., "bucket": ...}``) is held here."""
    return tuple(sorted(key.items()))


# The first fields (counters and ``OPS``) of the documents that do not exist yet, by key;
# a key left out has no document to create (its owner is gone).
Seed = Callable[[Database, list[Key]], Awaitable[dict[Key, dict[str, Any]]]]


class Counters:
    """Increments collected over one batch, written with two round trips per collection."""

    def __init__(self) -> None:
        # collection -> document key -> [(op id, {field: delta})]
        self._incs: defaultdict[str, dict[Key, list[tuple[str, dict[str, int]]]]] = defaultdict(
            dict
        )
        # Documents that may not exist yet (trending buckets, tags): created with these fields
        # before any increment lands on them.
        self._inserts: dict[tuple[str, Key], dict[str, Any]] = {}
        # collection -> document key -> [(toggle, {field: delta when on})]
        self._toggles: defaultdict[str, dict[Key, list[tuple[Toggle, dict[str, int]]]]] = (
            defaultdict(dict)
        )
        self._seeds: dict[str, Seed] = {}

    def seeded(self, collection: str, seed: Seed) -> None:
        """``collection``'s documents are created on their first increment, from ``seed``."""
        self._seeds[collection] = seed

    def add(self, collection: str, key: dict[str, Any], op: str, incs: dict[str, int]) -> None:
        """``$inc`` ``incs`` on the document ``key`` names, once for ``op``."""
        incs = {k: v for k, v in incs.items() if v}
        if incs:
            self._incs[collection].setdefault(key_of(key), []).append((op, incs))

    def add_bucket(
        self,
        collection: str,
        key: dict[str, Any],
        op: str,
        incs: dict[str, int],
        expires_at: datetime,
    ) -> None:
        """Like ``add``, on a trending bucket that is created when missing."""
        self.add_created(collection, key, op, incs, {"expires_at": expires_at})

    def add_created(
        self,
        collection: str,
        key: dict[str, Any],
        op: str,
        incs: dict[str, int],
        on_insert: dict[str, Any],
    ) -> None:
        """Like ``add``, on a document created with ``on_insert`` (and ``key``) when missing."""
        self._inserts[collection, key_of(key)] = on_insert
        self.add(collection, key, op, incs)

    def add_toggle(
        self, collection: str, key: dict[str, Any], toggle: Toggle, incs: dict[str, int]
    ) -> None:
        """Bring the document ``key`` names to ``toggle.want``: ``incs`` while on (decided at
        ``write``, from what the document has really applied)."""
        self._toggles[collection].setdefault(key_of(key), []).append((toggle, incs))

    async def write(self, db: Database) -> None:
        """Apply everything collected (any failure raises: the worker retries the batch)."""
        for collection in sorted(set(self._incs) | set(self._toggles)):
            docs = self._incs[collection]
            toggles = self._toggles.get(collection, {})
            keys = list(docs.keys() | toggles.keys())
            read = await _applied(db, collection, keys)
            created: dict[Key, dict[str, Any]] = {}
            missing = [k for k in keys if k not in read]
            if (seed := self._seeds.get(collection)) and missing:
                created = await seed(db, missing)
                read.update({key: list(fields.get(OPS, [])) for key, fields in created.items()})
            applied = {key: set(ops) for key, ops in read.items()}
            for key, items in toggles.items():
                for toggle, incs in items:
                    if (turn := _turn(toggle, applied.get(key, set()))) is not None:
                        sign = 1 if toggle.want else -1
                        change = {f: sign * v for f, v in incs.items() if v}
                        docs.setdefault(key, []).append((turn, change))
            await self._write(db, collection, docs, read, created)

    async def _write(
        self,
        db: Database,
        collection: str,
        docs: dict[Key, list[tuple[str, dict[str, int]]]],
        read: dict[Key, list[str]],
        created: dict[Key, dict[str, Any]] | None = None,
    ) -> None:
        """One guarded update per document; an insert for one ``created`` from its seed."""
        created = created or {}
        if docs:
            buckets = [
                UpdateOne(dict(k), {"$setOnInsert": fields}, upsert=True)
                for (c, k), fields in self._inserts.items()
                if c == collection and k in docs
            ]
            if buckets:
                await db[collection].bulk_write(buckets, ordered=False)
            updates, targets, inserts = [], [], []
            for key, ops in docs.items():
                applied = set(read.get(key, ()))
                new = [(op, incs) for op, incs in ops if op not in applied]
                if not new:
                    continue
                total: defaultdict[str, int] = defaultdict(int)
                for _, incs in new:
                    for field, delta in incs.items():
                        total[field] += delta
                ids = [op for op, _ in new]
                if (first := created.get(key)) is not None:
                    doc = {**first, **dict(key), OPS: [*read[key], *ids][-KEEP:]}
                    for field, delta in total.items():
                        doc[field] = doc.get(field, 0) + delta
                    inserts.append(InsertOne(doc))
                    continue
                targets.append(dict(key))
                updates.append(
                    UpdateOne(
                        {**dict(key), **_unchanged(read.get(key, []))},
                        {"$inc": dict(total), "$push": {OPS: {"$each": ids, "$slice": -KEEP}}},
                    )
                )
            if updates or inserts:
                try:
                    result = await db[collection].bulk_write([*inserts, *updates], ordered=False)
                except BulkWriteError as exc:
                    if _created_meanwhile(exc, len(inserts)):
                        raise CountersRaced(collection) from exc
                    raise
                if result.matched_count != len(updates):
                    await _check_raced(db, collection, targets, result.matched_count)


def _created_meanwhile(exc: BulkWriteError, inserts: int) -> bool:
    """Whether every error is an insert of a seeded document (the first ``inserts`` of the
    bulk) that found it there already: its increments must be read again and re-applied."""
    errors = exc.details.get("writeErrors", [])
    return (
        bool(errors)
        and all(e.get("code") == DUPLICATE_KEY and e["index"] < inserts for e in errors)
        and not exc.details.get("writeConcernErrors")
    )


def _turn(toggle: Toggle, applied: set[str]) -> str | None:
    """The id of the update that brings one target to ``toggle.want``, or None when it is
    there already (after the turns it applied beyond what was recorded)."""
    counted, n = toggle.counted, toggle.flips
    while f"{toggle.prefix}{n}" in applied:
        counted, n = not counted, n + 1
    turn = None
    if counted != toggle.want:
        turn, n = f"{toggle.prefix}{n}", n + 1
        toggle.moved = True
    toggle.reached = max(toggle.reached, n)
    return turn


# Collections whose documents all exist (a bucket or a tag is created above; a counter of a
# deleted tweet or user just has nothing to move, which is right).
_MUST_EXIST = {"tag_trends", "user_trends", "tags"}


def _unchanged(ops: list[str]) -> dict[str, Any]:
    """A guard that holds while a document's applied ids are still ``ops`` as read: its last
    id is where it was and nothing follows it (no id, when none was read)."""
    n = len(ops)
    guard: dict[str, Any] = {f"{OPS}.{n}": {"$exists": False}}
    if n:
        guard[f"{OPS}.{n - 1}"] = ops[-1]
    return guard


async def _check_raced(
    db: Database, collection: str, targets: list[dict[str, Any]], matched: int
) -> None:
    """Some guarded updates matched nothing: fine for a document that is gone (a deleted
    tweet's or user's counter); a document that exists changed since it was read, so its
    increments did not land: ``CountersRaced``, the batch is retried."""
    if collection in _MUST_EXIST:
        raise CountersRaced(collection)
    if await db[collection].count_documents({"$or": targets}) > matched:
        raise CountersRaced(collection)


async def _applied(db: Database, collection: str, keys: list[Key]) -> dict[Key, list[str]]:
    """The op ids each of these documents has applied, in the order they were (one query:
    each key field ``$in``)."""
    fields = [f for f, _ in keys[0]]
    query = {f: {"$in": sorted({dict(k)[f] for k in keys}, key=str)} for f in fields}
    wanted = set(keys)
    out: dict[Key, list[str]] = {}
    async for doc in db[collection].find(query, {**{f: 1 for f in fields}, OPS: 1}):
        key = tuple(sorted((f, doc[f]) for f in fields))
        if key in wanted:
            out[key] = list(doc.get(OPS, []))
    return out
