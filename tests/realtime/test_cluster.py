"""Two Murmurs behind one real Redis behave as one server: delivery, resume, Redis restarts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from realtime import protocol
from tests.realtime.conftest import settle_all


@pytest.fixture
async def pair(apps: Any, redis_server: Any) -> list[Any]:
    return list(await apps(2, redis_url=redis_server.url))


async def post(app: Any, user: Any, path: str, body: dict[str, Any] | None = None) -> Any:
    """POST, then wait until the write's effects are applied (whichever process holds the
    outbox lease applies them): a later subscription must not hear an earlier write."""
    async with httpx.AsyncClient(base_url=app.url, headers=user.headers) as http:
        r = await http.post(path, json=body)
        assert r.status_code in (200, 201, 204), r.text
    await settle_all()
    return r.json() if r.content else None


async def test_each_stream_and_event_kind_crosses_processes(pair, make_user):
    a, b = pair
    author, fan = await make_user(), await make_user()
    ws = await b.ws(fan.access_token)
    for stream in ("home", "notifications", "public", "hashtag:Rust", f"user:{author.id}"):
        await ws.subscribe(stream)

    await post(a, author, f"/users/{fan.id}/follow")
    note = await ws.expect("event", stream="notifications", event="notification.created")
    assert note["data"]["kind"] == "follow" and note["data"]["actor_id"] == author.id
    await post(a, fan, f"/users/{author.id}/follow")

    tweet = await post(a, author, "/tweets", {"content": "learning #rust today"})
    seen = {(f["stream"], f["event"]) for f in await ws.events(4)}
    assert seen == {
        ("home", "tweet.created"),
        ("public", "tweet.created"),
        ("hashtag:Rust", "tweet.created"),
        (f"user:{author.id}", "tweet.created"),
    }

    for stream in ("public", "hashtag:Rust", f"user:{author.id}"):
        await ws.send({"type": "unsubscribe", "stream": stream})
        await ws.expect("unsubscribed", stream=stream)
    tid = tweet["tweet_id"]
    await ws.subscribe(f"tweet:{tid}")
    author_ws = await a.ws(author.access_token)
    await author_ws.subscribe("notifications")

    await post(b, fan, f"/tweets/{tid}/likes")
    counts = await ws.expect("event", stream=f"tweet:{tid}", event="tweet.counts")
    assert counts["data"] == {
        "tweet_id": tid,
        "user_id": tweet["user_id"],
        "like_count": 1,
        "reply_count": 0,
        "repost_count": 0,
        "quote_count": 0,
    }
    like = await author_ws.expect("event", stream="notifications", event="notification.created")
    assert like["data"]["kind"] == "like" and like["data"]["tweet_id"] == tid

    reply = await post(b, fan, f"/tweets/{tid}/comments", {"content": "me too"})
    assert await kinds(ws, 3) == {
        (f"tweet:{tid}", "reply.created"),
        (f"tweet:{tid}", "tweet.counts"),
        ("home", "tweet.created"),  # the fan's own reply, in the fan's own home
    }
    note = await author_ws.expect("event", stream="notifications", event="notification.created")
    assert note["data"]["kind"] == "reply" and note["data"]["tweet_id"] == reply["tweet_id"]

    async with httpx.AsyncClient(base_url=a.url, headers=author.headers) as http:
        r = await http.patch(f"/tweets/{tid}", json={"content": "learning #rust, day 2"})
        assert r.status_code == 200, r.text
        assert await kinds(ws, 2) == {("home", "tweet.updated"), (f"tweet:{tid}", "tweet.updated")}
        r = await http.delete(f"/tweets/{tid}")
        assert r.status_code in (200, 204), r.text
        assert await kinds(ws, 2) == {("home", "tweet.deleted"), (f"tweet:{tid}", "tweet.deleted")}
    await ws.quiet()
    await ws.close()
    await author_ws.close()


async def kinds(ws: Any, n: int) -> set[tuple[str, str]]:
    return {(f["stream"], f["event"]) for f in await ws.events(n)}


async def test_resume_with_since_replays_missed_events_once_in_order(pair, make_user):
    a, b = pair
    author, fan = await make_user(), await make_user()
    await post(a, fan, f"/users/{author.id}/follow")
    ws = await b.ws(fan.access_token)
    await ws.subscribe("home")
    await post(a, author, "/tweets", {"content": "one"})
    first = await ws.expect("event", stream="home")
    await ws.close()

    for text in ("two", "three", "four"):
        await post(a, author, "/tweets", {"content": text})

    ws = await a.ws(fan.access_token)  # back, on the other process
    await ws.subscribe("home", since=first["id"])
    replayed = await ws.events(3)
    assert [f["data"]["content"] for f in replayed] == ["two", "three", "four"]
    await post(b, author, "/tweets", {"content": "five"})
    live = await ws.expect("event", stream="home")
    assert live["data"]["content"] == "five"
    ids = [first["id"], *(f["id"] for f in replayed), live["id"]]
    assert len(set(ids)) == 5
    await ws.quiet()
    await ws.close()


async def test_since_older_than_the_log_gets_resync(pair, make_user):
    _, b = pair
    fan = await make_user()
    ws = await b.ws(fan.access_token)
    await ws.send({"type": "subscribe", "stream": "home", "since": "1-0"})
    await ws.expect("subscribed", stream="home")
    await ws.expect("resync", stream="home")
    await ws.close()


async def test_redis_killed_and_restarted_mid_stream(pair, make_user, redis_server):
    a, b = pair
    author, fan = await make_user(), await make_user()
    await post(a, fan, f"/users/{author.id}/follow")
    ws = await b.ws(fan.access_token)
    await ws.subscribe("home")
    await ws.subscribe("public")
    await post(a, author, "/tweets", {"content": "before"})
    assert {f["stream"] for f in await ws.events(2)} == {"home", "public"}

    redis_server.restart()  # a crash: pub/sub connections drop, the logs are gone

    resyncs = {(await ws.expect("resync", wait=15))["stream"] for _ in range(2)}
    assert resyncs == {"home", "public"}
    await post(a, author, "/tweets", {"content": "after"})
    frames = await ws.events(2, wait=10)
    assert {(f["stream"], f["data"]["content"]) for f in frames} == {
        ("home", "after"),
        ("public", "after"),
    }
    await ws.close()


async def test_the_sockets_per_user_limit_holds_across_processes(apps, redis_server, make_user):
    """Two processes sharing one Redis allow a user WS_MAX_SOCKETS_PER_USER sockets in all,
    not that many on each; a closed socket frees its place on every process."""
    a, b = await apps(2, redis_url=redis_server.url, ws_max_sockets_per_user=2)
    user = await make_user()
    first, second = await a.ws(user.access_token), await b.ws(user.access_token)
    for app in (a, b):  # the third is refused wherever it lands
        third = await app.ws(user.access_token)
        await third.expect("error", code=protocol.FORBIDDEN)
        assert await third.closed() == (protocol.CLOSE_POLICY, "too many sockets")
    await first.close()
    cluster = a.hub.admission.cluster
    async with asyncio.timeout(5):  # until its claim is released in Redis
        while await cluster.redis.zcard(cluster.prefix + user.id) != 1:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    again = await b.ws(user.access_token)
    await again.subscribe("home")
    for ws in (second, again):
        await ws.close()
