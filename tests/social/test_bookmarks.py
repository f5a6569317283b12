"""Bookmarks over HTTP: idempotent, private, newest bookmark first, paginated, no
notification; deletes and blocks take tweets out of the list."""

from __future__ import annotations

from typing import Any

import httpx
from bson import ObjectId


async def listed(client: httpx.AsyncClient, user: Any, **params: Any) -> dict[str, Any]:
    r = await client.get("/users/me/bookmarks", params=params, headers=user.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_bookmarks_are_private_idempotent_and_newest_first(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    first, second, third = [await make_tweet(alice, f"tweet {n}") for n in range(3)]
    for t in (second, first, third, first):  # bookmarking twice keeps the first bookmark
        r = await client.post(f"/tweets/{t['tweet_id']}/bookmark", headers=bob.headers)
        assert r.status_code == 200, r.text
        assert r.json()["bookmarked_by_me"] is True
    page = await listed(client, bob)
    assert [t["tweet_id"] for t in page["items"]] == [
        third["tweet_id"], first["tweet_id"], second["tweet_id"],
    ]  # fmt: skip
    assert all(t["bookmarked_by_me"] for t in page["items"])
    # Paginated with a cursor.
    one = await listed(client, bob, limit=2)
    assert len(one["items"]) == 2 and one["next_cursor"]
    rest = await listed(client, bob, limit=2, cursor=one["next_cursor"])
    assert [t["tweet_id"] for t in rest["items"]] == [second["tweet_id"]]
    assert rest["next_cursor"] is None
    # Nobody else sees them: not alice's list, not bookmarked_by_me on her reads, no notice.
    assert (await listed(client, alice))["items"] == []
    r = await client.get(f"/tweets/{first['tweet_id']}", headers=alice.headers)
    assert r.json()["bookmarked_by_me"] is False
    r = await client.get(f"/tweets/{first['tweet_id']}")
    assert r.json()["bookmarked_by_me"] is None
    r = await client.get(f"/tweets/{first['tweet_id']}", headers=bob.headers)
    assert r.json()["bookmarked_by_me"] is True
    assert (await client.get("/notifications", headers=alice.headers)).json()["items"] == []
    for _ in range(2):
        r = await client.delete(f"/tweets/{first['tweet_id']}/bookmark", headers=bob.headers)
        assert r.status_code == 200 and r.json()["bookmarked_by_me"] is False
    assert [t["tweet_id"] for t in (await listed(client, bob))["items"]] == [
        third["tweet_id"], second["tweet_id"],
    ]  # fmt: skip


async def test_bookmark_bad_inputs(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    for bad in (str(ObjectId()), "not-an-id"):
        r = await client.post(f"/tweets/{bad}/bookmark", headers=alice.headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "tweet_not_found"
    t = await make_tweet(alice)
    assert (await client.post(f"/tweets/{t['tweet_id']}/bookmark")).status_code == 401
    assert (await client.get("/users/me/bookmarks")).status_code == 401
    await client.post(f"/users/{bob.id}/block", headers=alice.headers)
    r = await client.post(f"/tweets/{t['tweet_id']}/bookmark", headers=bob.headers)
    assert r.status_code == 404  # a blocked author's tweet is not there for bob


async def test_deleted_and_blocked_tweets_leave_the_list(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    alice, bob, carol = await make_user(), await make_user(), await make_user()
    gone, kept, blocked = await make_tweet(alice), await make_tweet(alice), await make_tweet(carol)
    for t in (gone, kept, blocked):
        await client.post(f"/tweets/{t['tweet_id']}/bookmark", headers=bob.headers)
    await client.delete(f"/tweets/{gone['tweet_id']}", headers=alice.headers)
    await client.post(f"/users/{bob.id}/block", headers=carol.headers)
    assert [t["tweet_id"] for t in (await listed(client, bob))["items"]] == [kept["tweet_id"]]
    await drain()
    assert await svc.db.bookmarks.count_documents({"tweet_id": gone["tweet_id"]}) == 0
