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
document with the sum of its new increments, guarded by "none of these ids applied yet" (a
hot document, such as a popular hashtag's bucket, is rewritten once per batch, not once per
tweet). An update whose guard fails means someone else applied part of it: the batch is
retried from the start (``CountersRaced``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from ..db import Database

OPS = "fx_ops"
KEEP = 512


class CountersRaced(Exception):
    """Another writer applied some of these increments meanwhile; re-run the batch."""


Key = tuple[tuple[str, Any], ...]


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

    def add(self, collection: str, key: dict[str, Any], op: str, incs: dict[str, int]) -> None:
        """``$inc`` ``incs`` on the document ``key`` names, once for ``op``."""
        incs = {k: v for k, v in incs.items() if v}
        if incs:
            self._incs[collection].setdefault(tuple(sorted(key.items())), []).append((op, incs))

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
        self._inserts[collection, tuple(sorted(key.items()))] = on_insert
        self.add(collection, key, op, incs)

    async def write(self, db: Database) -> None:
        """Apply everything collected (any failure raises: the worker retries the batch)."""
        for collection, docs in self._incs.items():
            buckets = [
                UpdateOne(dict(k), {"$setOnInsert": fields}, upsert=True)
                for (c, k), fields in self._inserts.items()
                if c == collection and k in docs
            ]
            if buckets:
                await db[collection].bulk_write(buckets, ordered=False)
            applied = await _applied(db, collection, list(docs))
            updates = []
            for key, ops in docs.items():
                new = [(op, incs) for op, incs in ops if op not in applied.get(key, set())]
                if not new:
                    continue
                total: defaultdict[str, int] = defaultdict(int)
                for _, incs in new:
                    for field, delta in incs.items():
                        total[field] += delta
                ids = [op for op, _ in new]
                updates.append(
                    UpdateOne(
                        {**dict(key), OPS: {"$nin": ids}},
                        {"$inc": dict(total), "$push": {OPS: {"$each": ids, "$slice": -KEEP}}},
                    )
                )
            if updates:
                result = await db[collection].bulk_write(updates, ordered=False)
                if result.matched_count != len(updates) and collection in _MUST_EXIST:
                    raise CountersRaced(collection)


# Collections whose documents all exist (a bucket or a tag is created above; a counter of a
# deleted tweet or user just has nothing to move, which is right).
_MUST_EXIST = {"tag_trends", "user_trends", "tags"}


async def _applied(db: Database, collection: str, keys: list[Key]) -> dict[Key, set[str]]:
    """The op ids each of these documents has applied (one query: each key field ``$in``)."""
    fields = [f for f, _ in keys[0]]
    query = {f: {"$in": sorted({dict(k)[f] for k in keys}, key=str)} for f in fields}
    wanted = set(keys)
    out: dict[Key, set[str]] = {}
    async for doc in db[collection].find(query, {**{f: 1 for f in fields}, OPS: 1}):
        key = tuple(sorted((f, doc[f]) for f in fields))
        if key in wanted:
            out[key] = set(doc.get(OPS, []))
    return out
