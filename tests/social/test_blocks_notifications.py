"""Blocks, mutes and notifications over HTTP."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
from bson import ObjectId

from server.notifications import Wanted, notify_many
from server.social import hidden_authors
from server.store import users as user_store
from server.store.notifications import claim_many


async def home_ids(client: httpx.AsyncClient, user: Any) -> list[str]:
    r = await client.get("/tweets/following", params={"limit": 100}, headers=user.headers)
    assert r.status_code == 200, r.text
    return [t["tweet_id"] for t in r.json()["items"]]


async def notes(client: httpx.AsyncClient, user: Any, **params: Any) -> list[dict[str, Any]]:
    r = await client.get("/notifications", params=params, headers=user.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_block_removes_follows_and_forbids_interaction(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    await client.post(f"/users/{bob.id}/follow", headers=alice.headers)
    await client.post(f"/users/{alice.id}/follow", headers=bob.headers)
    t = await make_tweet(alice, "before the block")
    await drain()
    assert t["tweet_id"] in await home_ids(client, bob)

    r = await client.post(f"/users/{bob.id}/block", headers=alice.headers)
    assert r.status_code == 200 and r.json()["blocking"] is True
    assert r.json()["following"] is False and r.json()["followed_by"] is False
    await drain()
    for u in (alice, bob):
        p = (await client.get(f"/users/{u.id}")).json()
        assert p["follower_count"] == 0 and p["following_count"] == 0
    assert t["tweet_id"] not in await home_ids(client, bob)
    assert bob.id in await hidden_authors(svc, alice.id)
    assert alice.id in await hidden_authors(svc, bob.id)

    for method, path, body in (
        ("POST", f"/users/{alice.id}/follow", None),
        ("POST", f"/tweets/{t['tweet_id']}/likes", None),
        ("POST", f"/tweets/{t['tweet_id']}/comments", {"content": "hey"}),
    ):
        r = await client.request(method, path, json=body, headers=bob.headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == "blocked", path
    r = await client.post(f"/users/{bob.id}/follow", headers=alice.headers)
    assert r.status_code == 403
    # Mentions from a blocked user do not notify, and the follow from before is hidden.
    await make_tweet(bob, f"hello @{alice.user_name}")
    assert await notes(client, alice) == []

    r = await client.get("/users/me/blocks", headers=alice.headers)
    assert [u["user_id"] for u in r.json()["items"]] == [bob.id]
    r = await client.delete(f"/users/{bob.id}/block", headers=alice.headers)
    assert r.status_code == 200 and r.json()["blocking"] is False
    assert bob.id not in await hidden_authors(svc, alice.id)
    assert (await client.post(f"/users/{alice.id}/follow", headers=bob.headers)).status_code == 200


async def test_mute_hides_tweets_only(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, drain: Any
) -> None:
    reader, loud = await make_user(), await make_user()
    await client.post(f"/users/{loud.id}/follow", headers=reader.headers)
    t = await make_tweet(loud, "very loud")
    await drain()
    assert await home_ids(client, reader) == [t["tweet_id"]]
    for _ in range(2):
        r = await client.post(f"/users/{loud.id}/mute", headers=reader.headers)
        assert r.status_code == 200 and r.json()["muting"] is True
        assert r.json()["following"] is True  # nothing else changes
    assert await home_ids(client, reader) == []
    r = await client.get("/users/me/mutes", headers=reader.headers)
    assert [u["user_id"] for u in r.json()["items"]] == [loud.id]
    await client.delete(f"/users/{loud.id}/mute", headers=reader.headers)
    assert await home_ids(client, reader) == [t["tweet_id"]]


async def test_block_and_mute_bad_input(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user()
    for kind in ("block", "mute"):
        r = await client.post(f"/users/{alice.id}/{kind}", headers=alice.headers)
        assert r.status_code == 422 and r.json()["error"]["code"] == f"cannot_{kind}_self"
        r = await client.post(f"/users/{ObjectId()}/{kind}", headers=alice.headers)
        assert r.status_code == 404
        assert (await client.post(f"/users/{alice.id}/{kind}")).status_code == 401
    assert (await client.get("/users/me/blocks")).status_code == 401


async def test_notifications_kinds_dedupe_and_read(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, clock: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    t = await make_tweet(alice, "a tweet")
    tid = t["tweet_id"]
    await client.post(f"/users/{alice.id}/follow", headers=bob.headers)
    # Like, unlike, like within a minute: one notification.
    for method in ("POST", "DELETE", "POST"):
        await client.request(method, f"/tweets/{tid}/likes", headers=bob.headers)
    r = await client.post(f"/tweets/{tid}/comments", json={"content": "nice"}, headers=bob.headers)
    reply_id = r.json()["tweet_id"]
    await make_tweet(bob, f"cc @{alice.user_name}")
    # Acting on your own tweet notifies nobody.
    await client.post(f"/tweets/{tid}/likes", headers=alice.headers)
    await make_tweet(alice, f"note to self @{alice.user_name}")

    got = await notes(client, alice)
    assert [n["kind"] for n in got] == ["mention", "reply", "like", "follow"]
    assert {n["actor_id"] for n in got} == {bob.id}
    assert got[1]["tweet_id"] == reply_id and got[2]["tweet_id"] == tid
    assert await notes(client, bob) == []

    clock.advance(minutes=2)  # a minute later, a fresh like notifies again
    await client.delete(f"/tweets/{tid}/likes", headers=bob.headers)
    await client.post(f"/tweets/{tid}/likes", headers=bob.headers)
    r = await client.get("/notifications/unread-count", headers=alice.headers)
    assert r.json() == {"unread_count": 5}

    got = await notes(client, alice)
    assert [n["kind"] for n in got] == ["like", "mention", "reply", "like", "follow"]
    # Everything up to and including the reply (i.e. it and older) becomes read.
    r = await client.post("/notifications/read", json={"up_to_id": got[2]["notification_id"]},
                          headers=alice.headers)  # fmt: skip
    assert r.status_code == 200 and r.json() == {"unread_count": 2}
    unread = await notes(client, alice, unread_only="true")
    assert [n["kind"] for n in unread] == ["like", "mention"]
    assert [n["read"] for n in await notes(client, alice)] == [False, False, True, True, True]

    r = await client.post("/notifications/read", json={"up_to_id": "nope"}, headers=alice.headers)
    assert r.status_code == 404
    r = await client.post("/notifications/read", json={}, headers=alice.headers)
    assert r.status_code == 422
    r = await client.get("/notifications", params={"unread_only": "maybe"}, headers=alice.headers)
    assert r.status_code == 422
    assert (await client.get("/notifications")).status_code == 401


async def test_notification_dedupe_is_atomic(
    client: httpx.AsyncClient, make_user: Any, make_users: Any, make_tweet: Any, svc: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    tid = (await make_tweet(alice, "like me"))["tweet_id"]
    url = f"/tweets/{tid}/likes"
    # 60 simultaneous like / unlike / like from one user: one notification.
    methods = ["POST", "DELETE", "POST"] * 20
    results = await asyncio.gather(*(client.request(m, url, headers=bob.headers) for m in methods))
    assert {r.status_code for r in results} == {200}
    assert [(n["kind"], n["actor_id"]) for n in await notes(client, alice)] == [("like", bob.id)]
    # 50 users each like / unlike / like, all at once: one notification each.
    fans = await make_users(50)

    async def flip(fan: Any) -> None:
        for method in ("POST", "DELETE", "POST"):
            r = await client.request(method, url, headers=fan.headers)
            assert r.status_code == 200, r.text

    await asyncio.gather(*(flip(f) for f in fans))
    got = await notes(client, alice, limit=100)
    assert Counter(n["actor_id"] for n in got) == Counter([bob.id, *(f.id for f in fans)])
    # The store's claims directly: 50 simultaneous batches of claims all get the one
    # notification id per key, held or new alike.
    now = svc.clock()
    window = timedelta(minutes=1)
    first = await claim_many(svc.db, keys=["k"], now=now, window=window)
    won = await asyncio.gather(
        *(claim_many(svc.db, keys=["k", "k2"], now=now, window=window) for _ in range(50))
    )
    assert {w["k"] for w in won} == {first["k"]} and first["k"] is not None
    assert len({w["k2"] for w in won}) == 1 and None not in {w["k2"] for w in won}
    # Once the window has passed, a claim is new again.
    later = await claim_many(svc.db, keys=["k"], now=now + window, window=timedelta(0))
    assert later["k"] not in (None, first["k"])


async def test_a_batch_of_replies_and_mentions_notifies_each_once(
    client: httpx.AsyncClient, raw: Any, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    parent = await make_tweet(alice, "reply to me")
    # Written while the worker waits (a client that does not wait for the worker after each
    # write), so one round applies them all: one batch of notifications.
    async with svc.outbox.paused():
        for k in range(5):
            r = await raw.post(
                f"/tweets/{parent['tweet_id']}/comments",
                json={"content": f"reply {k} cc @{carol.user_name}"},
                headers=bob.headers,
            )
            assert r.status_code == 201, r.text
    await drain()
    got = await notes(client, alice, limit=100)
    assert sorted(n["kind"] for n in got) == ["reply"] * 5
    assert len({n["tweet_id"] for n in got}) == 5
    mentions = await notes(client, carol, limit=100)
    assert [n["kind"] for n in mentions] == ["mention"] * 5
    # A tweet's own notifications are kept to one each by a unique key, not by claims.
    assert await svc.db.notification_claims.count_documents({}) == 0
    # The worker retrying the same batch (killed before recording it) stores nothing new.
    actor = await user_store.by_id(svc.db, user_id=bob.id)
    assert actor is not None
    again = [Wanted(alice.id, "reply", actor, n["tweet_id"]) for n in got]
    assert await notify_many(svc, again) == []
    assert len(await notes(client, alice, limit=100)) == 5
