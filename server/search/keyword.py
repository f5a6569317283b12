"""Matching on the keyword back-end: intersect postings from the rarest term up.

The document frequencies are read first (one small lookup). The postings of the rarest term
give the candidates; every other term or exclusion whose postings are not much larger is
read in the same query and intersected in memory. A term that is far more common than the
candidates (``RESIDUAL_RATIO``), like phrases, is checked on the candidate tweets themselves,
newest first and only as far as needed. Author and time filters come from the postings.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId

from ..db import Database
from ..store import postings
from ..store import search as search_store
from .query import SearchQuery

# Reading a posting costs about a microsecond, fetching a tweet to check it a few hundred.
RESIDUAL_RATIO = 200
CHECK_CHUNK = 50  # tweets fetched per round when checking on the tweets themselves


@dataclass(frozen=True)
class Match:
    tweet_id: ObjectId
    created_at: datetime
    counts: dict[str, int]  # occurrences of each positive query term


async def newest(
    db: Database,
    q: SearchQuery,
    *,
    user_id: str | None,
    since: datetime | None,
    until: datetime | None,
    exclude_authors: Iterable[str] = (),
    limit: int,
    before: ObjectId | None = None,
) -> list[Match]:
    """Up to ``limit`` tweets matching ``q``, newest first, with ids below ``before``."""
    if user_id is not None:
        return await _by_author(
            db, q, user_id=user_id, since=since, until=until, limit=limit, before=before
        )
    positive, excluded, blocked = list(q.terms), list(q.excluded), frozenset(exclude_authors)
    df = await postings.document_frequencies(db, terms=positive + excluded)
    if not positive or any(t not in df for t in positive):
        return []
    ranked = sorted(positive, key=lambda t: df[t])
    budget = RESIDUAL_RATIO * df[ranked[0]]
    read = [ranked[0]] + [t for t in ranked[1:] if df[t] <= budget]
    excluded_read = [t for t in excluded if t in df and df[t] <= budget]
    lists = await postings.read(db, terms=read + excluded_read)

    found = lists[ranked[0]]
    for term in read[1:]:
        other = lists[term]
        found = {i: p for i, p in found.items() if i in other}
    for term in excluded_read:
        found = {i: p for i, p in found.items() if i not in lists[term]}
    ids = sorted(
        (
            i
            for i, p in found.items()
            if (before is None or i < before)
            and (since is None or p.created_at >= since)
            and (until is None or p.created_at < until)
        ),
        reverse=True,
    )

    def counts_of(i: ObjectId) -> dict[str, int]:
        return {t: lists[t][i].count for t in q.terms if t in read}

    residual = [t for t in q.terms if t not in read]
    residual_excluded = [t for t in excluded if t in df and t not in excluded_read]
    on_tweets = residual or residual_excluded or q.phrases or q.excluded_phrases
    if not (on_tweets or blocked):
        return [Match(i, found[i].created_at, counts_of(i)) for i in ids[:limit]]
    # Only authors to check: most candidates pass, so a page's worth at a time.
    step = CHECK_CHUNK if on_tweets else max(limit, CHECK_CHUNK)
    out: list[Match] = []
    for start in range(0, len(ids), step):
        chunk = ids[start : start + step]
        docs = await search_store.check_fields(db, ids=chunk)
        for i in chunk:
            doc = docs.get(i)
            if doc is None or doc["user_id"] in blocked:
                continue
            if not _passes(doc, q, residual, residual_excluded):
                continue
            terms = Counter(doc["terms"])
            out.append(
                Match(i, found[i].created_at, {**counts_of(i), **{t: terms[t] for t in residual}})
            )
            if len(out) == limit:
                return out
    return out


async def _by_author(
    db: Database,
    q: SearchQuery,
    *,
    user_id: str,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    before: ObjectId | None,
) -> list[Match]:
    """``from:``: the author's visible tweets, newest first, that match ``q`` (words and
    exclusions in the query, phrases checked here)."""
    phrases = bool(q.phrases or q.excluded_phrases)
    cursor = search_store.by_author(
        db, user_id=user_id, terms=q.terms, excluded=q.excluded, since=since, until=until,
        before=before, limit=None if phrases else limit,
    )  # fmt: skip
    out: list[Match] = []
    try:
        async for doc in cursor:
            if phrases and not _passes(doc, q, [], []):
                continue
            terms = Counter(doc.get("terms") or [])
            out.append(Match(doc["_id"], doc["created_at"], {t: terms[t] for t in q.terms}))
            if len(out) == limit:
                break
    finally:
        await cursor.close()
    return out


def _passes(
    doc: dict[str, object], q: SearchQuery, residual: list[str], residual_excluded: list[str]
) -> bool:
    text, found = doc.get("search_text") or "", doc.get("terms") or []
    assert isinstance(found, list) and isinstance(text, str)
    terms = set(found)
    padded = f" {text} "
    return (
        all(t in terms for t in residual)
        and not any(t in terms for t in residual_excluded)
        and all(f" {p} " in padded for p in q.phrases)
        and not any(f" {p} " in padded for p in q.excluded_phrases)
    )
