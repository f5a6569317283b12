"""Quote tweets over HTTP: the stored compact copy, the embedded quoted tweet as the reader
may see it (unavailable when deleted, hidden or blocked), quote_count from the worker, the
quote notification, GET /tweets/{id}/quotes, bad inputs."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from bson import ObjectId

from realtime.channels import tweet_stream

from .test_events import Recorder


async def quote(client: httpx.AsyncClient, user: Any, quoted: str, text: str = "so true") -> Any:
    return await client.post(
        "/tweets", json={"content": text, "quote_of": quoted}, headers=user.headers
    )


async def read(client: httpx.AsyncClient, tweet_id: str, user: Any = None) -> dict[str, Any]:
    r = await client.get(f"/tweets/{tweet_id}", headers=user.headers if user else {})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_quote_embeds_the_quoted_tweet_counts_and_notifies(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    rec = Recorder()
    svc.events = rec
    alice, bob = await make_user(), await make_user()
    t = await make_tweet(alice, "original **words**")
    r = await quote(client, bob, t["tweet_id"])
    assert r.status_code == 201, r.text
    q = r.json()
    assert q["quote_of"]["tweet_id"] == t["tweet_id"]
    assert q["quote_of"]["user_name"] == alice.user_name
    assert q["quote_of"]["content"] == "original **words**" and not q["quote_of"]["unavailable"]
    stored = await svc.db.tweets.find_one({"_id": ObjectId(q["tweet_id"])})
    assert stored["quote_of"] == {
        "tweet_id": t["tweet_id"], "user_id": alice.id, "user_name": alice.user_name,
    }  # fmt: skip
    await drain()
    assert (await read(client, t["tweet_id"]))["quote_count"] == 1
    assert (await read(client, q["tweet_id"]))["quote_of"]["html"].startswith("<p>original")
    r = await client.get("/notifications", headers=alice.headers)
    assert [n["kind"] for n in r.json()["items"]] == ["quote"]
    counts = [p for s, p in rec.sent if s == tweet_stream(t["tweet_id"])]
    assert counts[-1]["event"] == "tweet.counts" and counts[-1]["data"]["quote_count"] == 1
    r = await client.get(f"/tweets/{t['tweet_id']}/quotes")
    assert [x["tweet_id"] for x in r.json()["items"]] == [q["tweet_id"]]
    # Deleting the quote takes it out of the count and the list.
    await client.delete(f"/tweets/{q['tweet_id']}", headers=bob.headers)
    await drain()
    assert (await read(client, t["tweet_id"]))["quote_count"] == 0
    assert (await client.get(f"/tweets/{t['tweet_id']}/quotes")).json()["items"] == []


async def test_quote_count_exact_under_concurrency(
    client: httpx.AsyncClient, make_user: Any, make_users: Any, make_tweet: Any, drain: Any
) -> None:
    author = await make_user()
    t = await make_tweet(author)
    fans = await make_users(20)
    codes = await asyncio.gather(*(quote(client, f, t["tweet_id"], f"q {n}")
                                   for n, f in enumerate(fans)))  # fmt: skip
    assert {c.status_code for c in codes} == {201}
    await drain()
    assert (await read(client, t["tweet_id"]))["quote_count"] == 20
    r = await client.get(f"/tweets/{t['tweet_id']}/quotes", params={"limit": 15})
    assert len(r.json()["items"]) == 15 and r.json()["next_cursor"]
    more = await client.get(
        f"/tweets/{t['tweet_id']}/quotes", params={"limit": 15, "cursor": r.json()["next_cursor"]}
    )
    assert len(more.json()["items"]) == 5


async def test_quoted_tweet_unavailable_when_deleted_hidden_or_blocked(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    gone, hidden, blocker = (
        await make_tweet(alice), await make_tweet(alice), await make_tweet(carol),
    )  # fmt: skip
    ids = [
        (await quote(client, bob, t["tweet_id"])).json()["tweet_id"]
        for t in (gone, hidden, blocker)
    ]
    await client.delete(f"/tweets/{gone['tweet_id']}", headers=alice.headers)
    await svc.db.tweets.update_one(
        {"_id": ObjectId(hidden["tweet_id"])}, {"$set": {"hidden": True}}
    )
    await svc.tweets_changed([hidden["tweet_id"]])
    await client.post(f"/users/{bob.id}/block", headers=carol.headers)
    for qid in ids:
        embedded = (await read(client, qid, bob))["quote_of"]
        assert embedded["unavailable"] is True and embedded["user_id"] is None, qid
        assert embedded["content"] is None
    # Others still see carol's tweet inside bob's quote.
    assert (await read(client, ids[2], alice))["quote_of"]["unavailable"] is False


async def test_quote_bad_inputs(client: httpx.AsyncClient, make_user: Any, make_tweet: Any) -> None:
    alice, bob = await make_user(), await make_user()
    for bad in (str(ObjectId()), "not-an-id"):
        r = await quote(client, alice, bad)
        assert r.status_code == 404 and r.json()["error"]["code"] == "tweet_not_found"
        assert (await client.get(f"/tweets/{bad}/quotes")).status_code == 404
    r = await client.post("/tweets", json={"content": "x", "quote_of": 5}, headers=alice.headers)
    assert r.status_code == 422
    t = await make_tweet(alice)
    await client.post(f"/users/{bob.id}/block", headers=alice.headers)
    assert (await quote(client, bob, t["tweet_id"])).status_code == 404
    assert (
        await client.get(f"/tweets/{t['tweet_id']}/quotes", headers=bob.headers)
    ).status_code == 404
