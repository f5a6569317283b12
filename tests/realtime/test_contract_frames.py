"""Every frame and event kind the server sends over a real socket matches /asyncapi.json."""

from __future__ import annotations

import httpx

from realtime import protocol
from tests.contract import SEEN, document


async def test_every_message_the_server_sends_matches_the_document(apps, make_user):
    """Drive every event and frame kind over a real socket; WsClient checks each frame
    against /asyncapi.json and the event models, and records what it saw."""
    # A short replay log, so an old ``since`` is provably too old: resync.
    (served,) = await apps(1, ws_log_max_entries=2)
    async with httpx.AsyncClient(base_url=served.url) as client:
        await _every_frame(served, client, make_user)
    sent = {ref["$ref"].rsplit("/", 1)[1] for op in document()["operations"].values()
            if op["action"] == "send" for ref in op["messages"]}  # fmt: skip
    assert SEEN == sent


async def _every_frame(served, client, make_user):
    SEEN.clear()
    author, fan = await make_user(), await make_user()
    ws = await served.ws(fan.access_token)
    for stream in ("home", "notifications", "public"):
        await ws.subscribe(stream)
    await ws.send({"type": "ping"})
    await ws.expect("pong")
    await ws.send({"type": "teleport"})
    await ws.expect("error", code=protocol.INVALID_FRAME)

    r = await client.post(f"/users/{fan.id}/follow", headers=author.headers)
    assert r.status_code == 200, r.text
    await ws.expect("event", stream="notifications", event="notification.created")
    assert (await client.post(f"/users/{author.id}/follow", headers=fan.headers)).status_code == 200
    r = await client.post("/tweets", json={"content": "contract"}, headers=author.headers)
    tid = r.json()["tweet_id"]
    assert {f["stream"] for f in await ws.events(2)} == {"home", "public"}
    await ws.send({"type": "unsubscribe", "stream": "public"})
    await ws.expect("unsubscribed", stream="public")
    await ws.subscribe(f"tweet:{tid}")
    r = await client.post(f"/tweets/{tid}/comments", json={"content": "r"}, headers=fan.headers)
    assert r.status_code == 201
    got = {f["event"] for f in await ws.events(3)}
    assert got == {"reply.created", "tweet.counts", "tweet.created"}
    r = await client.patch(f"/tweets/{tid}", json={"content": "contract 2"}, headers=author.headers)
    assert r.status_code == 200
    assert {f["event"] for f in await ws.events(2)} == {"tweet.updated"}
    assert (await client.delete(f"/tweets/{tid}", headers=author.headers)).status_code == 204
    assert {f["event"] for f in await ws.events(2)} == {"tweet.deleted"}
    await _direct_messages(ws, client, author, fan)
    await ws.close()
    # Three more notifications push the first out of the two-entry log.
    for _ in range(3):
        other = await make_user()
        r = await client.post(f"/users/{fan.id}/follow", headers=other.headers)
        assert r.status_code == 200, r.text
    ws = await served.ws(fan.access_token)
    await ws.send({"type": "subscribe", "stream": "notifications", "since": "1-0"})
    await ws.expect("subscribed", stream="notifications")
    await ws.expect("resync", stream="notifications")
    await ws.close()


async def _direct_messages(ws, client, author, fan):
    """A message, its read receipt and a typing indicator on the fan's ``messages`` stream."""
    await ws.subscribe("messages")
    body = {"participant_ids": [fan.id]}
    r = await client.post("/conversations", json=body, headers=author.headers)
    assert r.status_code == 201, r.text
    cid = r.json()["conversation_id"]
    r = await client.post(f"/conversations/{cid}/messages", json={"content": "dm"},
                          headers=author.headers)  # fmt: skip
    assert r.status_code == 201, r.text
    await ws.expect("event", stream="messages", event="message.created")
    r = await client.post(f"/conversations/{cid}/read", json={"up_to_id": r.json()["message_id"]},
                          headers=fan.headers)  # fmt: skip
    await ws.expect("event", stream="messages", event="conversation.read")
    assert (await client.post(f"/conversations/{cid}/typing", headers=author.headers)).is_success
    await ws.expect("event", stream="messages", event="conversation.typing")
