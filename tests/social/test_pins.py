"""Pins over HTTP: own tweets only, at most five (also under concurrency), idempotent,
listed with ?pinned=true, gone with their tweet, hidden across a block."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


async def pinned(client: httpx.AsyncClient, user: Any, reader: Any = None) -> list[str]:
    headers = reader.headers if reader else {}
    r = await client.get(f"/users/{user.id}/tweets", params={"pinned": "true"}, headers=headers)
    assert r.status_code == 200, r.text
    return [t["tweet_id"] for t in r.json()["items"]]


async def test_pins_are_own_at_most_five_and_listed_newest_first(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    mine = [await make_tweet(alice, f"tweet {n}") for n in range(7)]
    ids = [t["tweet_id"] for t in mine]
    codes = await asyncio.gather(
        *(client.post(f"/tweets/{i}/pin", headers=alice.headers) for i in ids + ids)
    )
    assert sorted({c.status_code for c in codes}) == [200, 422]
    too_many = [c for c in codes if c.status_code == 422]
    assert too_many[0].json()["error"]["code"] == "too_many_pins"
    shown = await pinned(client, alice)
    assert len(shown) == 5 and len(set(shown)) == 5
    # Pinning one again is fine (idempotent); unpinning frees a slot.
    assert (await client.post(f"/tweets/{shown[0]}/pin", headers=alice.headers)).status_code == 200
    for _ in range(2):
        r = await client.delete(f"/tweets/{shown[0]}/pin", headers=alice.headers)
        assert r.status_code == 200
    spare = next(i for i in ids if i not in shown)
    assert (await client.post(f"/tweets/{spare}/pin", headers=alice.headers)).status_code == 200
    assert (await pinned(client, alice))[0] == spare
    # Someone else's tweet cannot be pinned.
    r = await client.post(f"/tweets/{ids[0]}/pin", headers=bob.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_author"
    assert (await client.post(f"/tweets/{ids[0]}/pin")).status_code == 401
    r = await client.get(f"/users/{alice.id}/tweets", params={"pinned": "maybe"})
    assert r.status_code == 422


async def test_deleted_pins_go_and_blocks_hide_them(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    gone, kept = await make_tweet(alice), await make_tweet(alice)
    for t in (gone, kept):
        await client.post(f"/tweets/{t['tweet_id']}/pin", headers=alice.headers)
    await client.delete(f"/tweets/{gone['tweet_id']}", headers=alice.headers)
    assert await pinned(client, alice, bob) == [kept["tweet_id"]]
    await drain()
    assert await svc.db.pins.count_documents({"user_id": alice.id}) == 1
    await client.post(f"/users/{bob.id}/block", headers=alice.headers)
    assert await pinned(client, alice, bob) == []
    assert await pinned(client, alice) == [kept["tweet_id"]]
