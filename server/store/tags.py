"""The ``tags`` collection: every hashtag ever used, with how many visible tweets carry it.

One document per tag (``_id`` is the tag as tweets store it, lower-cased), its
``search_prefixes`` (``store/prefixed.py``) and ``count``. The outbox worker moves the
count in the same round, and with the same operation ids, as the trending buckets
(``effects/tweets.py``: ``retag``), so a re-run round moves nothing twice and a kill -9
anywhere leaves it exact. Tags of tweets posted before this collection existed are not
counted (their trending buckets expire within days anyway).
"""

from __future__ import annotations

from typing import Any

from pymongo import UpdateOne

from ..db import Database
from . import prefixed
from .counters import Counters


def count(counters: Counters, *, tag: str, op: str, delta: int) -> None:
    """A tweet's hashtag counted (``+1``) or taken back (``-1``), once for ``op``."""
    on_insert = {prefixed.FIELD: prefixed.prefixes(tag), "count": 0}
    counters.add_created("tags", {"_id": tag}, op, {"count": delta}, on_insert)


async def add_many(db: Database, *, uses: dict[str, int]) -> None:
    """Count many uses at once (the demo seed's bulk path, for tweets stored as applied)."""
    ops = [
        UpdateOne(
            {"_id": tag},
            {"$inc": {"count": n}, "$setOnInsert": {prefixed.FIELD: prefixed.prefixes(tag)}},
            upsert=True,
        )
        for tag, n in uses.items()
    ]
    if ops:
        await db.tags.bulk_write(ops, ordered=False)


async def matching(db: Database, *, terms: list[str], limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` tags in use starting with ``terms`` (folded words), most used first."""
    return (
        await prefixed.ranked(
            db.tags,
            prefix=max(terms, key=len)[: prefixed.MAX_PREFIX],
            rank="count",
            enough=limit,
            keep=lambda d: d.get("count", 0) > 0 and prefixed.matches(terms, d["_id"]),
            order=lambda d: (-d.get("count", 0), d["_id"]),
            projection={"count": 1},
            # Tags of deleted tweets stay at count 0, never shown: their band is never read.
            floor=1,
        )
    )[:limit]
