"""Likes and replies over HTTP: idempotency, exact counters, liked_by_me, deleted parents."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from bson import ObjectId


async def tweet(client: httpx.AsyncClient, tweet_id: str, user: Any = None) -> dict[str, Any]:
    r = await client.get(f"/tweets/{tweet_id}", headers=user.headers if user else {})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_like_is_idempotent_and_sets_liked_by_me(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    t = await make_tweet(alice)
    for _ in range(2):
        r = await client.post(f"/tweets/{t['tweet_id']}/likes", headers=bob.headers)
        assert r.status_code == 200, r.text
        assert r.json()["like_count"] == 1 and r.json()["liked_by_me"] is True
    assert (await tweet(client, t["tweet_id"], bob))["liked_by_me"] is True
    assert (await tweet(client, t["tweet_id"], alice))["liked_by_me"] is False
    assert (await tweet(client, t["tweet_id"]))["liked_by_me"] is None
    r = await client.get(f"/users/{alice.id}/tweets", headers=bob.headers)
    assert [x["liked_by_me"] for x in r.json()["items"]] == [True]
    r = await client.get(f"/tweets/{t['tweet_id']}/likes")
    assert [u["user_id"] for u in r.json()["items"]] == [bob.id]

    for _ in range(2):
        r = await client.delete(f"/tweets/{t['tweet_id']}/likes", headers=bob.headers)
        assert r.status_code == 200
        assert r.json()["like_count"] == 0 and r.json()["liked_by_me"] is False
    r = await client.get(f"/tweets/{t['tweet_id']}/likes")
    assert r.json()["items"] == []


async def test_like_unknown_or_deleted_tweet(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    alice = await make_user()
    for bad in (str(ObjectId()), "not-an-id"):
        r = await client.post(f"/tweets/{bad}/likes", headers=alice.headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "tweet_not_found"
        assert (await client.get(f"/tweets/{bad}/likes")).status_code == 404
    t = await make_tweet(alice)
    assert (
        await client.delete(f"/tweets/{t['tweet_id']}", headers=alice.headers)
    ).status_code == 204
    r = await client.post(f"/tweets/{t['tweet_id']}/likes", headers=alice.headers)
    assert r.status_code == 404
    assert (await client.post(f"/tweets/{t['tweet_id']}/likes")).status_code == 401


async def test_like_count_exact_under_concurrency(
    client: httpx.AsyncClient, make_user: Any, make_users: Any, make_tweet: Any
) -> None:
    author = await make_user()
    t = await make_tweet(author)
    fans = await make_users(55)
    url = f"/tweets/{t['tweet_id']}/likes"
    codes = await asyncio.gather(*(client.post(url, headers=f.headers) for f in fans + fans))
    assert {c.status_code for c in codes} == {200}
    assert (await tweet(client, t["tweet_id"]))["like_count"] == 55
    gone = fans[:25]
    codes = await asyncio.gather(*(client.delete(url, headers=f.headers) for f in gone + gone))
    assert {c.status_code for c in codes} == {200}
    assert (await tweet(client, t["tweet_id"]))["like_count"] == 30
    r = await client.get(url, params={"limit": 100})
    assert len(r.json()["items"]) == 30


async def test_like_rate_limit(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any
) -> None:
    svc.settings.rate_limit_like = "2/minute"
    alice, bob = await make_user(), await make_user()
    ts = [await make_tweet(alice, f"tweet {i}") for i in range(3)]
    for t in ts[:2]:
        assert (
            await client.post(f"/tweets/{t['tweet_id']}/likes", headers=bob.headers)
        ).status_code == 200
    r = await client.post(f"/tweets/{ts[2]['tweet_id']}/likes", headers=bob.headers)
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    assert (await tweet(client, ts[2]["tweet_id"]))["like_count"] == 0


async def test_replies_count_list_and_survive_parent_deletion(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    parent = await make_tweet(alice, "parent")
    pid = parent["tweet_id"]
    made = []
    for i in range(3):
        r = await client.post(f"/tweets/{pid}/comments", json={"content": f"reply **{i}**"},
                              headers=bob.headers)  # fmt: skip
        assert r.status_code == 201, r.text
        assert r.json()["in_reply_to"] == pid and "<strong>" in r.json()["html"]
        made.append(r.json()["tweet_id"])
    assert (await tweet(client, pid))["reply_count"] == 3
    r = await client.get(f"/tweets/{pid}/comments", params={"limit": 2})
    assert [x["tweet_id"] for x in r.json()["items"]] == made[:2]
    r = await client.get(f"/tweets/{pid}/comments", params={"cursor": r.json()["next_cursor"]})
    assert [x["tweet_id"] for x in r.json()["items"]] == made[2:]

    # A reply is a tweet: it can be liked and replied to.
    r = await client.post(f"/tweets/{made[0]}/likes", headers=alice.headers)
    assert r.json()["like_count"] == 1
    r = await client.post(
        f"/tweets/{made[0]}/comments", json={"content": "nested"}, headers=alice.headers
    )
    assert r.status_code == 201
    assert (await tweet(client, made[0]))["reply_count"] == 1

    # Deleting a reply lowers the parent's count.
    assert (await client.delete(f"/tweets/{made[2]}", headers=bob.headers)).status_code == 204
    assert (await tweet(client, pid))["reply_count"] == 2

    # Deleting the parent keeps the replies readable, marked.
    assert (await client.delete(f"/tweets/{pid}", headers=alice.headers)).status_code == 204
    assert (await tweet(client, made[0]))["parent_deleted"] is True
    r = await client.get(f"/tweets/{pid}/comments")
    assert r.status_code == 200 and [x["tweet_id"] for x in r.json()["items"]] == made[:2]
    r = await client.post(f"/tweets/{pid}/comments", json={"content": "late"}, headers=bob.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "tweet_not_found"


async def test_reply_bad_input(client: httpx.AsyncClient, make_user: Any, make_tweet: Any) -> None:
    alice = await make_user()
    pid = (await make_tweet(alice))["tweet_id"]
    r = await client.post(
        f"/tweets/{pid}/comments", json={"content": "x" * 281}, headers=alice.headers
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "tweet_too_long"
    r = await client.post(
        f"/tweets/{pid}/comments", json={"content": "hi", "x": 1}, headers=alice.headers
    )
    assert r.status_code == 422
    r = await client.post(
        f"/tweets/{ObjectId()}/comments", json={"content": "hi"}, headers=alice.headers
    )
    assert r.status_code == 404
    assert (await client.get(f"/tweets/{ObjectId()}/comments")).status_code == 404
    assert (await tweet(client, pid))["reply_count"] == 0


async def test_reply_count_exact_under_concurrency(
    client: httpx.AsyncClient, make_user: Any, make_users: Any, make_tweet: Any
) -> None:
    author = await make_user()
    pid = (await make_tweet(author))["tweet_id"]
    fans = await make_users(50)
    codes = await asyncio.gather(
        *(
            client.post(f"/tweets/{pid}/comments", json={"content": "me too"}, headers=f.headers)
            for f in fans
        )  # fmt: skip
    )
    assert {c.status_code for c in codes} == {201}
    assert (await tweet(client, pid))["reply_count"] == 50
