"""Murmurs on a real Redis Cluster (``REDIS_CLUSTER=true``) behave as one server: every
stream crosses processes over sharded pub/sub, and ``since`` resumes across shards."""

from __future__ import annotations

from typing import Any

import pytest

from realtime.channels import home_stream, user_stream
from realtime.clusterlog import ClusterLog
from realtime.log import parse_id
from tests.realtime.test_cluster import kinds, post


@pytest.fixture
async def pair(cluster_apps: Any) -> list[Any]:
    return list(await cluster_apps(2))


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


@pytest.fixture
async def pulled(cluster_apps: Any) -> list[Any]:
    """Two Murmurs on the cluster where an author with two followers is pulled into home."""
    return list(await cluster_apps(2, fanout_max_followers=1))


async def _on_other_masters(redis_cluster: Any, make_user: Any) -> tuple[Any, Any]:
    """A fan and an author whose ``home:`` and ``user:`` logs live on different masters."""
    fan = await make_user()
    while True:
        star = await make_user()
        home, user = ClusterLog.key(home_stream(fan.id)), ClusterLog.key(user_stream(star.id))
        if redis_cluster.master_of(home).port != redis_cluster.master_of(user).port:
            return fan, star


async def test_since_resumes_across_logs_on_different_masters_once_in_order(
    pulled, make_user, redis_cluster
):
    a, b = pulled
    fan, star = await _on_other_masters(redis_cluster, make_user)
    friend, other = await make_user(), await make_user()
    for follower, followed in ((fan, star), (other, star), (fan, friend)):
        await post(a, follower, f"/users/{followed.id}/follow")
    # The star's tweets are pulled (user: log), the friend's pushed (the fan's home: log).
    ws = await b.ws(fan.access_token)
    await ws.subscribe("home")
    await post(a, friend, "/tweets", {"content": "f0"})
    first = await ws.expect("event", stream="home")
    await ws.close()

    texts = [f"{who}{i}" for i in range(1, 5) for who in ("s", "f")]
    for text in texts:
        await post(a if text[0] == "s" else b, star if text[0] == "s" else friend,
                   "/tweets", {"content": text})  # fmt: skip

    ws = await a.ws(fan.access_token)  # back, on the other process
    await ws.subscribe("home", since=first["id"])
    replayed = await ws.events(len(texts))
    assert [f["data"]["content"] for f in replayed] == texts  # all, once, in order
    ids = [parse_id(f["id"]) for f in replayed]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids[0] > parse_id(first["id"])

    await post(b, star, "/tweets", {"content": "live"})  # the live tail, after the hold
    live = await ws.expect("event", stream="home")
    assert live["data"]["content"] == "live" and parse_id(live["id"]) > ids[-1]
    await ws.quiet()
    await ws.close()
