"""Limits, token expiry, revocation and slow consumers, on the in-process hub."""

from __future__ import annotations

import asyncio

from realtime import protocol
from server.events import TweetCreated
from server.models import Tweet
from tests.realtime.wsclient import RawSocket


async def test_subscription_and_rate_limits(apps, make_user):
    (app,) = await apps(1, ws_max_subscriptions=2, ws_subscribe_burst=2, ws_subscribe_rate=0.01)
    ws = await app.ws()
    await ws.subscribe("public")
    await ws.subscribe("hashtag:a")
    await ws.send({"type": "subscribe", "stream": "hashtag:b"})
    await ws.expect("error", code=protocol.TOO_MANY_SUBSCRIPTIONS, stream="hashtag:b")
    await ws.send({"type": "unsubscribe", "stream": "hashtag:a"})
    await ws.expect("unsubscribed", stream="hashtag:a")
    await ws.send({"type": "subscribe", "stream": "hashtag:c"})  # the burst is spent
    await ws.expect("error", code=protocol.RATE_LIMITED, stream="hashtag:c")
    await ws.close()


async def test_sockets_per_user_limit_closes_with_1008(apps, make_user):
    (app,) = await apps(1, ws_max_sockets_per_user=1)
    user = await make_user()
    first = await app.ws(user.access_token)
    second = await app.ws(user.access_token)
    await second.expect("error", code=protocol.FORBIDDEN)
    assert await second.closed() == (protocol.CLOSE_POLICY, "too many sockets")
    await first.send({"type": "ping"})
    await first.expect("pong")
    await first.close()


async def test_token_expiry_pauses_private_streams_until_auth_then_replays(
    served, make_user, make_tweet, client, clock
):
    user = await make_user()
    ws = await served.ws(user.access_token)
    await ws.subscribe("home")
    await make_tweet(user, "fresh")
    assert (await ws.expect("event", stream="home"))["data"]["content"] == "fresh"

    clock.advance(seconds=901)  # access tokens live 15 minutes
    await ws.send({"type": "ping"})
    await ws.expect("error", code=protocol.TOKEN_EXPIRED)
    await ws.expect("pong")
    r = await client.post(
        "/auth/login", json={"user_name": user.user_name, "password": user.password}
    )
    fresh = r.json()["access_token"]
    r = await client.post(
        "/tweets", json={"content": "while expired"}, headers={"Authorization": f"Bearer {fresh}"}
    )
    assert r.status_code == 201, r.text
    await ws.quiet()  # held back, not lost

    await ws.send({"type": "auth", "token": fresh})
    replayed = await ws.expect("event", stream="home")
    assert replayed["data"]["content"] == "while expired"
    await ws.send({"type": "subscribe", "stream": "notifications"})
    await ws.expect("subscribed", stream="notifications")
    await ws.close()


async def test_logout_closes_that_sessions_sockets(served, make_user, client):
    user = await make_user()
    ws = await served.ws(user.access_token)
    await ws.subscribe("home")
    r = await client.post(
        "/auth/logout", json={"refresh_token": user.refresh_token}, headers=user.headers
    )
    assert r.status_code in (200, 204), r.text
    assert await ws.closed() == (protocol.CLOSE_SESSION_REVOKED, "session revoked")
    again = await served.ws(user.access_token)
    await again.expect("error", code="session_revoked")
    assert (await again.closed())[0] == protocol.CLOSE_UNAUTHORIZED


async def test_a_slow_consumer_does_not_stall_the_others(apps, make_user, make_tweet):
    (app,) = await apps(1, ws_send_backlog=8)
    author = await make_user()
    sample = Tweet.model_validate(await make_tweet(author, "x" * 250))
    fast = await app.ws()
    await fast.subscribe("public")
    slow = await RawSocket.open(app.port)  # completes the handshake, then does not read
    slow.send_json('{"type":"subscribe","stream":"public"}')
    for _ in range(100):
        if app.hub.subscription_counts().get("public") == 2:
            break
        await asyncio.sleep(0.01)
    total = 10_000  # enough to fill the kernel buffers (~4 MB) behind the slow socket
    received = 0
    for i in range(total):
        await app.hub.publish(["public"], TweetCreated(data=sample))
        if i % 500 == 499:  # keep reading the fast one as we go
            received += len(await fast.events(500))
    assert received == total  # the fast socket got everything, in time
    assert app.hub.metrics.dropped._value.get() > 0  # the slow one lost its backlog...
    assert any(c.sender.behind for c in app.hub.connections)
    frames = await slow.read_all()  # ...and once it reads again it is told to resync
    assert '{"type":"resync","stream":"public"}' in frames
    slow.close()
    await fast.close()
