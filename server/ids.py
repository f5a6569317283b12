"""Ids from outside (paths, bodies): the one place that parses them."""

from __future__ import annotations

from bson import ObjectId

from .errors import NotFound


def parse_id(value: str, what: str, code: str | None = None) -> ObjectId:
    """``value`` as an ObjectId. A malformed id names nothing that exists, so it is the same
    ``404`` (``code``, default ``<what>_not_found``) as a well-formed id of nothing."""
    if not isinstance(value, str) or not ObjectId.is_valid(value):
        raise NotFound(f"No such {what}.", code=code or f"{what.replace(' ', '_')}_not_found")
    return ObjectId(value)


def tweet_oid(tweet_id: str) -> ObjectId:
    """A tweet id from a path: ``404 tweet_not_found`` when malformed."""
    return parse_id(tweet_id, "tweet")
