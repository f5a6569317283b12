"""Redis timelines are a cache: when Redis loses them (flushed, restarted, restored from an
older snapshot) or is away, the home timeline still reads right."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bson import ObjectId

from realtime.redis_backend import connect_redis
from tests.social.test_timeline import follow, home

pytestmark = pytest.mark.parametrize("timeline_store", ["redis"], indirect=True)


async def test_flushed_timelines_are_rebuilt_before_a_read(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    reader, a, b = await make_user(), await make_user(), await make_user()
    await follow(client, reader, a)
    await follow(client, reader, b)
    made = [
        (await make_tweet(w, f"{w.user_name} {i}"))["tweet_id"] for i in range(3) for w in (a, b)
    ]
    await drain()
    assert await home(client, reader) == made[::-1]
    assert await svc.timelines.count(owner=reader.id) == 6

    redis = connect_redis(svc.settings.redis_url)
    keys = [k async for k in redis.scan_iter(match=f"murmur:{svc.settings.mongodb_db}:tl*")]
    assert keys
    await redis.delete(*keys)  # as an eviction or a restart without persistence would
    await redis.aclose()
    newer = (await make_tweet(a, "after the flush"))["tweet_id"]
    await drain()
    assert await svc.timelines.count(owner=reader.id) == 1  # only what was pushed since

    assert await home(client, reader, limit=2) == [newer, *made[::-1]]
    assert await svc.timelines.count(owner=reader.id) == 7  # rebuilt from follows + tweets
    assert await home(client, reader, limit=2) == [newer, *made[::-1]]


async def test_a_restart_restoring_an_older_snapshot_is_rebuilt(
    client: httpx.AsyncClient,
    make_user: Any,
    make_tweet: Any,
    svc: Any,
    drain: Any,
    redis_server: Any,
) -> None:
    reader, author = await make_user(), await make_user()
    await follow(client, reader, author)
    t1 = (await make_tweet(author, "in the snapshot"))["tweet_id"]
    await drain()
    assert await home(client, reader) == [t1]  # built: the marker names this server run
    keys = [svc.timelines.key(reader.id), svc.timelines.built_key(reader.id)]
    redis = connect_redis(redis_server.url)
    snapshot = {k: await redis.dump(k) for k in keys}
    await redis.aclose()
    t2 = (await make_tweet(author, "lost with the crash"))["tweet_id"]
    await drain()

    redis_server.restart()  # a crash, then the snapshot comes back
    redis = connect_redis(redis_server.url)
    for k, value in snapshot.items():
        await redis.restore(k, 0, value)
    await redis.aclose()
    t3 = (await make_tweet(author, "after the restart"))["tweet_id"]
    await drain()
    assert set(await svc.timelines.owners_of(tweet_id=ObjectId(t2))) == set()  # the gap

    assert await home(client, reader, limit=1) == [t3, t2, t1]
    assert reader.id in await svc.timelines.owners_of(tweet_id=ObjectId(t2))


async def test_reads_pull_everything_while_redis_is_away(
    client: httpx.AsyncClient,
    make_user: Any,
    make_tweet: Any,
    svc: Any,
    drain: Any,
    redis_server: Any,
) -> None:
    reader, author = await make_user(), await make_user()
    await follow(client, reader, author)
    made = [(await make_tweet(author, f"tweet {i}"))["tweet_id"] for i in range(3)]
    await drain()
    redis_server.kill()
    try:
        assert await home(client, reader, limit=2) == made[::-1]
    finally:
        redis_server.start()
    assert await home(client, reader, limit=2) == made[::-1]


async def test_a_timeline_another_process_rebuilds_is_pulled_not_emptied(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    """While another process holds the rebuild of a timeline (its claim on the marker), a
    read pulls every followed author and leaves the set alone; once the claim is gone (it
    has a lifetime, for a holder that died), the next read rebuilds it."""
    reader, author = await make_user(), await make_user()
    await follow(client, reader, author)
    made = [(await make_tweet(author, f"t{i}"))["tweet_id"] for i in range(3)]
    await drain()
    redis = connect_redis(svc.settings.redis_url)
    try:
        key, marker = svc.timelines.key(reader.id), svc.timelines.built_key(reader.id)
        run_id = (await redis.info("server"))["run_id"]
        await redis.delete(key)  # the other process has emptied it and reads the database
        await redis.set(marker, f"pending:{run_id}:other", ex=30)
        assert await home(client, reader, limit=2) == made[::-1]  # pulled
        assert await svc.timelines.count(owner=reader.id) == 0  # not rebuilt under its claim
        assert await redis.get(marker) == f"pending:{run_id}:other"
        assert await redis.pttl(marker) > 0
        await redis.delete(marker)  # the holder died: its claim ran out
        assert await home(client, reader, limit=2) == made[::-1]
        assert await svc.timelines.count(owner=reader.id) == 3  # rebuilt by this read
        assert await redis.get(marker) == run_id
    finally:
        await redis.aclose()


async def test_a_follow_builds_a_timeline_never_read(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    """The follow that finds its follower's timeline not built has the worker build it,
    from follows and tweets: the first read rebuilds nothing. A timeline built empty (read
    while following nobody) gets the followee's recent tweets."""
    reader, lonely, a, b = [await make_user() for _ in range(4)]
    by_a = [(await make_tweet(a, f"a {i}"))["tweet_id"] for i in range(3)]
    by_b = [(await make_tweet(b, f"b {i}"))["tweet_id"] for i in range(2)]
    await drain()
    redis = connect_redis(svc.settings.redis_url)
    try:
        assert not await redis.exists(svc.timelines.built_key(reader.id))
        await follow(client, reader, a)
        await drain()
        assert await redis.exists(svc.timelines.built_key(reader.id))
        assert await svc.timelines.count(owner=reader.id) == 3
        assert await home(client, reader) == by_a[::-1]

        assert await home(client, lonely) == []  # read: built, and empty
        assert await redis.exists(svc.timelines.built_key(lonely.id))
        await follow(client, lonely, b)
        await drain()
        assert await svc.timelines.count(owner=lonely.id) == 2
        assert await home(client, lonely) == by_b[::-1]
    finally:
        await redis.aclose()
