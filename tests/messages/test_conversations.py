"""Conversations over REST: who may start one, read it, write in it; paging, unread counts,
read receipts and leaving."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile

import pytest
from bson import ObjectId


@pytest.fixture
def settings(settings):
    # Groups of at most 3 here, so the limit is reached without 20 sign-ups.
    # A small message budget, so the per-user limit is reached quickly.
    return settings.model_copy(
        update={"conversation_max_participants": 3, "rate_limit_message": "6/minute"}
    )


async def test_a_conversation_is_one_per_set_of_people(client, make_user, open_conversation):
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    r = await client.post("/conversations", json={"participant_ids": [bob.id]},
                          headers=alice.headers)  # fmt: skip
    assert r.status_code == 201
    first = r.json()
    assert {p["user_id"] for p in first["participants"]} == {alice.id, bob.id}
    assert first["last_message"] is None and first["unread_count"] == 0
    # The same people, asked by the other side, listing the caller too and repeating: the same.
    r = await client.post("/conversations", json={"participant_ids": [alice.id, bob.id, alice.id]},
                          headers=bob.headers)  # fmt: skip
    assert r.status_code == 200 and r.json()["conversation_id"] == first["conversation_id"]
    group = await open_conversation(alice, carol, bob)
    assert group["conversation_id"] != first["conversation_id"]
    assert len(group["participants"]) == 3


async def test_simultaneous_creates_make_one_conversation(client, make_user):
    alice, bob = await make_user(), await make_user()

    async def start(me, other):
        r = await client.post("/conversations", json={"participant_ids": [other.id]},
                              headers=me.headers)  # fmt: skip
        return r.status_code, r.json()["conversation_id"]

    answers = await asyncio.gather(*(start(*pair) for pair in [(alice, bob), (bob, alice)] * 4))
    assert len({cid for _, cid in answers}) == 1
    assert sorted(status for status, _ in answers) == [200] * 7 + [201]


async def test_messages_render_markdown_page_newest_first_and_feed_the_list(
    client, make_user, open_conversation, send
):
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    pair = (await open_conversation(alice, bob))["conversation_id"]
    other = (await open_conversation(alice, carol))["conversation_id"]
    m = await send(alice, pair, "**hi** <script>alert(1)</script>")
    assert "<strong>hi</strong>" in m["html"] and "<script" not in m["html"]
    assert m["sender_id"] == alice.id and m["conversation_id"] == pair
    sent = [m["message_id"]] + [(await send(bob, pair, f"n{i}"))["message_id"] for i in range(4)]
    await send(alice, other, "newest activity")

    r = await client.get("/conversations", headers=alice.headers, params={"limit": 1})
    assert [c["conversation_id"] for c in r.json()["items"]] == [other]
    r = await client.get("/conversations", headers=alice.headers,
                         params={"limit": 1, "cursor": r.json()["next_cursor"]})  # fmt: skip
    (listed,) = r.json()["items"]
    assert listed["conversation_id"] == pair and listed["last_message"]["content"] == "n3"
    assert listed["unread_count"] == 4  # bob's four; alice's own never count
    r = await client.get("/conversations", headers=bob.headers)
    assert [c["unread_count"] for c in r.json()["items"]] == [0]  # sending reads the rest

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(f"/conversations/{pair}/messages", headers=bob.headers, params=params)
        assert r.status_code == 200, r.text
        seen += [x["message_id"] for x in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sent[::-1]
    # Never in search, trends or a public timeline.
    await send(alice, pair, "zebracorn #secretdm")
    r = await client.post("/tweets", json={"content": "a public zebracorn"}, headers=bob.headers)
    assert r.status_code == 201
    r = await client.get("/search/tweets", params={"q": "zebracorn"}, headers=alice.headers)
    assert [t["content"] for t in r.json()["items"]] == ["a public zebracorn"]
    r = await client.get("/tweets", headers=alice.headers)
    assert [t["content"] for t in r.json()["items"]] == ["a public zebracorn"]
    r = await client.get("/tags/trending")
    assert r.status_code == 200 and "secretdm" not in r.text
    r = await client.get("/tags/secretdm/tweets")
    assert r.json()["items"] == []


async def test_read_markers_and_unread_counts(client, make_user, open_conversation, send):
    alice, bob = await make_user(), await make_user()
    cid = (await open_conversation(alice, bob))["conversation_id"]
    ids = [(await send(bob, cid, f"m{i}"))["message_id"] for i in range(3)]
    r = await client.post(f"/conversations/{cid}/read", json={"up_to_id": ids[0]},
                          headers=alice.headers)  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["unread_count"] == 2 and r.json()["read"][alice.id] == ids[0]
    r = await client.post(f"/conversations/{cid}/read", json={"up_to_id": ids[2]},
                          headers=alice.headers)  # fmt: skip
    assert r.json()["unread_count"] == 0
    # Never backwards.
    r = await client.post(f"/conversations/{cid}/read", json={"up_to_id": ids[1]},
                          headers=alice.headers)  # fmt: skip
    assert r.json()["read"][alice.id] == ids[2] and r.json()["unread_count"] == 0
    # Bob sees alice's receipt in the conversation.
    r = await client.get(f"/conversations/{cid}", headers=bob.headers)
    assert r.json()["read"] == {alice.id: ids[2], bob.id: ids[2]}
    # A message id of another conversation, or of nothing: 404.
    carol = await make_user()
    elsewhere = (await open_conversation(carol, alice))["conversation_id"]
    foreign = (await send(carol, elsewhere, "x"))["message_id"]
    for bad in (foreign, str(ObjectId()), "nope"):
        r = await client.post(f"/conversations/{cid}/read", json={"up_to_id": bad},
                              headers=alice.headers)  # fmt: skip
        assert r.status_code == 404 and r.json()["error"]["code"] == "message_not_found"


async def test_outsiders_get_404_on_every_route(client, make_user, open_conversation, send):
    alice, bob, eve = await make_user(), await make_user(), await make_user()
    cid = (await open_conversation(alice, bob))["conversation_id"]
    mid = (await send(alice, cid, "private"))["message_id"]
    for who in (eve, None):
        headers = who.headers if who else {}
        calls = [
            ("GET", f"/conversations/{cid}", None),
            ("GET", f"/conversations/{cid}/messages", None),
            ("POST", f"/conversations/{cid}/messages", {"content": "let me in"}),
            ("POST", f"/conversations/{cid}/read", {"up_to_id": mid}),
            ("POST", f"/conversations/{cid}/typing", None),
            ("DELETE", f"/conversations/{cid}/participants/me", None),
        ]
        for method, path, body in calls:
            r = await client.request(method, path, json=body, headers=headers)
            expected = 404 if who else 401
            assert r.status_code == expected, (method, path, r.text)
            if who:
                assert r.json()["error"]["code"] == "conversation_not_found"
    r = await client.get("/conversations", headers=eve.headers)
    assert r.json()["items"] == []
    for bad in ("nope", str(ObjectId())):
        r = await client.get(f"/conversations/{bad}", headers=alice.headers)
        assert r.status_code == 404


async def test_leaving(client, make_user, open_conversation, send):
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    cid = (await open_conversation(alice, bob, carol))["conversation_id"]
    await send(alice, cid, "before")
    r = await client.delete(f"/conversations/{cid}/participants/me", headers=carol.headers)
    assert r.status_code == 204
    assert (await client.get(f"/conversations/{cid}", headers=carol.headers)).status_code == 404
    assert (await client.get("/conversations", headers=carol.headers)).json()["items"] == []
    r = await client.get(f"/conversations/{cid}", headers=alice.headers)
    assert {p["user_id"] for p in r.json()["participants"]} == {alice.id, bob.id}
    # Asking for the same people again brings the caller back in.
    again = await open_conversation(carol, alice, bob)
    assert again["conversation_id"] == cid and len(again["participants"]) == 3


async def test_blocks_either_way_stop_new_conversations_and_messages(
    client, make_user, open_conversation, send
):
    alice, bob = await make_user(), await make_user()
    cid = (await open_conversation(alice, bob))["conversation_id"]
    await send(bob, cid, "hello")
    assert (await client.post(f"/users/{bob.id}/block", headers=alice.headers)).status_code == 200
    for sender, other in ((alice, bob), (bob, alice)):
        r = await client.post(f"/conversations/{cid}/messages", json={"content": "x"},
                              headers=sender.headers)  # fmt: skip
        assert r.status_code == 403 and r.json()["error"]["code"] == "blocked"
        r = await client.post("/conversations", json={"participant_ids": [other.id]},
                              headers=sender.headers)  # fmt: skip
        assert r.status_code == 403 and r.json()["error"]["code"] == "blocked"
    # History stays readable to both.
    r = await client.get(f"/conversations/{cid}/messages", headers=alice.headers)
    assert [m["content"] for m in r.json()["items"]] == ["hello"]
    assert (await client.delete(f"/users/{bob.id}/block", headers=alice.headers)).status_code == 200
    await send(bob, cid, "again")


async def test_dm_policy_following(client, make_user, open_conversation, send):
    alice, bob = await make_user(), await make_user()
    cid = (await open_conversation(alice, bob))["conversation_id"]
    r = await client.patch("/users/me", json={"dm_policy": "following"}, headers=bob.headers)
    assert r.status_code == 200 and r.json()["dm_policy"] == "following"
    assert (await client.get("/users/me", headers=bob.headers)).json()["dm_policy"] == "following"
    r = await client.post(f"/conversations/{cid}/messages", json={"content": "hi"},
                          headers=alice.headers)  # fmt: skip
    assert r.status_code == 403 and r.json()["error"]["code"] == "dm_not_allowed"
    r = await client.post("/conversations", json={"participant_ids": [bob.id]},
                          headers=alice.headers)  # fmt: skip
    assert r.status_code == 403 and r.json()["error"]["code"] == "dm_not_allowed"
    # Bob may still write to alice, and once he follows her she may write to him.
    await send(bob, cid, "I can")
    assert (await client.post(f"/users/{alice.id}/follow", headers=bob.headers)).status_code == 200
    await send(alice, cid, "now I can too")
    for bad in ({"dm_policy": "nobody"}, {"dm_policy": None}):
        r = await client.patch("/users/me", json=bad, headers=bob.headers)
        if bad["dm_policy"] is None:
            assert r.status_code == 200 and r.json()["dm_policy"] == "following"
        else:
            assert r.status_code == 422, r.text


async def test_idempotent_send(client, make_user, open_conversation, send):
    alice, bob = await make_user(), await make_user()
    cid = (await open_conversation(alice, bob))["conversation_id"]
    first = await send(alice, cid, "once", **{"Idempotency-Key": "k1"})
    again = await send(alice, cid, "once", **{"Idempotency-Key": "k1"})
    assert again["message_id"] == first["message_id"]
    r = await client.get(f"/conversations/{cid}/messages", headers=bob.headers)
    assert len(r.json()["items"]) == 1
    # The same key for another conversation is a client bug, not a retry: 409, nothing sent.
    other = (await open_conversation(alice, await make_user()))["conversation_id"]
    r = await client.post(f"/conversations/{other}/messages", json={"content": "once"},
                          headers={**alice.headers, "Idempotency-Key": "k1"})  # fmt: skip
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_key_reused"
    r = await client.get(f"/conversations/{other}/messages", headers=alice.headers)
    assert r.json()["items"] == []


async def test_bad_input_is_a_4xx_json_error(client, make_user, open_conversation):
    alice, bob = await make_user(), await make_user()
    cid = (await open_conversation(alice, bob))["conversation_id"]
    h = alice.headers
    cases = [
        ("/conversations", {"participant_ids": []}, 422),
        ("/conversations", {"participant_ids": [alice.id]}, 422),
        ("/conversations", {"participant_ids": [str(ObjectId())]}, 404),
        ("/conversations", {"participant_ids": ["nope"]}, 404),
        ("/conversations", {"participant_ids": [str(ObjectId()) for _ in range(21)]}, 422),
        ("/conversations", {"participant_ids": [bob.id], "x": 1}, 422),
        (f"/conversations/{cid}/messages", {"content": "   "}, 422),
        (f"/conversations/{cid}/messages", {"content": "x" * 1001}, 422),
        (f"/conversations/{cid}/messages", {"content": ""}, 422),
        (f"/conversations/{cid}/messages", {}, 422),
        (f"/conversations/{cid}/read", {}, 422),
    ]
    for path, body, status in cases:
        r = await client.post(path, json=body, headers=h)
        assert r.status_code == status, (path, body, r.text)
        assert set(r.json()["error"]) >= {"code", "message"}
    # CONVERSATION_MAX_PARTICIPANTS (here 3) people, the caller included, is the most.
    many = [bob, await make_user(), await make_user()]
    r = await client.post("/conversations", json={"participant_ids": [u.id for u in many]},
                          headers=h)  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_many_participants"
    r = await client.post(f"/conversations/{cid}/messages", content=b"{", headers={
        **h, "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 400
    # Nothing half-written: still no message.
    r = await client.get(f"/conversations/{cid}/messages", headers=h)
    assert r.json()["items"] == []


async def test_a_deleted_account_leaves_its_conversations(
    client, make_user, open_conversation, send
):
    alice, bob = await make_user(), await make_user()
    cid = (await open_conversation(alice, bob))["conversation_id"]
    await send(bob, cid, "bye")
    r = await client.request("DELETE", "/users/me", json={"password": bob.password},
                             headers=bob.headers)  # fmt: skip
    assert r.status_code in (200, 202, 204), r.text
    r = await client.get(f"/conversations/{cid}", headers=alice.headers)
    assert [p["user_id"] for p in r.json()["participants"]] == [alice.id]
    r = await client.get(f"/conversations/{cid}/messages", headers=alice.headers)
    assert [m["content"] for m in r.json()["items"]] == ["bye"]


async def test_messages_are_rate_limited_per_sender(client, make_user, open_conversation, send):
    alice, bob = await make_user(), await make_user()
    cid = (await open_conversation(alice, bob))["conversation_id"]
    for i in range(6):
        await send(alice, cid, f"m{i}")
    r = await client.post(f"/conversations/{cid}/messages", json={"content": "one more"},
                          headers=alice.headers)  # fmt: skip
    assert r.status_code == 429 and "Retry-After" in r.headers
    await send(bob, cid, "bob has his own budget")


async def test_the_export_holds_the_messages_one_sent(client, make_user, open_conversation, send):
    alice, bob = await make_user(), await make_user()
    cid = (await open_conversation(alice, bob))["conversation_id"]
    mine = await send(alice, cid, "mine, **exported**")
    await send(bob, cid, "bob's own, not in alice's export")
    r = await client.get("/users/me/export", headers=alice.headers)
    z = zipfile.ZipFile(io.BytesIO(r.content))
    (exported,) = json.loads(z.read("messages.json"))
    assert exported["message_id"] == mine["message_id"] and exported["conversation_id"] == cid
    assert exported["markdown"] == "mine, **exported**" and "<strong>" in exported["html"]
    assert "messages.json" in z.read("README.txt").decode()


async def test_typing_rate_limit_is_per_conversation_however_its_id_is_spelled(
    client, make_user, open_conversation
):
    alice, bob = await make_user(), await make_user()
    cid = (await open_conversation(alice, bob))["conversation_id"]
    r = await client.post(f"/conversations/{cid}/typing", headers=alice.headers)
    assert r.status_code == 204
    # The same conversation, its hex id in capitals: the same budget, already spent.
    r = await client.post(f"/conversations/{cid.upper()}/typing", headers=alice.headers)
    assert r.status_code == 429, r.text


async def test_suspended_people_cannot_be_added(app, client, make_user, open_conversation):
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    await app.state.services.db.users.update_one({"_id": ObjectId(carol.id)},
                                                 {"$set": {"suspended": True}})  # fmt: skip
    r = await client.post("/conversations", json={"participant_ids": [bob.id, carol.id]},
                          headers=alice.headers)  # fmt: skip
    assert r.status_code == 404 and r.json()["error"]["code"] == "user_not_found"
    assert r.json()["error"]["details"] == [{"user_ids": [carol.id]}]
    assert (await open_conversation(alice, bob))["conversation_id"]
