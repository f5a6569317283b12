"""Trending rollups: per-tag and per-user counters in 5-minute buckets.

Each tweet ``$inc``-s one counter per tag in its bucket, so ranking reads a few hundred small
documents per window instead of scanning tweets. Old buckets expire after ``RETENTION``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from pymongo import UpdateOne

from ..db import Database
from .counters import Counters

BUCKET_SECONDS = 300
RETENTION = timedelta(days=8)


def bucket_of(when: datetime) -> datetime:
    """The start of the 5-minute bucket ``when`` falls into."""
    epoch = int(when.timestamp())
    return datetime.fromtimestamp(epoch - epoch % BUCKET_SECONDS, tz=when.tzinfo)


def count_user(counters: Counters, *, user_id: str, when: datetime, op: str, field: str) -> None:
    """One follower gained (``field="followers"``) or engagement, in ``when``'s bucket, once
    for ``op`` (the outbox worker's counters)."""
    bucket = bucket_of(when)
    key = {"user_id": user_id, "bucket": bucket}
    counters.add_bucket("user_trends", key, op, {field: 1}, bucket + RETENTION)


def count_tag(counters: Counters, *, tag: str, when: datetime, op: str, delta: int) -> None:
    """A tweet's hashtag counted (``+1``) or taken back (``-1``) in its bucket, once for ``op``."""
    bucket = bucket_of(when)
    key = {"tag": tag, "bucket": bucket}
    counters.add_bucket("tag_trends", key, op, {"count": delta}, bucket + RETENTION)


async def add_many(
    db: Database,
    *,
    tag_uses: dict[tuple[str, datetime], int],
    user_activity: dict[tuple[str, str, datetime], int],
) -> None:
    """Many counts in two round trips (the demo seed's bulk path): (tag, time) -> uses and
    (user id, kind, time) -> count, each time counted in its bucket as above."""

    def inc(key: dict[str, Any], counts: Counter[str], bucket: datetime) -> UpdateOne:
        update = {"$inc": dict(counts), "$setOnInsert": {"expires_at": bucket + RETENTION}}
        return UpdateOne({**key, "bucket": bucket}, update, upsert=True)

    # One update per document: two upserts of one new bucket in a batch could both insert.
    by_tag: defaultdict[tuple[str, datetime], Counter[str]] = defaultdict(Counter)
    for (tag, when), n in tag_uses.items():
        by_tag[tag, bucket_of(when)]["count"] += n
    by_user: defaultdict[tuple[str, datetime], Counter[str]] = defaultdict(Counter)
    for (user, kind, when), n in user_activity.items():
        by_user[user, bucket_of(when)][kind] += n
    tags = [inc({"tag": t}, c, b) for (t, b), c in by_tag.items()]
    users = [inc({"user_id": u}, c, b) for (u, b), c in by_user.items()]
    for name, ops in (("tag_trends", tags), ("user_trends", users)):
        if ops:
            await db[name].bulk_write(ops, ordered=False)


async def tag_buckets(db: Database, *, since: datetime) -> list[dict[str, Any]]:
    cursor = db.tag_trends.find(
        {"bucket": {"$gte": bucket_of(since)}, "count": {"$gt": 0}},
        {"_id": 0, "tag": 1, "bucket": 1, "count": 1},
    )
    return await cursor.to_list(length=None)


async def user_buckets(db: Database, *, since: datetime) -> list[dict[str, Any]]:
    cursor = db.user_trends.find(
        {"bucket": {"$gte": bucket_of(since)}}, {"_id": 0, "expires_at": 0}
    )
    return await cursor.to_list(length=None)
