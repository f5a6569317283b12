"""Issue 10 (low): the WebSocket hub — anonymous sockets, frame floods, visibility, gaps.

Every test talks to ``murmur serve`` processes over real sockets (with Redis).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.embedded import EmbeddedMongo
from tests.security.conftest import Murmur


async def _ws(app: Murmur, token: str | None = None, address: str = "10.0.0.1") -> ClientConnection:
    headers = {"X-Forwarded-For": address}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = app.url.replace("http://", "ws://") + "/ws"
    return await connect(url, additional_headers=headers, open_timeout=10)


async def _frame(ws: ClientConnection, wait: float = 10) -> dict[str, Any]:
    frame: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), wait))
    return frame


async def _closed(ws: ClientConnection, wait: float = 10) -> int | None:
    """Read until the server closes (within ``wait``); the close code."""
    try:
        async with asyncio.timeout(wait):
            while True:
                await ws.recv()
    except ConnectionClosed:
        pass
    return ws.protocol.close_rcvd.code if ws.protocol.close_rcvd else None


async def _subscribe(ws: ClientConnection, stream: str) -> dict[str, Any]:
    await ws.send(json.dumps({"type": "subscribe", "stream": stream}))
    return await _frame(ws)


def test_anonymous_sockets_are_capped_per_address(start_murmur):
    app = start_murmur(WS_MAX_ANONYMOUS_PER_ADDRESS="5")

    async def attack() -> None:
        flood = [await _ws(app, address="10.5.0.1") for _ in range(5)]
        try:
            for ws in flood:
                assert (await _subscribe(ws, "public"))["type"] == "subscribed"
            extra = await _ws(app, address="10.5.0.1")
            frame = await _frame(extra)
            assert frame["type"] == "error" and "per address" in frame["message"], frame
            assert await _closed(extra) == 1008
            # Another address, and a signed-in socket from the same one, are not affected.
            other = await _ws(app, address="10.5.0.2")
            assert (await _subscribe(other, "public"))["type"] == "subscribed"
            await other.close()
            # Closing one frees a place.
            await flood.pop().close()
            deadline = asyncio.get_running_loop().time() + 10
            while True:
                again = await _ws(app, address="10.5.0.1")
                if (await _subscribe(again, "public"))["type"] == "subscribed":
                    flood.append(again)
                    break
                await again.close()
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
        finally:
            for ws in flood:
                await ws.close()

    asyncio.run(attack())


def test_a_flood_of_any_frame_kind_is_throttled_then_cut_off(start_murmur):
    app = start_murmur(WS_FRAME_RATE="1", WS_FRAME_BURST="5")

    async def attack() -> None:
        ws = await _ws(app)
        try:
            for _ in range(30):
                await ws.send(json.dumps({"type": "ping"}))
            frames = []
            try:
                async with asyncio.timeout(10):
                    while True:
                        frames.append(json.loads(await ws.recv()))
            except ConnectionClosed:
                pass
            kinds = [f["type"] for f in frames]
            assert kinds[:5] == ["pong"] * 5, kinds
            assert frames[5]["type"] == "error" and frames[5]["code"] == "rate_limited", frames
            assert kinds.count("pong") <= 6, kinds  # (one token may refill meanwhile)
            assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1008
        finally:
            await ws.close()

    asyncio.run(attack())


def test_a_blocked_user_cannot_follow_the_blockers_tweet_or_profile_live(start_murmur):
    app = start_murmur(RATE_LIMITS_ENABLED="false")
    with app.party() as http:
        alice = app.verified_user(http, "alice")
        mallory = app.verified_user(http, "mallory")
        carol = app.verified_user(http, "carol")

        def auth(pair: dict[str, Any]) -> dict[str, str]:
            return {"Authorization": f"Bearer {pair['access_token']}"}

        tweet = http.post("/tweets", json={"content": "mine"}, headers=auth(alice)).json()
        mallory_id = mallory["user"]["user_id"]
        r = http.post(f"/users/{mallory_id}/block", headers=auth(alice))
        assert r.status_code in (200, 201), r.text
        assert http.get(f"/tweets/{tweet['tweet_id']}", headers=auth(mallory)).status_code == 404

    async def attack() -> None:
        ws = await _ws(app, mallory["access_token"])
        try:
            for stream in (f"tweet:{tweet['tweet_id']}", f"user:{alice['user']['user_id']}"):
                frame = await _subscribe(ws, stream)
                assert frame["type"] == "error" and frame["code"] == "unknown_stream", frame
            assert (await _subscribe(ws, "public"))["type"] == "subscribed"
        finally:
            await ws.close()
        # Others still can.
        ws = await _ws(app, carol["access_token"])
        try:
            assert (await _subscribe(ws, f"tweet:{tweet['tweet_id']}"))["type"] == "subscribed"
        finally:
            await ws.close()

    asyncio.run(attack())


def test_signing_in_on_an_anonymous_socket_applies_the_users_blocks(start_murmur):
    app = start_murmur(RATE_LIMITS_ENABLED="false")
    with app.party() as http:
        alice = app.verified_user(http, "alice")
        mallory = app.verified_user(http, "mallory")
        carol = app.verified_user(http, "carol")
        headers = {"Authorization": f"Bearer {alice['access_token']}"}
        r = http.post(f"/users/{mallory['user']['user_id']}/block", headers=headers)
        assert r.status_code in (200, 201), r.text

        async def attack() -> None:
            ws = await _ws(app)  # anonymous first
            try:
                assert (await _subscribe(ws, "public"))["type"] == "subscribed"
                await ws.send(json.dumps({"type": "auth", "token": mallory["access_token"]}))
                await ws.send(json.dumps({"type": "ping"}))
                assert (await _frame(ws))["type"] == "pong"  # the auth frame was handled
                for who, text in ((alice, "from the blocker"), (carol, "from carol")):
                    h = {"Authorization": f"Bearer {who['access_token']}"}
                    assert http.post("/tweets", json={"content": text}, headers=h).is_success
                frame = await _frame(ws)
                assert frame["type"] == "event" and frame["data"]["content"] == "from carol", frame
            finally:
                await ws.close()

        asyncio.run(attack())


def test_a_revocation_lost_in_a_redis_outage_still_closes_the_socket(start_murmur, redis_server):
    a, b = start_murmur(), start_murmur()
    with a.party() as http:
        pair = a.verified_user(http, "victim")

        async def attack() -> None:
            ws = await _ws(b, pair["access_token"])
            try:
                assert (await _subscribe(ws, "public"))["type"] == "subscribed"
                redis_server.kill()
                # Signed out (say, after a stolen laptop) while Redis is down: the broadcast
                # that would close the socket on process b is lost.
                headers = {"Authorization": f"Bearer {pair['access_token']}"}
                r = await asyncio.to_thread(http.post, "/auth/logout", headers=headers)
                assert r.status_code == 204, r.text
                redis_server.start()
                assert await _closed(ws, wait=30) == 4001
            finally:
                await ws.close()

        try:
            asyncio.run(attack())
        finally:
            if redis_server.process is None:
                redis_server.start()


def test_a_database_failure_is_not_described_to_the_client(start_murmur, live_app, tmp_path):
    own = EmbeddedMongo(":memory:")
    app = start_murmur(MONGODB_URL=own.start())
    try:
        with app.party() as http:
            pair = app.verified_user(http, "unlucky")
        own.stop()

        async def connect_now() -> dict[str, Any]:
            ws = await _ws(app, pair["access_token"])
            try:
                return await _frame(ws, wait=30)
            finally:
                await ws.close()

        frame = asyncio.run(connect_now())
        assert frame["type"] == "error" and frame["code"] == "unavailable", frame
        assert frame["message"] == "Cannot check the session now; try again shortly."
    finally:
        own.stop()
    assert "checking session" in app.log_path.read_text()  # the detail went to the log


def test_a_hidden_tweet_is_not_replayed_to_a_client_resuming_from_before(start_murmur):
    app = start_murmur(RATE_LIMITS_ENABLED="false", ADMIN_EMAILS='["boss@example.com"]')
    with app.party() as http:
        alice = app.verified_user(http, "alice")
        boss = app.verified_user(http, "boss")
        viewer = app.verified_user(http, "viewer")
        alice_h = {"Authorization": f"Bearer {alice['access_token']}"}
        stream = f"user:{alice['user']['user_id']}"

        async def attack() -> None:
            ws = await _ws(app, viewer["access_token"])
            try:
                assert (await _subscribe(ws, stream))["type"] == "subscribed"
                posted = await asyncio.to_thread(
                    http.post, "/tweets", json={"content": "before"}, headers=alice_h
                )
                assert posted.is_success
                since = (await _frame(ws))["id"]
            finally:
                await ws.close()
            # While the viewer is away: a spam tweet, hidden by a moderator, then a fine one.
            spam = http.post("/tweets", json={"content": "buy spam now"}, headers=alice_h).json()
            r = http.post(
                f"/moderation/tweets/{spam['tweet_id']}/hide",
                json={"reason": "spam"},
                headers={"Authorization": f"Bearer {boss['access_token']}"},
            )
            assert r.is_success, r.text
            assert http.post("/tweets", json={"content": "after"}, headers=alice_h).is_success

            ws = await _ws(app, viewer["access_token"])
            try:
                await ws.send(json.dumps({"type": "subscribe", "stream": stream, "since": since}))
                frames = [await _frame(ws) for _ in range(3)]  # subscribed, deleted, after
            finally:
                await ws.close()
            assert frames[0]["type"] == "subscribed", frames
            assert [f["event"] for f in frames[1:]] == ["tweet.deleted", "tweet.created"], frames
            assert frames[2]["data"]["content"] == "after"
            assert "buy spam now" not in json.dumps(frames)

        asyncio.run(attack())


def test_a_block_after_subscribing_stops_the_tweets_counts_and_replies(start_murmur):
    app = start_murmur(RATE_LIMITS_ENABLED="false")
    with app.party() as http:
        alice = app.verified_user(http, "alice")
        mallory = app.verified_user(http, "mallory")
        carol = app.verified_user(http, "carol")

        def h(pair: dict[str, Any]) -> dict[str, str]:
            return {"Authorization": f"Bearer {pair['access_token']}"}

        tweet = http.post("/tweets", json={"content": "mine"}, headers=h(alice)).json()
        tid = tweet["tweet_id"]

        async def attack() -> None:
            ws = await _ws(app, mallory["access_token"])
            try:
                assert (await _subscribe(ws, f"tweet:{tid}"))["type"] == "subscribed"
                assert (await _subscribe(ws, "public"))["type"] == "subscribed"
                r = await asyncio.to_thread(
                    http.post, f"/users/{mallory['user']['user_id']}/block", headers=h(alice)
                )
                assert r.is_success, r.text
                frame = await _frame(ws)  # the stream is taken away at once
                assert frame["type"] == "error" and frame["code"] == "unknown_stream", frame
                assert frame["stream"] == f"tweet:{tid}"
                # Carol likes and replies to alice's tweet; mallory hears none of it. Then a
                # public tweet by carol arrives, which shows the socket is still live.
                await asyncio.to_thread(http.post, f"/tweets/{tid}/likes", headers=h(carol))
                await asyncio.to_thread(
                    http.post,
                    f"/tweets/{tid}/comments",
                    json={"content": "a reply"},
                    headers=h(carol),
                )
                await asyncio.to_thread(
                    http.post, "/tweets", json={"content": "marker"}, headers=h(carol)
                )
                while True:
                    frame = await _frame(ws)
                    assert frame.get("stream") != f"tweet:{tid}", frame
                    assert frame.get("event") != "tweet.counts", frame
                    if (
                        frame.get("event") == "tweet.created"
                        and frame["data"]["content"] == "marker"
                    ):
                        break
            finally:
                await ws.close()

        asyncio.run(attack())


def test_the_sockets_per_user_limit_holds_across_processes(start_murmur):
    a, b = start_murmur(WS_MAX_SOCKETS_PER_USER="2"), start_murmur(WS_MAX_SOCKETS_PER_USER="2")
    with a.party() as http:
        pair = a.verified_user(http, "hoarder")

    async def attack() -> None:
        first, second = await _ws(a, pair["access_token"]), await _ws(b, pair["access_token"])
        try:
            for ws in (first, second):
                assert (await _subscribe(ws, "public"))["type"] == "subscribed"
            for app in (a, b):  # a third, on either process: refused
                extra = await _ws(app, pair["access_token"])
                frame = await _frame(extra)
                assert frame["type"] == "error" and "per user" in frame["message"], frame
                assert await _closed(extra) == 1008
            # Closing one frees its place for the other process too.
            await first.close()
            deadline = asyncio.get_running_loop().time() + 10
            while True:
                again = await _ws(b, pair["access_token"])
                if (await _subscribe(again, "public"))["type"] == "subscribed":
                    await again.close()
                    break
                await again.close()
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.05)
        finally:
            await first.close()
            await second.close()

    asyncio.run(attack())
