"""``Idempotency-Key`` on POST /tweets and on replies: a retry returns the first result."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


async def test_concurrent_retries_with_one_key_post_one_tweet(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    headers = {**alice.headers, "Idempotency-Key": "9f1c-retry"}
    results = await asyncio.gather(
        *(client.post("/tweets", json={"content": "only once"}, headers=headers) for _ in range(8))
    )
    assert {r.status_code for r in results} == {201}
    assert len({r.json()["tweet_id"] for r in results}) == 1
    mine = (await client.get(f"/users/{alice.id}/tweets")).json()["items"]
    assert [t["content"] for t in mine] == ["only once"]
    assert (await client.get(f"/users/{alice.id}")).json()["tweet_count"] == 1
    # The key is per user: someone else's identical key is their own post.
    r = await client.post(
        "/tweets",
        json={"content": "mine"},
        headers={**bob.headers, "Idempotency-Key": "9f1c-retry"},
    )
    assert r.status_code == 201 and r.json()["tweet_id"] != results[0].json()["tweet_id"]
    # Without a key, the same text posts again.
    r = await client.post("/tweets", json={"content": "only once"}, headers=alice.headers)
    assert r.status_code == 201 and r.json()["tweet_id"] != results[0].json()["tweet_id"]


async def test_a_reply_retried_with_its_key_is_one_reply(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    parent = await make_tweet(alice, "ask me")
    url = f"/tweets/{parent['tweet_id']}/comments"
    headers = {**bob.headers, "Idempotency-Key": "reply-1"}
    first = await client.post(url, json={"content": "an answer"}, headers=headers)
    again = await client.post(url, json={"content": "an answer"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["tweet_id"] == again.json()["tweet_id"]
    got = await client.get(f"/tweets/{parent['tweet_id']}")
    assert got.json()["reply_count"] == 1


async def test_a_malformed_key_is_a_422(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user()
    r = await client.post(
        "/tweets", json={"content": "x"}, headers={**alice.headers, "Idempotency-Key": "k" * 256}
    )
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_idempotency_key"
    assert (await client.get(f"/users/{alice.id}/tweets")).json()["items"] == []
