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
    positive = list(q.terms)
    if user_id is not None:
        positive.append(postings.author_term(user_id))
    # A blocked author is one more excluded term: the postings know each tweet's author.
    excluded = q.excluded + [postings.author_term(u) for u in sorted(exclude_authors)]
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
    if not (residual or residual_excluded or q.phrases or q.excluded_phrases):
        return [Match(i, found[i].created_at, counts_of(i)) for i in ids[:limit]]
    out: list[Match] = []
    for start in range(0, len(ids), CHECK_CHUNK):
        chunk = ids[start : start + CHECK_CHUNK]
        docs = await search_store.check_fields(db, ids=chunk)
        for i in chunk:
            doc = docs.get(i)
            if doc is None or not _passes(doc, q, residual, residual_excluded):
                continue
            terms = Counter(doc["terms"])
            out.append(
                Match(i, found[i].created_at, {**counts_of(i), **{t: terms[t] for t in residual}})
            )
            if len(out) == limit:
                return out
    return out


def _passes(
    doc: dict[str, object], q: SearchQuery, residual: list[str], residual_excluded: list[str]
) -> bool:
    text, user_id = doc.get("search_text"), doc.get("user_id")
    assert isinstance(doc.get("terms"), list) and isinstance(text, str) and isinstance(user_id, str)
    terms = {*doc["terms"], postings.author_term(user_id)}  # type: ignore[misc]
    padded = f" {text} "
    return (
        all(t in terms for t in residual)
        and not any(t in terms for t in residual_excluded)
        and all(f" {p} " in padded for p in q.phrases)
        and not any(f" {p} " in padded for p in q.excluded_phrases)
    )
