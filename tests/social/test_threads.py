"""GET /tweets/{id}/context: the chain up to the root, the replies below depth first with a
cursor, blocks, mutes, deletes and hides, and database round trips per level."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.settings import Settings
from tests.dbcount import by_collection, moved, quiet


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"admin_emails": ["boss@example.com"]})


async def reply(client: httpx.AsyncClient, user: Any, parent: str, text: str) -> str:
    r = await client.post(
        f"/tweets/{parent}/comments", json={"content": text}, headers=user.headers
    )
    assert r.status_code == 201, r.text
    tweet_id: str = r.json()["tweet_id"]
    return tweet_id


async def context(
    client: httpx.AsyncClient, tweet_id: str, user: Any = None, **params: Any
) -> dict[str, Any]:
    headers = user.headers if user else {}
    r = await client.get(f"/tweets/{tweet_id}/context", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [t["tweet_id"] for t in items]


async def thread(client: httpx.AsyncClient, make_user: Any, make_tweet: Any) -> Any:
    """root(a) ─ r1(b) ─ r2(c) ─ r3(a)
             └ r5(e)
    └ r4(d)"""
    a, b, c, d, e = [await make_user() for _ in range(5)]
    root = (await make_tweet(a, "the root"))["tweet_id"]
    r1 = await reply(client, b, root, "r1")
    r2 = await reply(client, c, r1, "r2")
    r3 = await reply(client, a, r2, "r3")
    r4 = await reply(client, d, root, "r4")
    r5 = await reply(client, e, r1, "r5")
    return (a, b, c, d, e), (root, r1, r2, r3, r4, r5)


async def test_context_lists_ancestors_and_depth_first_descendants_with_a_cursor(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, app: Any
) -> None:
    (a, *_), (root, r1, r2, r3, r4, r5) = await thread(client, make_user, make_tweet)
    body = await context(client, r2)
    assert ids(body["ancestors"]) == [root, r1]
    assert ids(body["descendants"]) == [r3]
    assert body["descendants"][0]["in_reply_to"] == r2 and body["next_cursor"] is None
    body = await context(client, root, a)
    assert body["ancestors"] == []
    assert ids(body["descendants"]) == [r1, r2, r3, r5, r4]
    assert [t["in_reply_to"] for t in body["descendants"]] == [root, r1, r2, r1, root]
    assert body["descendants"][0]["liked_by_me"] is False  # the reader's marks are set
    # Pages of two follow the same order, with a Link header to the next one.
    pages: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        r = await client.get(f"/tweets/{root}/context", params=params)
        assert r.status_code == 200
        pages += ids(r.json()["descendants"])
        if (cursor := r.json()["next_cursor"]) is None:
            assert "Link" not in r.headers
            break
        assert 'rel="next"' in r.headers["Link"]
    assert pages == [r1, r2, r3, r5, r4]
    # Round trips: one query per level below (three levels and the empty fourth), none for
    # the warm chain above.
    await context(client, r3)
    async with quiet(app):  # the worker's idle polls are not the read's commands
        before = by_collection(app)
        await context(client, root)
        assert moved(before, by_collection(app)) == {"tweets": 4}
        before = by_collection(app)
        assert ids((await context(client, r3))["ancestors"]) == [root, r1, r2]
        assert moved(before, by_collection(app)) == {"tweets": 1}  # r3's (empty) replies


async def test_context_applies_blocks_mutes_hides_and_deletes(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    (a, b, c, d, e), (root, r1, r2, r3, r4, r5) = await thread(client, make_user, make_tweet)
    reader, admin = await make_user(), await make_user("boss")
    await client.post(f"/users/{b.id}/block", headers=reader.headers)
    await client.post(f"/users/{d.id}/mute", headers=reader.headers)
    body = await context(client, r2, reader)
    assert ids(body["ancestors"]) == [root]  # b's r1 is left out, the walk goes on above
    assert ids(body["descendants"]) == [r3]
    # b's reply and everything under it, and the muted d's, are left out below the root.
    assert ids((await context(client, root, reader))["descendants"]) == []
    r = await client.get(f"/tweets/{r1}/context", headers=reader.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "tweet_not_found"
    # A hidden reply takes its branch out; a deleted parent ends the chain.
    r = await client.post(f"/moderation/tweets/{r2}/hide", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert ids((await context(client, root))["descendants"]) == [r1, r5, r4]
    assert (await client.get(f"/tweets/{r2}/context")).status_code == 404
    r = await client.delete(f"/tweets/{r1}", headers=b.headers)
    assert r.status_code == 204
    assert ids((await context(client, r5))["ancestors"]) == []
    assert ids((await context(client, root))["descendants"]) == [r4]


async def test_context_bad_inputs(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    t = (await make_tweet(await make_user()))["tweet_id"]
    for bad in ("not-an-id", "0" * 24):
        r = await client.get(f"/tweets/{bad}/context")
        assert r.status_code == 404 and r.json()["error"]["code"] == "tweet_not_found"
    r = await client.get(f"/tweets/{t}/context", params={"cursor": "%%%"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_cursor"
    for limit in ("0", "201", "x"):
        r = await client.get(f"/tweets/{t}/context", params={"limit": limit})
        assert r.status_code == 422, limit
    assert (await context(client, t)) == {"ancestors": [], "descendants": [], "next_cursor": None}
