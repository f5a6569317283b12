"""Prefix look-ups ranked by a counter: people search (``users``, by ``follower_count``) and
tag search (``tags``, by ``count``) share them.

A searchable document carries ``search_prefixes``: every prefix (1 to ``MAX_PREFIX``
characters) of its folded words, and an index ``(search_prefixes, <rank> desc)``. Why this
shape: SecantusDB uses an index only for plain equalities followed by one range on the next
field, and never stops early on a sorted index (a limit applies after every match is read),
so a query costs what it matches (~0.05–0.1 ms a document). An equality on one prefix plus
a range on the rank lets a short prefix, which matches thousands, read only its best-ranked
few: ``ranked`` reads ``rank ≥ T`` and, while that has too few, the bands below it
(``BANDS``, a factor of about 3 apart) one by one. Everything at or above a band is read
before anything below it, so the answer is exactly the top of the ranking, whatever ``T``
is; ``T`` only sets the cost. It starts from the prefix's length and is then learned per
prefix in this process: the band the last look-up had to reach (one band higher when that
read far more than it needed).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from ..search.analyzer import words

FIELD = "search_prefixes"
# Longer queries are looked up by their first MAX_PREFIX characters and checked in Python.
MAX_PREFIX = 12
# Lower bounds of the rank bands, best first (ranks are counts: never negative).
BANDS = (10_000, 3_000, 1_000, 300, 100, 30, 10, 3, 1, 0)
# Where a prefix's first look-up starts, by its length: one letter matches a large share of
# everything, so its top bands alone usually have enough; four letters match few.
_START_BY_LENGTH = {1: 1_000, 2: 100, 3: 10}
_LEARNED: OrderedDict[str, int] = OrderedDict()  # "<db.collection>:<prefix>" -> T
_LEARNED_MAX = 50_000


def prefixes(*texts: str | None) -> list[str]:
    """Every prefix, up to ``MAX_PREFIX`` characters, of every folded word of ``texts``."""
    found = {w[:n] for t in texts if t for w in words(t) for n in range(1, MAX_PREFIX + 1)}
    return sorted(found)


def start_of(collection: AsyncCollection[dict], prefix: str) -> int:
    """The rank a look-up of ``prefix`` starts reading at (learned, else by length)."""
    return _LEARNED.get(f"{collection.full_name}:{prefix}", _START_BY_LENGTH.get(len(prefix), 0))


def _learn(collection: AsyncCollection[dict], prefix: str, low: int, surplus: bool) -> None:
    if surplus and low in BANDS and low != BANDS[0]:
        low = BANDS[BANDS.index(low) - 1]
    key = f"{collection.full_name}:{prefix}"
    _LEARNED[key] = low
    _LEARNED.move_to_end(key)
    while len(_LEARNED) > _LEARNED_MAX:
        _LEARNED.popitem(last=False)


async def ranked(
    collection: AsyncCollection[dict],
    *,
    prefix: str,
    rank: str,
    enough: int,
    keep: Callable[[dict[str, Any]], bool],
    order: Callable[[dict[str, Any]], Any],
    projection: dict[str, int] | None = None,
    floor: int = 0,
) -> list[dict[str, Any]]:
    """Documents holding ``prefix`` (at most ``MAX_PREFIX`` characters) that ``keep``
    accepts, in rank order (``order`` sorts within one read; it must rank higher first),
    read from ``rank ≥ T`` down, band by band, until ``enough`` are kept (or all were read).
    Nothing ranked below ``floor`` is read (for tags: those no visible tweet carries).
    """
    kept: list[dict[str, Any]] = []
    low, upper = max(start_of(collection, prefix), floor), None
    while True:
        bounds: dict[str, int] = {"$gte": low}
        if upper is not None:
            bounds["$lt"] = upper
        cursor = collection.find({FIELD: prefix, rank: bounds}, projection)
        docs = sorted(await cursor.to_list(length=None), key=order)
        kept += [d for d in docs if keep(d)]
        if len(kept) >= enough or low <= floor:
            break
        upper, low = low, next((b for b in BANDS if b < low), 0)
    _learn(collection, prefix, low, surplus=len(kept) > 4 * enough)
    return kept


def matches(query_words: Iterable[str], *texts: str | None) -> bool:
    """Whether every query word starts some folded word of ``texts`` (the full check behind
    the index, which only knows the first ``MAX_PREFIX`` characters of one word)."""
    have = [w for t in texts if t for w in words(t)]
    return all(any(h.startswith(q) for h in have) for q in query_words)
