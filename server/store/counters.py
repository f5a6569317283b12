"""Counter updates that are safe to apply twice: the outbox worker's way to ``$inc``.

Each increment carries an operation id (say ``t<tweet id>c0``: "the first time this tweet was
counted"), and the document it changes remembers the ids it has applied (``fx_ops``, the
newest ``KEEP``). The update matches only a document that does not yet hold the id, so a
worker killed after the write but before it recorded the effect as done re-runs the same
update and nothing moves twice. The worker retries a batch before taking newer entries, and
a batch is far smaller than ``KEEP``, so an id is still remembered when its retry comes.

Ids derive from what the worker had already applied (not from the time or a counter of its
own), so the retry computes the very same id.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from pymongo import UpdateOne

from ..db import Database

OPS = "fx_ops"
KEEP = 512


class Counters:
    """Increments collected over one batch, written with one ``bulk_write`` per collection."""

    def __init__(self) -> None:
        self._updates: defaultdict[str, list[UpdateOne]] = defaultdict(list)
        # Buckets that may not exist yet: created (empty) before any increment lands on them.
        self._ensure: defaultdict[str, dict[tuple[Any, ...], UpdateOne]] = defaultdict(dict)

    def add(self, collection: str, key: dict[str, Any], op: str, incs: dict[str, int]) -> None:
        """``$inc`` ``incs`` on the document ``key`` names, once for ``op``."""
        incs = {k: v for k, v in incs.items() if v}
        if not incs:
            return
        self._updates[collection].append(
            UpdateOne(
                {**key, OPS: {"$ne": op}},
                {"$inc": incs, "$push": {OPS: {"$each": [op], "$slice": -KEEP}}},
            )
        )

    def add_bucket(
        self,
        collection: str,
        key: dict[str, Any],
        op: str,
        incs: dict[str, int],
        expires_at: datetime,
    ) -> None:
        """Like ``add``, on a trending bucket that is created when missing."""
        ident = tuple(sorted(key.items()))
        self._ensure[collection].setdefault(
            ident,
            UpdateOne(key, {"$setOnInsert": {"expires_at": expires_at}}, upsert=True),
        )
        self.add(collection, key, op, incs)

    def collections(self) -> list[str]:
        return sorted(self._updates)

    async def write(self, db: Database) -> None:
        """Apply everything collected: buckets first, then the increments, in order.

        Ordered, so a bucket exists before its increment runs; any failure raises and the
        worker retries the whole batch (every update here is safe to repeat)."""
        for collection, updates in self._updates.items():
            ops = [*self._ensure[collection].values(), *updates]
            await db[collection].bulk_write(ops, ordered=True)
