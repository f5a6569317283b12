"""Trending hashtags and users, ranked by recent activity with exponential time decay.

Counts come from the rollups in ``store/trends.py``, kept up to date by the outbox worker
as tweets are created, edited, hidden and deleted and as follows and likes arrive.
A bucket's weight halves every ``half_life`` (a tenth of the window), so a burst in the
last minutes outranks a bigger one near the window's start, and anything older than the
window does not count at all.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from pydantic import BaseModel

from .models import PublicUser
from .search.analyzer import words
from .services import Services
from .store import tags as tag_store
from .store import trends as trend_store
from .store import users as user_store

WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}
# Engagement (likes, replies, mentions) counts less than a new follower.
ENGAGEMENT_WEIGHT = 0.5


class TrendingTag(BaseModel):
    tag: str
    count: int
    score: float


class TagCount(BaseModel):
    """A hashtag and how many visible tweets carry it."""

    tag: str
    count: int


async def tags_matching(svc: Services, q: str, limit: int) -> list[TagCount]:
    """Hashtags starting with the words of ``q`` (``#`` ignored; case and accents folded),
    most used first (all time, from ``store/tags.py``)."""
    terms = words(q)
    if not terms:
        return []
    found = await tag_store.matching(svc.reader("trending"), terms=terms, limit=limit)
    return [TagCount(tag=d["_id"], count=d["count"]) for d in found]


class TrendingUser(BaseModel):
    user: PublicUser
    new_followers: int
    engagement: int
    score: float


def _decay(now: datetime, bucket: datetime, window: timedelta) -> float:
    half_life = window.total_seconds() / 10
    # Age of the bucket's middle, so the current bucket is not over-weighted.
    age = max(0.0, (now - bucket).total_seconds() - trend_store.BUCKET_SECONDS / 2)
    return float(0.5 ** (age / half_life))


async def tags(svc: Services, window: str, limit: int) -> list[TrendingTag]:
    """The ``limit`` hashtags with the highest decayed use in ``window`` (``1h``/``24h``)."""
    span, now = WINDOWS[window], svc.clock()
    counts: dict[str, int] = defaultdict(int)
    scores: dict[str, float] = defaultdict(float)
    for b in await trend_store.tag_buckets(svc.reader("trending"), since=now - span):
        counts[b["tag"]] += b["count"]
        scores[b["tag"]] += b["count"] * _decay(now, b["bucket"], span)
    ranked = sorted((t for t in counts if counts[t] > 0), key=lambda t: (-scores[t], t))
    return [TrendingTag(tag=t, count=counts[t], score=round(scores[t], 4)) for t in ranked[:limit]]


async def users(svc: Services, window: str, limit: int) -> list[TrendingUser]:
    """Users gaining followers and engagement fastest in ``window``."""
    span, now = WINDOWS[window], svc.clock()
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for b in await trend_store.user_buckets(svc.reader("trending"), since=now - span):
        d = _decay(now, b["bucket"], span)
        t = totals[b["user_id"]]
        t["followers"] += b.get("followers", 0)
        t["engagement"] += b.get("engagement", 0)
        t["score"] += d * (b.get("followers", 0) + ENGAGEMENT_WEIGHT * b.get("engagement", 0))
    ranked = sorted(
        (u for u in totals if totals[u]["score"] > 0), key=lambda u: -totals[u]["score"]
    )
    found = await user_store.by_ids(svc.reader("trending"), user_ids=ranked[: limit * 2])
    out = [
        TrendingUser(
            user=found[u].public(),
            new_followers=int(totals[u]["followers"]),
            engagement=int(totals[u]["engagement"]),
            score=round(totals[u]["score"], 4),
        )
        for u in ranked
        if u in found and not found[u].suspended
    ]
    return out[:limit]
