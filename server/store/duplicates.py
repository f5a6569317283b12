"""Bulk writes whose only failures are duplicate keys: a claim someone else holds, a document
an earlier (re-run) write already stored. Which writes those were, or the error raised."""

from __future__ import annotations

from pymongo.errors import BulkWriteError

DUPLICATE_KEY = 11000


def only_duplicates(exc: BulkWriteError) -> list[int]:
    """The indexes of the writes that failed on a unique key; anything else (another write
    error, a write concern error: nothing is known to be durable) is raised."""
    errors = exc.details.get("writeErrors", [])
    if exc.details.get("writeConcernErrors") or any(e.get("code") != DUPLICATE_KEY for e in errors):
        raise exc
    return [e["index"] for e in errors]
