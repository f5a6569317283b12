"""A Redis Cluster that cannot be reached: the cluster client raises RedisClusterException (no
RedisError), and every server-side use still falls back as it does for one Redis: caches miss
and the database answers, stored timelines report themselves unavailable, rate limits apply
per process. Real components, a real database, a cluster address nobody listens on."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from bson import ObjectId

from realtime.redis_backend import connect_redis
from server import seen, spam
from server.accounts import Caller
from server.embedded import free_port
from server.errors import RateLimited
from server.likedcache import LikedCache
from server.models import Tweet
from server.ratelimit import RateLimits
from server.redisslots import REDIS_ERRORS
from server.store import bookmarks as bookmark_store
from server.store import reposts as repost_store
from server.store import users as user_store
from server.store.recent_redis import RecentIds
from server.store.timelines import TimelinesUnavailable
from server.store.timelines_redis import RedisTimelines
from server.tweetcache import RedisTweetCache, hydrate


async def test_every_cache_falls_back_while_the_cluster_is_away(
    app: Any, client: Any, make_user: Any, make_tweet: Any
) -> None:
    svc = app.state.services
    url = f"redis://127.0.0.1:{free_port()}/0"
    away = connect_redis(url, cluster=True)
    author, reader = await make_user(), await make_user()
    tweet = await make_tweet(author, "posted while Redis is away")
    tweet_id = tweet["tweet_id"]
    r = await client.post(f"/tweets/{tweet_id}/likes", headers=reader.headers)
    assert r.status_code == 200, r.text
    try:
        cache = RedisTweetCache(away, prefix="murmur:away:")
        assert await cache.lookup([tweet_id]) == ({}, {})
        assert [t.tweet_id for t in await hydrate(cache, svc.db, [ObjectId(tweet_id)])] == [
            tweet_id
        ]
        await cache.forget([tweet_id])  # logged, not raised

        liked = LikedCache(away, prefix="murmur:away:")
        assert await liked.liked_among(svc.db, reader.id, [tweet_id]) == {tweet_id}
        await liked.changed(reader.id, tweet_id, liked=True)
        # A page's tweets and marks in one pipeline: both from the database.
        reposted, bookmarked = (
            LikedCache(away, prefix="murmur:away:", kind=kind, among=among)
            for kind, among in (
                ("reposted", repost_store.reposted_among),
                ("bookmarked", bookmark_store.bookmarked_among),
            )
        )
        away_svc = dataclasses.replace(
            svc, tweet_cache=cache, liked=liked, reposted=reposted, bookmarked=bookmarked
        )
        record = (await user_store.by_ids(svc.db, user_ids=[reader.id]))[reader.id]
        [shown] = await seen.hydrate(away_svc, Caller(record, "s"), [ObjectId(tweet_id)])
        assert shown.tweet_id == tweet_id and shown.liked_by_me is True
        assert shown.reposted_by_me is False and shown.bookmarked_by_me is False

        async def no_load(who: str, count: int) -> list[tuple[ObjectId, str]]:
            raise AssertionError("a set is not rebuilt while Redis is away")

        recent = RecentIds(away, prefix="murmur:away:", load=no_load)
        assert await recent.newest([author.id], before=None, limit=5) is None
        # The worker's effect: raised (like the timelines' push), so its batch is retried.
        with pytest.raises(REDIS_ERRORS):
            await recent.added_many([(tweet_id, author.id)])
        with pytest.raises(REDIS_ERRORS):
            await recent.removed(tweet_id=tweet_id, author=author.id)

        settings = svc.settings.model_copy(update={"redis_cluster": True})
        timelines = RedisTimelines(url, prefix="murmur:away:tl:", settings=settings)
        try:
            with pytest.raises(TimelinesUnavailable):
                await timelines.newest(owner=reader.id, before=None, limit=5, exclude=())
            with pytest.raises(TimelinesUnavailable):
                await timelines.push(owners=[reader.id], tweet_id=ObjectId(tweet_id), author="a")

            async def rebuild() -> list[Any]:
                return []

            with pytest.raises(TimelinesUnavailable):
                await timelines.ensure_built(owner=reader.id, rebuild=rebuild)
        finally:
            await timelines.close()

        svc.cache_redis = away  # the repeat counter: counted from the database instead
        try:
            assert await spam.repeated_post(svc, [Tweet(**tweet)]) == [False]
        finally:
            svc.cache_redis = None
    finally:
        await away.aclose()

    limits = RateLimits(url, cluster=True)
    try:
        for _ in range(2):
            await limits.hit("2/minute", "away")
        with pytest.raises(RateLimited):
            await limits.hit("2/minute", "away")  # held per process meanwhile
    finally:
        await limits.close()
