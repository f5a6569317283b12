"""Murmurs on a real Redis Cluster (``REDIS_CLUSTER=true``) behave as one server: every
stream crosses processes over sharded pub/sub, and ``since`` resumes across shards."""

from __future__ import annotations

from typing import Any

import pytest

from realtime.redis_backend import connect_redis
from tests.realtime.test_cluster import kinds, post


@pytest.fixture
async def pair(
    apps: Any, redis_cluster: Any, redis_server: Any, monkeypatch: pytest.MonkeyPatch
) -> list[Any]:
    # These tests are about the realtime side (hub, logs, pub/sub) on the cluster. The
    # server's read caches and stored timelines keep a single Redis here: their cluster
    # support is tested with them (tests/rediscluster, the server-side change).
    single = lambda *args, **kwargs: connect_redis(redis_server.url)  # noqa: E731
    monkeypatch.setattr("server.app.connect_redis", single)
    monkeypatch.setattr("server.store.timelines_redis.connect_redis", single)
    # In one event loop for speed, but each with its own hub and Redis connections, as
    # separate processes would have.
    return list(await apps(2, redis_url=redis_cluster.url, redis_cluster=True))


async def test_every_stream_crosses_processes_on_the_cluster(pair, make_user, redis_cluster):
    a, b = pair
    author, fan = await make_user(), await make_user()
    ws = await b.ws(fan.access_token)
    streams = ("home", "notifications", "messages", "public", "hashtag:Rust", f"user:{author.id}")
    for stream in streams:
        await ws.subscribe(stream)

    await post(a, author, f"/users/{fan.id}/follow")
    note = await ws.expect("event", stream="notifications", event="notification.created")
    assert note["data"]["kind"] == "follow" and note["data"]["actor_id"] == author.id
    await post(a, fan, f"/users/{author.id}/follow")

    tweet = await post(a, author, "/tweets", {"content": "learning #rust today"})
    assert await kinds(ws, 4) == {
        ("home", "tweet.created"),
        ("public", "tweet.created"),
        ("hashtag:Rust", "tweet.created"),
        (f"user:{author.id}", "tweet.created"),
    }
    tid = tweet["tweet_id"]
    await ws.subscribe(f"tweet:{tid}")
    await post(b, fan, f"/tweets/{tid}/likes")
    counts = await ws.expect("event", stream=f"tweet:{tid}", event="tweet.counts")
    assert counts["data"]["like_count"] == 1

    convo = await post(a, author, "/conversations", {"participant_ids": [fan.id]})
    await post(a, author, f"/conversations/{convo['conversation_id']}/messages", {"content": "hi"})
    message = await ws.expect("event", stream="messages", event="message.created")
    assert message["data"]["content"] == "hi"
    await ws.quiet()
    await ws.close()
