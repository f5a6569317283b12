"""Running a search: pick the back-end at start-up, filter, rank, and page.

Relevance is computed over a bounded candidate set (the newest ``CANDIDATES`` matches, or
the best by text score on the ``$text`` back-end): term frequency (hashtag and mention
terms count double), plus a recency boost that halves every ``RECENCY_HALF_LIFE_HOURS``.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bson import ObjectId

from ..db import Database
from ..errors import Unprocessable
from ..models import Tweet
from ..paging import PageQuery
from ..store import search as search_store
from ..store import tweets as tweet_store
from ..store.search import Backend
from . import keyword
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
    elif await search_store.create_text_index(db):
        log.info("search back-end: $text (the server supports text indexes)")
        return "text"
    elif wanted == "text":
        raise RuntimeError("SEARCH_BACKEND=text but the server has no text indexes")
    else:
        log.info("search back-end: keyword index (the server has no text indexes)")
    await search_store.drop_terms_index(db)
    return "keyword"


@dataclass(frozen=True)
class Filters:
    user_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    exclude_authors: frozenset[str] = frozenset()  # the reader's blocked-either-way set


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
    if filters.user_id is not None and filters.user_id in filters.exclude_authors:
        return Results([])
    if backend == "keyword":
        return await _keyword(db, q, filters=filters, sort=sort, page=page, now=now)
    query = search_store.build_filter(
        q,
        user_id=filters.user_id,
        since=filters.since,
        until=filters.until,
        exclude_authors=filters.exclude_authors,
    )
    if sort == "latest":
        items, after = await tweet_store.find_page(db, query=query, page=page)
        return Results(items, next_after=after)
    found = await search_store.candidates(db, query=query, limit=CANDIDATES)
    scored = [(d["_id"], _score(_text_score(d, q), d["created_at"], now)) for d in found]
    return await _ranked_page(db, scored, page)


async def _keyword(
    db: Database, q: SearchQuery, *, filters: Filters, sort: Sort, page: PageQuery, now: datetime
) -> Results:
    def newest(limit: int, before: ObjectId | None) -> Awaitable[list[keyword.Match]]:
        return keyword.newest(
            db,
            q,
            user_id=filters.user_id,
            since=filters.since,
            until=filters.until,
            exclude_authors=filters.exclude_authors,
            limit=limit,
            before=before,
        )

    if sort == "relevance":
        found = await newest(CANDIDATES, None)
        scored = [(m.tweet_id, _score(_term_score(m.counts), m.created_at, now)) for m in found]
        return await _ranked_page(db, scored, page)
    # Latest: walk the matches newest first; a tweet hidden behind the index's back is skipped.
    need = page.skip + page.limit + 1
    visible: list[Tweet] = []
    before = page.after
    while len(visible) < need:
        found = await newest(need - len(visible), before)
        visible += await search_store.by_ids(db, ids=[m.tweet_id for m in found])
        if len(found) < need - len(visible) or not found:
            break
        before = found[-1].tweet_id
    items = visible[page.skip : page.skip + page.limit]
    more = len(visible) > page.skip + page.limit
    return Results(items, next_after=ObjectId(items[-1].tweet_id) if more and items else None)


async def _ranked_page(
    db: Database, scored: list[tuple[ObjectId, float]], page: PageQuery
) -> Results:
    # Newest first, then a stable sort by score: equal scores stay newest first.
    ranked = sorted(scored, key=lambda s: s[0], reverse=True)
    ranked.sort(key=lambda s: -s[1])
    window = ranked[page.skip : page.skip + page.limit]
    items = await search_store.by_ids(db, ids=[i for i, _ in window])
    more = len(ranked) > page.skip + page.limit
    return Results(items, next_offset=page.skip + page.limit if more else None)


def _text_score(doc: dict[str, Any], q: SearchQuery) -> float:
    if "score" in doc:
        return float(doc["score"])
    counts = Counter(doc.get("terms", []))
    return _term_score({t: counts[t] for t in q.terms})


def _term_score(counts: dict[str, int]) -> float:
    """Term frequency: ``1 + log(count)`` per term found; hashtags and mentions weigh more."""
    return sum(
        (ENTITY_WEIGHT if t[0] in "#@" else 1.0) * (1.0 + math.log(n))
        for t, n in counts.items()
        if n
    )


def _score(text: float, created_at: datetime, now: datetime) -> float:
    age_hours = max(0.0, (now - created_at).total_seconds() / 3600)
    return text + RECENCY_WEIGHT * 0.5 ** (age_hours / RECENCY_HALF_LIFE_HOURS)
