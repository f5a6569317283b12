"""``user_stats``: the counter that moves with every post, ``tweet_count``, off the ``users``
document (as Mastodon keeps its ``account_stats`` apart from ``accounts``).

A user's document has nine indexes, one of them a dozen people-search prefixes, and
SecantusDB rewrites every index entry of a document on any update: the outbox worker's
``tweet_count`` update cost the database 3-4 ms a user, once per author in every batch (with
many authors, once per post), more than storing the tweet. Here it is a small document
with only ``_id``: ``{_id: user id, tweet_count, fx_ops}`` (``fx_ops``: ``store/counters.py``).

Created by the worker on the first change to a user's count, starting from the user
document's own ``tweet_count`` and applied ids (what an earlier version counted there, or 0
and none), so an upgrade loses and doubles nothing. Until then readers take the count from
the user document (``merged``), which the worker no longer moves (the demo seed writes it
there for users that have no stats yet).
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from ..db import Database
from . import inlists
from .counters import OPS, Counters, Key, Toggle, key_of

COLLECTION = "user_stats"


def count_tweet(counters: Counters, user_id: str, toggle: Toggle) -> None:
    """A tweet of ``user_id`` counted while ``toggle`` says so (not deleted)."""
    counters.seeded(COLLECTION, _seeds)
    counters.add_toggle(COLLECTION, {"_id": ObjectId(user_id)}, toggle, {"tweet_count": 1})


async def _seeds(db: Database, keys: list[Key]) -> dict[Key, dict[str, Any]]:
    """The first fields of these users' stats: from their user documents (a user that is
    gone, or deleted, gets none: its count is not shown, and its stats went with it)."""
    ids = [dict(key)["_id"] for key in keys]
    live, fields = {"deleted": {"$ne": True}}, {"tweet_count": 1, OPS: 1}
    return {
        key_of({"_id": doc["_id"]}): {
            "tweet_count": doc.get("tweet_count", 0),
            OPS: doc.get(OPS, []),
        }
        for doc in await inlists.find(db.users, "_id", ids, live, fields)
    }


async def remove(db: Database, *, user_id: str) -> None:
    """A deleted account's stats (the worker takes its account apart)."""
    await db[COLLECTION].delete_one({"_id": ObjectId(user_id)})


async def merged(db: Database, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """User documents with their ``tweet_count`` from their stats (one query per 32 users,
    sent together: ``store/inlists.py``; a user without stats keeps its own)."""
    found = await counts(db, [doc["_id"] for doc in docs])
    return [with_counts(doc, found) for doc in docs]


async def counts(db: Database, user_ids: list[ObjectId]) -> dict[ObjectId, int]:
    """The ``tweet_count`` of each of these users that has stats."""
    if not user_ids:
        return {}
    fields = {"tweet_count": 1}
    return {
        d["_id"]: d.get("tweet_count", 0)
        for d in await inlists.find(db[COLLECTION], "_id", user_ids, None, fields)
    }


def with_counts(doc: dict[str, Any], found: dict[ObjectId, int]) -> dict[str, Any]:
    """``doc`` (a user's) with its count from ``found`` (``counts``), when it has one."""
    return {**doc, "tweet_count": found[doc["_id"]]} if doc["_id"] in found else doc
