"""``user_stats``: the counter that moves with every post, ``tweet_count``, off the ``users``
document (as Mastodon keeps its ``account_stats`` apart from ``accounts``).

A user's document has nine indexes, one of them a dozen people-search prefixes, and
SecantusDB rewrites every index entry of a document on any update: the outbox worker's
``tweet_count`` update cost the database 3-4 ms a user, once per author in every batch (with
many authors, once per post), more than storing the tweet. Here it is a small document
with only ``_id``: ``{_id: user id, tweet_count, fx_ops}`` (``fx_ops``: ``store/counters.py``).

Created by the worker on a user's first counted tweet, starting from the user document's
own ``tweet_count`` and applied ids (what an earlier version counted there, or 0 and none),
so an upgrade loses and doubles nothing. Until then readers take the count from the user
document (``merged``), which nothing moves any more.
"""

from __future__ import annotations

from typing import Any

from bson import ObjectId

from ..db import Database
from . import inlists
from .counters import OPS, Counters, Key, Toggle

COLLECTION = "user_stats"


def count_tweet(counters: Counters, user_id: str, toggle: Toggle) -> None:
    """A tweet of ``user_id`` counted while ``toggle`` says so (not deleted)."""
    counters.seeded(COLLECTION, _seeds)
    counters.add_toggle(COLLECTION, {"_id": ObjectId(user_id)}, toggle, {"tweet_count": 1})


async def _seeds(db: Database, keys: list[Key]) -> dict[Key, dict[str, Any]]:
    """The first fields of these users' stats: from their user documents (a user that is
    gone gets none)."""
    ids = [dict(key)["_id"] for key in keys]
    fields = {"tweet_count": 1, OPS: 1}
    return {
        (("_id", doc["_id"]),): {"tweet_count": doc.get("tweet_count", 0), OPS: doc.get(OPS, [])}
        for doc in await inlists.find(db.users, "_id", ids, None, fields)
    }


async def merged(db: Database, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """User documents with their ``tweet_count`` from their stats (one query for all; a user
    without stats keeps its own)."""
    ids = [doc["_id"] for doc in docs]
    if not ids:
        return docs
    found = {
        d["_id"]: d["tweet_count"]
        for d in await inlists.find(db[COLLECTION], "_id", ids, None, {"tweet_count": 1})
    }
    return [{**d, "tweet_count": found[d["_id"]]} if d["_id"] in found else d for d in docs]
