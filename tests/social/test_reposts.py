"""Reposts over HTTP: idempotency, an exact counter under concurrency, reposted_by_me,
the notification, the live counts, blocks and deletes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from bson import ObjectId

from realtime.channels import notifications_stream, tweet_stream

from .test_events import Recorder


async def tweet(client: httpx.AsyncClient, tweet_id: str, user: Any = None) -> dict[str, Any]:
    r = await client.get(f"/tweets/{tweet_id}", headers=user.headers if user else {})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def notes(client: httpx.AsyncClient, user: Any) -> list[dict[str, Any]]:
    r = await client.get("/notifications", headers=user.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_repost_is_idempotent_sets_reposted_by_me_and_notifies_once(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    t = await make_tweet(alice)
    url = f"/tweets/{t['tweet_id']}/repost"
    for _ in range(2):
        r = await client.post(url, headers=bob.headers)
        assert r.status_code == 200, r.text
        assert r.json()["repost_count"] == 1 and r.json()["reposted_by_me"] is True
    assert (await tweet(client, t["tweet_id"], bob))["reposted_by_me"] is True
    assert (await tweet(client, t["tweet_id"], alice))["reposted_by_me"] is False
    assert (await tweet(client, t["tweet_id"]))["reposted_by_me"] is None
    assert [n["kind"] for n in await notes(client, alice)] == ["repost"]
    for _ in range(2):
        r = await client.delete(url, headers=bob.headers)
        assert r.status_code == 200
        assert r.json()["repost_count"] == 0 and r.json()["reposted_by_me"] is False
    # Reposting again within the window does not notify twice (deduplicated like likes).
    assert (await client.post(url, headers=bob.headers)).status_code == 200
    assert [n["kind"] for n in await notes(client, alice)] == ["repost"]
    assert (await tweet(client, t["tweet_id"]))["repost_count"] == 1


async def test_reposting_own_tweet_is_allowed_and_not_notified(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    alice = await make_user()
    t = await make_tweet(alice)
    r = await client.post(f"/tweets/{t['tweet_id']}/repost", headers=alice.headers)
    assert r.status_code == 200 and r.json()["repost_count"] == 1
    assert await notes(client, alice) == []


async def test_repost_bad_inputs(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    for bad in (str(ObjectId()), "not-an-id"):
        for method in ("POST", "DELETE"):
            r = await client.request(method, f"/tweets/{bad}/repost", headers=alice.headers)
            assert r.status_code == 404 and r.json()["error"]["code"] == "tweet_not_found"
    t = await make_tweet(alice)
    assert (await client.post(f"/tweets/{t['tweet_id']}/repost")).status_code == 401
    assert (await client.delete(f"/tweets/{t['tweet_id']}/repost")).status_code == 401
    await client.post(f"/users/{bob.id}/block", headers=alice.headers)
    r = await client.post(f"/tweets/{t['tweet_id']}/repost", headers=bob.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "blocked"


async def test_repost_count_exact_under_concurrency(
    client: httpx.AsyncClient, make_user: Any, make_users: Any, make_tweet: Any, drain: Any
) -> None:
    author = await make_user()
    t = await make_tweet(author)
    fans = await make_users(50)
    url = f"/tweets/{t['tweet_id']}/repost"
    codes = await asyncio.gather(*(client.post(url, headers=f.headers) for f in fans + fans))
    assert {c.status_code for c in codes} == {200}
    await drain()
    assert (await tweet(client, t["tweet_id"]))["repost_count"] == 50
    # 50 simultaneous un-reposts and re-reposts, interleaved.
    gone, back = fans[:30], fans[:10]
    calls = [client.delete(url, headers=f.headers) for f in gone + gone]
    codes = await asyncio.gather(*calls)
    assert {c.status_code for c in codes} == {200}
    codes = await asyncio.gather(*(client.post(url, headers=f.headers) for f in back))
    assert {c.status_code for c in codes} == {200}
    await drain()
    assert (await tweet(client, t["tweet_id"]))["repost_count"] == 30
    assert [n["kind"] for n in await notes(client, author)].count("repost") == 20


async def test_repost_counts_are_announced_live(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    rec = Recorder()
    svc.events = rec
    alice, bob = await make_user(), await make_user()
    t = await make_tweet(alice)
    await client.post(f"/tweets/{t['tweet_id']}/repost", headers=bob.headers)
    await drain()
    counts = [p for s, p in rec.sent if s == tweet_stream(t["tweet_id"])]
    assert counts[-1]["event"] == "tweet.counts"
    assert counts[-1]["data"]["repost_count"] == 1
    created = [p for s, p in rec.sent if s == notifications_stream(alice.id)]
    assert created[-1]["data"]["kind"] == "repost"


async def test_deleted_tweet_takes_its_reposts_with_it(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    t = await make_tweet(alice)
    await client.post(f"/tweets/{t['tweet_id']}/repost", headers=bob.headers)
    await drain()
    assert (
        await client.delete(f"/tweets/{t['tweet_id']}", headers=alice.headers)
    ).status_code == 204
    await drain()
    assert await svc.db.reposts.count_documents({"tweet_id": t["tweet_id"]}) == 0
    r = await client.post(f"/tweets/{t['tweet_id']}/repost", headers=bob.headers)
    assert r.status_code == 404
