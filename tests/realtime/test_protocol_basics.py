"""The protocol over a real socket, on the in-process (memory broadcaster) hub."""

from __future__ import annotations

from realtime import protocol


async def test_anonymous_socket_gets_public_tweets_but_not_home(served, make_user, make_tweet):
    author = await make_user()
    ws = await served.ws()
    await ws.subscribe("public")
    await ws.send({"type": "subscribe", "stream": "home"})
    await ws.expect("error", code=protocol.UNAUTHORIZED, stream="home")
    tweet = await make_tweet(author, "hello #live world")
    frame = await ws.expect("event", stream="public", event="tweet.created")
    assert frame["data"]["tweet_id"] == tweet["tweet_id"]
    assert frame["data"]["content"] == "hello #live world"
    await ws.close()


async def test_ping_pong_and_bad_frames_get_error_frames(served):
    ws = await served.ws()
    await ws.send({"type": "ping"})
    await ws.expect("pong")
    await ws.send("{not json")
    await ws.expect("error", code=protocol.INVALID_JSON)
    await ws.send({"type": "teleport"})
    frame = await ws.expect("error", code=protocol.INVALID_FRAME)
    assert "teleport" in frame["message"]
    await ws.send([1, 2])
    await ws.expect("error", code=protocol.INVALID_FRAME)
    await ws.send({"type": "subscribe"})
    frame = await ws.expect("error", code=protocol.INVALID_FRAME)
    assert "stream" in frame["message"]
    await ws.conn.send(b"\x00binary")
    await ws.expect("error", code=protocol.INVALID_FRAME)
    await ws.send({"type": "subscribe", "stream": "home:someone_else"})
    await ws.expect("error", code=protocol.UNKNOWN_STREAM)
    await ws.send({"type": "unsubscribe", "stream": "public"})
    await ws.expect("error", code=protocol.NOT_SUBSCRIBED)
    # Still alive after all that.
    await ws.send({"type": "ping"})
    await ws.expect("pong")
    await ws.close()


async def test_frame_size_limit_closes_with_1009(served):
    ws = await served.ws()
    await ws.send({"type": "ping", "pad": "x" * (17 * 1024)})
    await ws.expect("error", code=protocol.FRAME_TOO_LARGE)
    code, reason = await ws.closed()
    assert code == protocol.CLOSE_TOO_BIG and reason == "frame too large"


async def test_invalid_token_is_refused_with_a_reason(served):
    ws = await served.ws("not-a-token")
    await ws.expect("error", code="invalid_token")
    code, reason = await ws.closed()
    assert code == protocol.CLOSE_UNAUTHORIZED and reason == "invalid_token"
