"""Trending hashtags and users, ranked by recent activity with exponential time decay.

Counts come from the rollups in ``store/trends.py``, kept up to date as tweets are created,
edited, hidden and deleted. A bucket's weight halves every ``half_life`` (a tenth of the
window), so a burst in the last minutes outranks a bigger one near the window's start, and
anything older than the window does not count at all.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from bson import ObjectId
from pydantic import BaseModel

from .models import PublicUser, Tweet
from .services import Services
from .store import trends as trend_store
from .store import tweets as tweet_store
from .store import users as user_store

WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}
# Engagement (likes, replies, mentions) counts less than a new follower.
ENGAGEMENT_WEIGHT = 0.5


class TrendingTag(BaseModel):
    tag: str
    count: int
    score: float


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
    for b in await trend_store.tag_buckets(svc.db, since=now - span):
        counts[b["tag"]] += b["count"]
        scores[b["tag"]] += b["count"] * _decay(now, b["bucket"], span)
    ranked = sorted((t for t in counts if counts[t] > 0), key=lambda t: (-scores[t], t))
    return [TrendingTag(tag=t, count=counts[t], score=round(scores[t], 4)) for t in ranked[:limit]]


async def users(svc: Services, window: str, limit: int) -> list[TrendingUser]:
    """Users gaining followers and engagement fastest in ``window``."""
    span, now = WINDOWS[window], svc.clock()
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for b in await trend_store.user_buckets(svc.db, since=now - span):
        d = _decay(now, b["bucket"], span)
        t = totals[b["user_id"]]
        t["followers"] += b.get("followers", 0)
        t["engagement"] += b.get("engagement", 0)
        t["score"] += d * (b.get("followers", 0) + ENGAGEMENT_WEIGHT * b.get("engagement", 0))
    ranked = sorted(
        (u for u in totals if totals[u]["score"] > 0), key=lambda u: -totals[u]["score"]
    )
    found = await user_store.by_ids(svc.db, user_ids=ranked[: limit * 2])
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


async def tweet_counted(svc: Services, tweet: Tweet, delta: int) -> None:
    """Add (``+1``) or take back (``-1``) a tweet's hashtags and the engagement it gives."""
    await trend_store.add_tag_uses(svc.db, tags=tweet.tags, when=tweet.created_at, delta=delta)
    if delta > 0:
        await _engagement(svc, tweet)


async def tweet_tags_counted(svc: Services, tweet: Tweet, delta: int) -> None:
    """Only the hashtag counts (a moderator hid or restored the tweet)."""
    await trend_store.add_tag_uses(svc.db, tags=tweet.tags, when=tweet.created_at, delta=delta)


async def tweet_retagged(svc: Services, before: Tweet, after: Tweet) -> None:
    """An edit changed the hashtags: move the counts in the tweet's own bucket."""
    removed = [t for t in before.tags if t not in after.tags]
    added = [t for t in after.tags if t not in before.tags]
    await trend_store.add_tag_uses(svc.db, tags=removed, when=before.created_at, delta=-1)
    await trend_store.add_tag_uses(svc.db, tags=added, when=before.created_at, delta=1)


async def follower_gained(svc: Services, user_id: str) -> None:
    """Hook for the social graph: ``user_id`` has one more follower."""
    await trend_store.add_user_activity(svc.db, user_id=user_id, kind="followers", when=svc.clock())


async def engaged(svc: Services, user_id: str) -> None:
    """Hook for likes and replies: someone engaged with ``user_id``'s tweets."""
    await trend_store.add_user_activity(
        svc.db, user_id=user_id, kind="engagement", when=svc.clock()
    )


async def _engagement(svc: Services, tweet: Tweet) -> None:
    # Replying to or mentioning someone engages with them (likes call ``engaged`` directly).
    if tweet.in_reply_to and ObjectId.is_valid(tweet.in_reply_to):
        parent = await tweet_store.get(svc.db, tweet_id=ObjectId(tweet.in_reply_to))
        if parent is not None and parent.user_id != tweet.user_id:
            await engaged(svc, parent.user_id)
    mentioned = [await user_store.by_name(svc.db, user_name=m) for m in tweet.mentions[:10]]
    for user in mentioned:
        if user is not None and user.id != tweet.user_id:
            await engaged(svc, user.id)
