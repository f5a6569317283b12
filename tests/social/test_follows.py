"""Follow and unfollow over HTTP: idempotency, bad input, lists, exact counters."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from bson import ObjectId

from tests.dbcount import by_collection, moved, quiet


async def profile(client: httpx.AsyncClient, user_id: str) -> dict[str, Any]:
    r = await client.get(f"/users/{user_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_follow_is_idempotent_and_counts(client: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob = await make_user(), await make_user()
    for _ in range(2):
        r = await client.post(f"/users/{bob.id}/follow", headers=alice.headers)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "user_id": bob.id, "following": True, "followed_by": False,
            "blocking": False, "blocked_by": False, "muting": False,
        }  # fmt: skip
    assert (await profile(client, bob.id))["follower_count"] == 1
    assert (await profile(client, alice.id))["following_count"] == 1

    r = await client.get(f"/users/{alice.id}/relationship", headers=bob.headers)
    assert r.json()["followed_by"] is True and r.json()["following"] is False

    for _ in range(2):
        r = await client.delete(f"/users/{bob.id}/follow", headers=alice.headers)
        assert r.status_code == 200 and r.json()["following"] is False
    assert (await profile(client, bob.id))["follower_count"] == 0
    assert (await profile(client, alice.id))["following_count"] == 0


async def test_follow_bad_input(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user()
    r = await client.post(f"/users/{alice.id}/follow", headers=alice.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "cannot_follow_self"
    for unknown in (str(ObjectId()), "nope"):
        r = await client.post(f"/users/{unknown}/follow", headers=alice.headers)
        assert r.status_code == 404 and r.json()["error"]["code"] == "user_not_found"
        r = await client.get(f"/users/{unknown}/followers")
        assert r.status_code == 404
    r = await client.post(f"/users/{alice.id}/follow")
    assert r.status_code == 401


async def test_lists_are_newest_edge_first_and_paginate(
    client: httpx.AsyncClient, make_user: Any, make_users: Any
) -> None:
    star = await make_user()
    fans = await make_users(5)
    for fan in fans:
        r = await client.post(f"/users/{star.id}/follow", headers=fan.headers)
        assert r.status_code == 200
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(f"/users/{star.id}/followers", params=params)
        assert r.status_code == 200
        seen += [u["user_id"] for u in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [f.id for f in reversed(fans)]
    r = await client.get(f"/users/{fans[0].id}/following")
    assert [u["user_id"] for u in r.json()["items"]] == [star.id]
    r = await client.get(f"/users/{star.id}/followers", params={"page": 2, "limit": 2})
    assert [u["user_id"] for u in r.json()["items"]] == [fans[2].id, fans[1].id]


async def test_counters_exact_under_concurrency(
    client: httpx.AsyncClient, make_user: Any, make_users: Any
) -> None:
    star = await make_user()
    fans = await make_users(60)

    async def follow(fan: Any) -> int:
        r = await client.post(f"/users/{star.id}/follow", headers=fan.headers)
        return r.status_code

    # Everyone follows, and each fan also sends a duplicate at the same time.
    codes = await asyncio.gather(*(follow(f) for f in fans + fans))
    assert set(codes) == {200}
    assert (await profile(client, star.id))["follower_count"] == 60
    assert all([(await profile(client, f.id))["following_count"] == 1 for f in fans[:5]])

    async def unfollow(fan: Any) -> int:
        r = await client.delete(f"/users/{star.id}/follow", headers=fan.headers)
        return r.status_code

    half = fans[:30]
    codes = await asyncio.gather(
        *(unfollow(f) for f in half + half), *(follow(f) for f in fans[30:])
    )
    assert set(codes) == {200}
    assert (await profile(client, star.id))["follower_count"] == 30
    r = await client.get(f"/users/{star.id}/followers", params={"limit": 100})
    assert len(r.json()["items"]) == 30


async def test_follow_rate_limited(
    client: httpx.AsyncClient, make_user: Any, make_users: Any, svc: Any
) -> None:
    svc.settings.rate_limit_follow = "3/minute"
    fan = await make_user()
    stars = await make_users(4)
    for star in stars[:3]:
        assert (
            await client.post(f"/users/{star.id}/follow", headers=fan.headers)
        ).status_code == 200
    # Repeating a follow that already exists does not spend the budget.
    assert (
        await client.post(f"/users/{stars[0].id}/follow", headers=fan.headers)
    ).status_code == 200
    r = await client.post(f"/users/{stars[3].id}/follow", headers=fan.headers)
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate_limited"
    assert int(r.headers["Retry-After"]) >= 1
    assert (await profile(client, stars[3].id))["follower_count"] == 0


async def test_a_follow_and_an_unfollow_cost_few_commands(
    client: httpx.AsyncClient, raw: Any, app: Any, make_user: Any
) -> None:
    """Warm, a follow is: is the edge there (the rate limit counts new ones), the write, the
    relations between the two and the other way's edge; the target's record comes from the
    users' cache, and ``following`` is what was just written. An unfollow: the write, the
    relations and the other edge."""
    alice, bob = await make_user(), await make_user()
    assert (await client.post(f"/users/{bob.id}/follow", headers=alice.headers)).status_code == 200
    assert (await client.delete(f"/users/{bob.id}/follow", headers=alice.headers)).json()[
        "following"
    ] is False
    for method, following, edges in (("POST", True, 3), ("DELETE", False, 2)):
        async with quiet(app):  # ``raw``: a client that does not wait for the held worker
            before = by_collection(app)
            r = await raw.request(method, f"/users/{bob.id}/follow", headers=alice.headers)
            assert r.status_code == 200 and r.json()["following"] is following, r.text
            assert moved(before, by_collection(app)) == {"follows": edges, "relations": 1}
        await app.state.services.outbox.drain()
