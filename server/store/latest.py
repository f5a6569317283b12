"""The whole timeline (``GET /tweets``), newest first, read a page's worth at a time.

SecantusDB answers a ``find`` by reading every document its index range holds, then sorting
and limiting in memory: ``find({hidden: {$ne: true}}).sort({_id: -1}).limit(21)`` read the
whole collection (20-40 ms at 300 tweets, 110-150 ms at 3,000; ``explain``: COLLSCAN, then
SORT). So a page asks for an ``_id`` range that it is expected to fill, served by the
``newest`` index (SecantusDB plans no range on its built-in ``_id`` index, which has no
entries), with the other conditions checked on the range's documents.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId

from ..db import Database
from ..models import Tweet
from ..paging import PageQuery
from .tweets import PROJECTION, find_page, paged


class Reach:
    """What one process has learned about the timeline's shape.

    ``seconds``: how far back from its top a page reaches, twice what the last full page
    needed. ``floor``: the oldest visible tweet, once a read has reached it (for a minute), so
    a range that reaches it is asked without a lower bound and is the last one. A stale floor
    (a tweet below it restored from hiding) costs a wider read, never a missing tweet.
    """

    MIN_SECONDS = 2.0  # ObjectIds carry whole seconds
    FLOOR_TTL = 60.0

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds
        self._floor: tuple[float, ObjectId] | None = None

    def learn(self, top: float, last: ObjectId) -> None:
        """A full page below ``top`` (seconds) ended at ``last``: reach twice as far next time."""
        self.seconds = max(self.MIN_SECONDS, 2 * (top - _seconds(last)))

    @property
    def floor(self) -> ObjectId | None:
        """No visible tweet is older than this (None: not known)."""
        if self._floor is None or self._floor[0] < time.monotonic():
            return None
        return self._floor[1]

    def reached_bottom(self, oldest: ObjectId, top: float, first_page: bool) -> None:
        """A read found everything down to ``oldest``, the first tweet."""
        self._floor = (time.monotonic() + self.FLOOR_TTL, oldest)
        if first_page:  # the whole timeline is one page: let the next read reach all of it
            self.seconds = max(self.seconds, 2 * (top - _seconds(oldest)) + self.MIN_SECONDS)


async def page(
    db: Database, *, page: PageQuery, reach: Reach, exclude_authors: Iterable[str] = ()
) -> tuple[list[Tweet], ObjectId | None]:
    """One page of the whole timeline, newest first, in one round trip when ``reach`` is right.

    Reads ``[top - reach, top)``; if that holds less than a page, ``[top - 16 x reach, top -
    reach)``; then, if still short (the end of the timeline, or a long quiet spell), all that
    is older, unless the range already went below the first tweet (``reach.floor``). Same
    result as ``find_page(query={})``, at the cost of the page, not of the collection. Page
    numbers (``skip``) take ``find_page``.
    """
    if page.skip:
        return await find_page(db, query={}, page=page, exclude_authors=exclude_authors)
    excluded = sorted(exclude_authors)
    wanted = page.limit + 1
    top = _seconds(page.after) if page.after is not None else time.time()
    upper = page.after  # exclusive; None: no upper bound (ids from a clock ahead of ours)
    floor = reach.floor
    docs: list[dict[str, Any]] = []
    for widen in (1.0, 16.0, None):
        lower = None if widen is None else _id_at(top - widen * reach.seconds)
        if lower is not None and floor is not None and lower <= floor:
            lower = None  # nothing is older: no need for a bound, nor for another query
        query = _range_query(lower, upper, excluded)
        cursor = db.tweets.find(query, PROJECTION).sort("_id", -1).limit(wanted - len(docs))
        docs += await cursor.to_list(length=wanted - len(docs))
        if len(docs) >= wanted or lower is None:
            break
        upper = lower
    if len(docs) >= wanted:
        reach.learn(top, docs[-1]["_id"])
    elif not excluded and docs:
        # Every range came back whole, down to no bound at all: docs[-1] is the first tweet.
        reach.reached_bottom(docs[-1]["_id"], top, first_page=page.after is None)
    return paged(docs, page.limit)


def _range_query(
    lower: ObjectId | None, upper: ObjectId | None, excluded: list[str]
) -> dict[str, Any]:
    id_range: dict[str, Any] = {}
    if lower is not None:
        id_range["$gte"] = lower
    if upper is not None:
        id_range["$lt"] = upper
    # ``_id`` first: SecantusDB serves one clause from an index, the first it can.
    query: dict[str, Any] = {"_id": id_range} if id_range else {}
    query["hidden"] = {"$ne": True}
    if excluded:
        query["user_id"] = {"$nin": excluded}
    return query


def _seconds(oid: ObjectId) -> float:
    return oid.generation_time.timestamp()


def _id_at(seconds: float) -> ObjectId | None:
    """The smallest ObjectId of that second (None before the epoch: no lower bound)."""
    if seconds <= 0:
        return None
    return ObjectId.from_datetime(datetime.fromtimestamp(int(seconds), UTC))
