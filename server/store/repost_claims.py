"""The ``repost_claims`` collection: which repost put a tweet into a reader's home timeline.

One document per (reader, reposted tweet), unique, so a tweet enters a timeline through at
most one repost however many followed people repost it (Mastodon's rule). The claim names
the repost that won it, which makes a retried fan-out find the same winners, and tells an
un-repost or a deleted tweet whose timelines hold its entries. It is also what a lost Redis
timeline is rebuilt from for reposts.
"""

from __future__ import annotations

from collections.abc import Sequence

from bson import ObjectId
from pymongo.errors import BulkWriteError

from ..db import Database
from .duplicates import only_duplicates
from .timelines import Slot


async def claim(
    db: Database, *, owners: Sequence[str], tweet_id: str, repost_id: ObjectId, reposter: str
) -> list[str]:
    """Claim ``tweet_id`` in these owners' timelines for this repost; the owners whose claim
    it holds (new, or won by this same repost before: a re-run gets the same answer)."""
    if not owners:
        return []
    docs = [
        {"owner": o, "tweet_id": tweet_id, "repost_id": repost_id, "reposter": reposter}
        for o in owners
    ]
    try:
        await db.repost_claims.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        only_duplicates(exc)  # a re-run's claims, or another repost's: read below
    query = {"tweet_id": tweet_id, "owner": {"$in": list(owners)}, "repost_id": repost_id}
    return [d["owner"] async for d in db.repost_claims.find(query, {"owner": 1})]


def _of(tweet_id: str, repost_id: ObjectId | None) -> dict[str, object]:
    """One repost's claims on ``tweet_id``, or every repost's (``repost_id`` None)."""
    query: dict[str, object] = {"tweet_id": tweet_id}
    if repost_id is not None:
        query["repost_id"] = repost_id
    return query


async def holders(
    db: Database, *, tweet_id: str, repost_id: ObjectId | None = None
) -> dict[ObjectId, list[str]]:
    """The repost entries of ``tweet_id`` (of one repost, or all): repost id -> the owners
    whose timelines hold it."""
    out: dict[ObjectId, list[str]] = {}
    cursor = db.repost_claims.find(_of(tweet_id, repost_id), {"owner": 1, "repost_id": 1})
    async for d in cursor:
        out.setdefault(d["repost_id"], []).append(d["owner"])
    return out


async def release(db: Database, *, tweet_id: str, repost_id: ObjectId | None = None) -> None:
    """Drop the claims of one repost of ``tweet_id`` (an un-repost), or of all (a delete)."""
    await db.repost_claims.delete_many(_of(tweet_id, repost_id))


async def release_owner(db: Database, *, owner: str, reposter: str) -> None:
    """``owner`` unfollowed (or blocked) ``reposter``: drop the claims of their reposts."""
    await db.repost_claims.delete_many({"owner": owner, "reposter": reposter})


async def entries(db: Database, *, owner: str, limit: int) -> list[Slot]:
    """The newest ``limit`` repost entries of ``owner``'s timeline (a lost one's rebuild)."""
    cursor = db.repost_claims.find({"owner": owner}).sort("repost_id", -1).limit(limit)
    return [Slot(d["repost_id"], d["reposter"], ObjectId(d["tweet_id"])) async for d in cursor]
