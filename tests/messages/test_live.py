"""The ``messages`` stream over a real socket: new messages and read receipts reach every
participant and nobody else, replay after a disconnect exactly once and in order (memory and
Redis logs), and typing indicators are live only and rate-limited."""

from __future__ import annotations

from typing import Any

import httpx

from tests.realtime.conftest import settle_all


async def _post(http: httpx.AsyncClient, user: Any, path: str, body: Any = None) -> Any:
    r = await http.post(path, json=body, headers=user.headers)
    assert r.status_code in (200, 201, 204), r.text
    return r.json() if r.content else None


async def _conversation(http: httpx.AsyncClient, starter: Any, *others: Any) -> str:
    body = {"participant_ids": [o.id for o in others]}
    return str((await _post(http, starter, "/conversations", body))["conversation_id"])


async def test_messages_and_receipts_reach_participants_only(served, client, make_user):
    alice, bob, eve = await make_user(), await make_user(), await make_user()
    cid = await _conversation(client, alice, bob)
    sockets = {}
    for user in (alice, bob, eve):
        sockets[user.id] = ws = await served.ws(user.access_token)
        await ws.subscribe("messages")
    m = await _post(client, alice, f"/conversations/{cid}/messages", {"content": "*hi* bob"})
    for user in (alice, bob):
        frame = await sockets[user.id].expect("event", stream="messages", event="message.created")
        assert frame["data"] == m
    await _post(client, bob, f"/conversations/{cid}/read", {"up_to_id": m["message_id"]})
    for user in (alice, bob):
        frame = await sockets[user.id].expect("event", event="conversation.read")
        receipt = {"conversation_id": cid, "reader_id": bob.id, "up_to_id": m["message_id"]}
        assert frame["data"] == receipt
    # Eve, outside, heard nothing, and typing into it from her socket tells nobody anything.
    await sockets[eve.id].send({"type": "typing", "conversation_id": cid})
    await sockets[eve.id].quiet()
    await sockets[bob.id].quiet(0.1)
    # A block stops messages, so none is sent that a socket could carry.
    await _post(client, bob, f"/users/{alice.id}/block")
    r = await client.post(f"/conversations/{cid}/messages", json={"content": "x"},
                          headers=alice.headers)  # fmt: skip
    assert r.status_code == 403
    await sockets[bob.id].quiet(0.1)
    for ws in sockets.values():
        await ws.close()


async def test_typing_is_live_only_rate_limited_and_not_replayed(served, client, make_user):
    alice, bob = await make_user(), await make_user()
    cid = await _conversation(client, alice, bob)
    ws_bob = await served.ws(bob.access_token)
    await ws_bob.subscribe("messages")
    await _post(client, alice, f"/conversations/{cid}/messages", {"content": "one"})
    mark = (await ws_bob.expect("event", event="message.created"))["id"]

    ws_alice = await served.ws(alice.access_token)
    await ws_alice.send({"type": "typing", "conversation_id": cid})
    frame = await ws_bob.expect("event", stream="messages", event="conversation.typing")
    assert frame["data"] == {"conversation_id": cid, "sender_id": alice.id,
                             "sender_name": alice.user_name}  # fmt: skip
    assert frame["id"].startswith("t")  # not a position to resume from
    # Again within 2 s from the same socket: dropped. Over REST: one per 2 s per user.
    await ws_alice.send({"type": "typing", "conversation_id": cid})
    await ws_bob.quiet()
    r = await client.post(f"/conversations/{cid}/typing", headers=alice.headers)
    assert r.status_code == 204
    await ws_bob.expect("event", event="conversation.typing")
    r = await client.post(f"/conversations/{cid}/typing", headers=alice.headers)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    await ws_bob.quiet(0.1)
    # A message after the typing is still delivered: typing moved no position.
    second = await _post(client, alice, f"/conversations/{cid}/messages", {"content": "two"})
    await ws_bob.expect("event", event="message.created")
    await ws_bob.close()

    # Resuming from the first message gives the second, and none of the typing between.
    ws_bob = await served.ws(bob.access_token)
    await ws_bob.subscribe("messages", since=mark)
    (frame,) = await ws_bob.events(1)
    assert frame["data"]["message_id"] == second["message_id"]
    await ws_bob.quiet()
    await ws_bob.close()
    await ws_alice.close()


