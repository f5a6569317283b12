"""Deleting one's own account: gone at once, and every counter on everyone else exact once
the outbox worker has removed what it owned."""

from __future__ import annotations

from typing import Any

import httpx
from bson import ObjectId

from tests.conftest import TestUser


async def _counts(client: httpx.AsyncClient, user: TestUser) -> tuple[int, int, int]:
    body = (await client.get(f"/users/{user.id}")).json()
    return body["follower_count"], body["following_count"], body["tweet_count"]


async def _delete(client: httpx.AsyncClient, user: TestUser, password: str) -> httpx.Response:
    return await client.request(
        "DELETE", "/users/me", json={"password": password}, headers=user.headers
    )


async def test_deleting_an_account_leaves_every_counter_exact(
    app: Any, client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    alice, bob, carol = await make_user("alice"), await make_user(), await make_user()
    bobs = await make_tweet(bob, "bob's #news")
    carols = await make_tweet(carol, "carol's")
    mine = await make_tweet(alice, "alice's #news")
    await make_tweet(alice, "another")
    r = await client.post(
        f"/tweets/{bobs['tweet_id']}/comments", json={"content": "a reply"}, headers=alice.headers
    )
    assert r.status_code == 201
    for tid in (bobs["tweet_id"], carols["tweet_id"]):
        assert (await client.post(f"/tweets/{tid}/likes", headers=alice.headers)).status_code == 200
    assert (
        await client.post(f"/tweets/{mine['tweet_id']}/likes", headers=bob.headers)
    ).status_code == 200
    assert (await client.post(f"/users/{bob.id}/follow", headers=alice.headers)).status_code == 200
    assert (
        await client.post(f"/users/{alice.id}/follow", headers=carol.headers)
    ).status_code == 200
    assert (await client.post(f"/users/{carol.id}/follow", headers=bob.headers)).status_code == 200
    assert await _counts(client, bob) == (1, 1, 1)
    assert (await client.get(f"/tweets/{bobs['tweet_id']}")).json()["reply_count"] == 1

    wrong = await _delete(client, alice, "not my password")
    assert wrong.status_code == 401
    assert (await client.get(f"/users/{alice.id}")).status_code == 200  # nothing happened

    assert (await _delete(client, alice, alice.password)).status_code == 204
    # Gone at once: the profile, the session, the name; the address is free.
    assert (await client.get(f"/users/{alice.id}")).status_code == 404
    assert (await client.get("/users/by-name/alice")).status_code == 404
    assert (await client.get("/users/me", headers=alice.headers)).status_code == 401
    r = await client.post("/auth/login", json={"user_name": "alice", "password": alice.password})
    assert r.status_code == 401
    again = {"user_name": "alice", "email": "new@example.com", "password": "a fresh passphrase"}
    assert (await client.post("/auth/user/signup", json=again)).status_code == 409
    elsewhere = {"user_name": "alice2", "email": alice.email, "password": "a fresh passphrase"}
    assert (await client.post("/auth/user/signup", json=elsewhere)).status_code == 201

    # Everyone else's counters, as the stored edges say.
    assert await _counts(client, bob) == (0, 1, 1)
    assert await _counts(client, carol) == (1, 0, 1)
    bob_tweet = (await client.get(f"/tweets/{bobs['tweet_id']}")).json()
    assert (bob_tweet["like_count"], bob_tweet["reply_count"]) == (0, 0)
    assert (await client.get(f"/tweets/{carols['tweet_id']}")).json()["like_count"] == 0
    assert (await client.get(f"/tweets/{mine['tweet_id']}")).status_code == 404
    assert (await client.get(f"/tweets/{bobs['tweet_id']}/comments")).json()["items"] == []
    assert (await client.get("/tags/news/tweets")).json()["items"][0]["tweet_id"] == bobs[
        "tweet_id"
    ]
    assert [t["count"] for t in (await client.get("/tags/trending")).json()["items"]] == [1]
    assert (await client.get("/search/tweets", params={"q": "another"})).json()["items"] == []
    notes = (await client.get("/notifications", headers=bob.headers)).json()["items"]
    assert alice.id not in {n["actor_id"] for n in notes}
    home = (await client.get("/tweets/following", headers=carol.headers)).json()["items"]
    assert alice.id not in {t["user_id"] for t in home}
    # Its tweet count went with it (and was not made again by the counts taken back).
    db = app.state.services.db
    assert await db.user_stats.find_one({"_id": ObjectId(alice.id)}) is None
    assert await db.user_stats.find_one({"_id": ObjectId(bob.id)}) is not None
