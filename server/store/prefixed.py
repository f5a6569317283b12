"""Prefix look-ups ranked by a counter: people search (``users``, by ``follower_count``) and
tag search (``tags``, by ``count``) share them.

A searchable document carries ``search_prefixes``: every prefix (1 to ``MAX_PREFIX``
characters) of its folded words, and an index ``(search_prefixes, <rank> desc)``. Why this
shape: SecantusDB uses an index only for plain equalities followed by one range on the next
field, and never stops early on a sorted index (a limit applies after every match is read),
so a query costs what it matches. An equality on one prefix plus a range on the rank lets a
short prefix, which matches thousands, read only its best-ranked band: ``ranked`` reads the
bands ``rank ≥ 100``, ``10 ≤ rank < 100``, ``1 ≤ rank < 10``, ``rank < 1`` one after the
other and stops as soon as it has enough, so the answer is exactly the top of the ranking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from ..search.analyzer import words

FIELD = "search_prefixes"
# Longer queries are looked up by their first MAX_PREFIX characters and checked in Python.
MAX_PREFIX = 12
# Lower bounds of the rank bands, best first (ranks are counts: never negative).
BANDS = (100, 10, 1, 0)


def prefixes(*texts: str | None) -> list[str]:
    """Every prefix, up to ``MAX_PREFIX`` characters, of every folded word of ``texts``."""
    found = {w[:n] for t in texts if t for w in words(t) for n in range(1, MAX_PREFIX + 1)}
    return sorted(found)


def first_band(prefix: str) -> int:
    """Where a look-up starts: a one-letter prefix matches a large share of everything, so its
    top band alone usually has enough; three letters match few, read in one query."""
    return {1: 0, 2: 1}.get(len(prefix), len(BANDS) - 1)


async def ranked(
    collection: AsyncCollection[dict],
    *,
    prefix: str,
    rank: str,
    enough: int,
    keep: Callable[[dict[str, Any]], bool],
    order: Callable[[dict[str, Any]], Any],
    projection: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Documents holding ``prefix`` (at most ``MAX_PREFIX`` characters) that ``keep``
    accepts, in rank order (``order`` sorts within a band; it must rank higher first), read
    band by band until ``enough`` are kept (or everything was read)."""
    kept: list[dict[str, Any]] = []
    upper: int | None = None
    for low in BANDS[first_band(prefix) :]:
        bounds: dict[str, int] = {"$gte": low}
        if upper is not None:
            bounds["$lt"] = upper
        cursor = collection.find({FIELD: prefix, rank: bounds}, projection)
        docs = sorted(await cursor.to_list(length=None), key=order)
        kept += [d for d in docs if keep(d)]
        if len(kept) >= enough:
            break
        upper = low
    return kept


def matches(query_words: Iterable[str], *texts: str | None) -> bool:
    """Whether every query word starts some folded word of ``texts`` (the full check behind
    the index, which only knows the first ``MAX_PREFIX`` characters of one word)."""
    have = [w for t in texts if t for w in words(t)]
    return all(any(h.startswith(q) for h in have) for q in query_words)
