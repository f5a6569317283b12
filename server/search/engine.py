"""Running a search: pick the back-end at start-up, filter, rank, and page.

Relevance is computed over a bounded candidate set (the newest ``CANDIDATES`` matches, or
the best by text score on the ``$text`` back-end): term frequency (hashtag and mention
terms count double), plus a recency boost that halves every ``RECENCY_HALF_LIFE_HOURS``.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bson import ObjectId

from ..db import Database
from ..errors import Unprocessable
from ..http import PageQuery
from ..models import Tweet
from ..store import search as search_store
from ..store import tweets as tweet_store
from ..store.search import Backend
from .query import SearchQuery

log = logging.getLogger("murmur.search")

CANDIDATES = 500
RECENCY_HALF_LIFE_HOURS = 24.0
RECENCY_WEIGHT = 1.0
ENTITY_WEIGHT = 2.0

Sort = Literal["relevance", "latest"]


async def choose_backend(db: Database, wanted: str = "auto") -> Backend:
    """Probe the server: ``$text`` when it can build a text index, else the keyword index."""
    if wanted == "keyword":
        log.info("search back-end: keyword index (configured)")
        return "keyword"
    if await search_store.create_text_index(db):
        log.info("search back-end: $text (the server supports text indexes)")
        return "text"
    if wanted == "text":
        raise RuntimeError("SEARCH_BACKEND=text but the server has no text indexes")
    log.info("search back-end: keyword index (the server has no text indexes)")
    return "keyword"


@dataclass(frozen=True)
class Filters:
    user_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Results:
    items: list[Tweet]
    next_after: ObjectId | None = None  # latest: continue after this id
    next_offset: int | None = None  # relevance: continue at this rank


async def search(
    db: Database,
    backend: Backend,
    q: SearchQuery,
    *,
    filters: Filters,
    sort: Sort,
    page: PageQuery,
    now: datetime,
) -> Results:
    """One page of tweets matching ``q``; 422 when the query has nothing to look for."""
    if q.empty:
        raise Unprocessable(
            "Give at least one word, phrase, #tag or @name to look for (not only stop words).",
            code="search_empty",
        )
    query = search_store.build_filter(
        backend, q, user_id=filters.user_id, since=filters.since, until=filters.until
    )
    if sort == "latest":
        items, after = await tweet_store.find_page(db, query=query, page=page)
        return Results(items, next_after=after)
    found = await search_store.candidates(db, backend=backend, query=query, limit=CANDIDATES)
    # Newest first, then a stable sort by score: equal scores stay newest first.
    ranked = sorted(found, key=lambda d: d["_id"], reverse=True)
    ranked.sort(key=lambda d: -_score(d, q, now))
    window = ranked[page.skip : page.skip + page.limit]
    items = await search_store.by_ids(db, ids=[d["_id"] for d in window])
    more = len(ranked) > page.skip + page.limit
    return Results(items, next_offset=page.skip + page.limit if more else None)


def _score(doc: dict[str, Any], q: SearchQuery, now: datetime) -> float:
    if "score" in doc:
        text = float(doc["score"])
    else:
        counts = Counter(doc.get("terms", []))
        text = sum(
            (ENTITY_WEIGHT if t[0] in "#@" else 1.0) * (1.0 + math.log(counts[t]))
            for t in q.terms
            if counts[t]
        )
    age_hours = max(0.0, (now - doc["created_at"]).total_seconds() / 3600)
    return text + RECENCY_WEIGHT * 0.5 ** (age_hours / RECENCY_HALF_LIFE_HOURS)