async def test_replay_after_a_disconnect_is_exact_with_redis(apps, redis_server, make_user):
    (a,) = await apps(1, redis_url=redis_server.url)
    alice, bob = await make_user(), await make_user()
    async with httpx.AsyncClient(base_url=a.url) as http:
        cid = await _conversation(http, alice, bob)
        ws = await a.ws(bob.access_token)
        await ws.subscribe("messages")
        await _post(http, alice, f"/conversations/{cid}/messages", {"content": "m0"})
        last = (await ws.expect("event", event="message.created"))["id"]
        await _post(http, alice, f"/conversations/{cid}/typing")  # unlogged, even with Redis
        assert (await ws.expect("event", event="conversation.typing"))["id"].startswith("t")
        await ws.close()
        for i in range(1, 6):
            await _post(http, alice, f"/conversations/{cid}/messages", {"content": f"m{i}"})
        await settle_all()
        ws = await a.ws(bob.access_token)
        await ws.subscribe("messages", since=last)
        got = await ws.events(5)
        assert [f["data"]["content"] for f in got] == [f"m{i}" for i in range(1, 6)]
        ids = [f["id"] for f in got]
        assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
        # The live tail follows without a gap or a repeat.
        await _post(http, alice, f"/conversations/{cid}/messages", {"content": "live"})
        frame = await ws.expect("event", event="message.created")
        assert frame["data"]["content"] == "live"
        await ws.quiet()
        await ws.close()


async def test_a_block_before_the_worker_ran_keeps_the_message_off_the_socket(
    served, client, make_user, app
):
    alice, bob = await make_user(), await make_user()
    cid = await _conversation(client, alice, bob)
    ws = await served.ws(bob.access_token)
    await ws.subscribe("messages")
    svc = app.state.services
    worker = svc.outbox
    await worker.stop()
    svc.outbox = None  # the message stays pending while bob blocks alice
    try:
        await _post(client, alice, f"/conversations/{cid}/messages", {"content": "before"})
        await _post(client, bob, f"/users/{alice.id}/block")
    finally:
        svc.outbox = worker
    await worker.drain()
    await ws.quiet()
    # It was sent before the block: it stays in the history, and the list moved to it.
    r = await client.get(f"/conversations/{cid}", headers=bob.headers)
    assert r.json()["last_message"]["content"] == "before"
    await ws.close()


async def test_typing_frames_need_a_signed_in_socket_and_a_conversation_id(served, make_user):
    ws = await served.ws()
    await ws.send({"type": "typing", "conversation_id": "665f1c2b9a1e4c0012345678"})
    await ws.expect("error", code="unauthorized")
    await ws.send({"type": "typing"})
    error = await ws.expect("error", code="invalid_frame")
    assert "conversation_id" in error["message"]
    await ws.send({"type": "subscribe", "stream": "messages"})
    await ws.expect("error", code="unauthorized", stream="messages")
    await ws.close()
    # Signed in, a malformed or unknown conversation id: nothing happens, nothing is said.
    user = await make_user()
    ws = await served.ws(user.access_token)
    for cid in ("nope", "665f1c2b9a1e4c0012345678"):
        await ws.send({"type": "typing", "conversation_id": cid})
    await ws.quiet()
    await ws.close()


async def test_a_round_re_run_after_a_crash_announces_a_message_once(
    app, served, client, make_user, monkeypatch
):
    from server.store import messages as message_store
    from tests.test_outbox_recovery import die_before_recording

    alice, bob = await make_user(), await make_user()
    cid = await _conversation(client, alice, bob)
    ws = await served.ws(bob.access_token)
    await ws.subscribe("messages")
    worker = app.state.services.outbox
    await worker.stop()  # its rounds by hand: the first dies after announcing
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://murmur.test") as raw:
        await _post(raw, alice, f"/conversations/{cid}/messages", {"content": "just once"})
    await die_before_recording(worker, monkeypatch, message_store, "settle")
    await worker.drain()  # the round again, as the next worker runs it
    frame = await ws.expect("event", stream="messages", event="message.created")
    assert frame["data"]["content"] == "just once"
    await ws.quiet(0.3)  # and not a second time
    await ws.close()


async def test_read_receipts_skip_members_a_block_separates(served, client, make_user):
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    cid = await _conversation(client, alice, bob, carol)
    m = await _post(client, alice, f"/conversations/{cid}/messages", {"content": "hi all"})
    await _post(client, carol, f"/users/{bob.id}/block")  # carol and bob stay members
    sockets = {}
    for user in (alice, bob, carol):
        sockets[user.id] = ws = await served.ws(user.access_token)
        await ws.subscribe("messages")
    await _post(client, bob, f"/conversations/{cid}/read", {"up_to_id": m["message_id"]})
    for user in (alice, bob):
        frame = await sockets[user.id].expect("event", event="conversation.read")
        assert frame["data"]["reader_id"] == bob.id
    await sockets[carol.id].quiet(0.2)  # whom bob is blocked by hears nothing of his reading
    for ws in sockets.values():
        await ws.close()
