"""GET /tags/search: hashtags by prefix, ranked by how many visible tweets carry them."""

from __future__ import annotations

from typing import Any

import httpx

from server.services import Services
from server.store import prefixed
from server.store import tags as tag_store
from server.store.counters import Counters


async def tags(client: httpx.AsyncClient, q: str, **params: Any) -> list[tuple[str, int]]:
    r = await client.get("/tags/search", params={"q": q, **params})
    assert r.status_code == 200, r.text
    return [(t["tag"], t["count"]) for t in r.json()["items"]]


async def test_tags_by_prefix_ranked_by_use(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any
) -> None:
    alice = await make_user()
    made = [
        await make_tweet(alice, text)
        for text in ["#Python #café", "#python", "#python", "#pyramid", "#pyramid", "#pythonista"]
    ]
    assert await tags(client, "py") == [("python", 3), ("pyramid", 2), ("pythonista", 1)]
    assert await tags(client, "#PYT") == [("python", 3), ("pythonista", 1)]
    assert await tags(client, "py", limit=1) == [("python", 3)]
    assert await tags(client, "cafe") == [("café", 1)]  # accents folded
    assert await tags(client, "ython") == []
    # Deleting and editing tweets moves the counts; a tag nobody uses any more is gone.
    r = await client.delete(f"/tweets/{made[1]['tweet_id']}", headers=alice.headers)
    assert r.status_code == 204
    r = await client.patch(
        f"/tweets/{made[5]['tweet_id']}",
        json={"content": "no tag now"},
        headers=alice.headers,
    )
    assert r.status_code == 200, r.text
    assert await tags(client, "py") == [("pyramid", 2), ("python", 2)]  # ties by name
    for bad in ({}, {"q": ""}, {"q": "#" * 51}, {"q": "py", "limit": "0"}):
        r = await client.get("/tags/search", params=bad)
        assert r.status_code == 422, (bad, r.text)


async def test_a_rerun_round_counts_once(svc: Services) -> None:
    """The worker killed after writing the counts re-runs the round with the same op ids."""
    for _ in range(2):
        counters = Counters()
        tag_store.count(counters, tag="rerun", op="t1g0", delta=1)
        tag_store.count(counters, tag="other", op="t1g0", delta=1)
        await counters.write(svc.db)
    counters = Counters()
    tag_store.count(counters, tag="rerun", op="t2g0", delta=1)
    await counters.write(svc.db)
    found = await tag_store.matching(svc.db, terms=["r"], limit=5)
    assert [(d["_id"], d["count"]) for d in found] == [("rerun", 2)]


async def test_unused_tags_are_never_read(svc: Services) -> None:
    """Every tag of every deleted tweet stays, at count 0: a search must not read them all
    (they can only be left out), whatever the prefix and however few live tags match."""
    dead = [{"_id": f"dead{i}", prefixed.FIELD: prefixed.prefixes(f"dead{i}"), "count": 0}
            for i in range(50)]  # fmt: skip
    await svc.db.tags.insert_many(dead)
    counters = Counters()
    tag_store.count(counters, tag="deadline", op="t1g0", delta=1)
    await counters.write(svc.db)
    for q in ("d", "de", "dea", "dead"):
        found = await tag_store.matching(svc.db, terms=[q], limit=5)
        assert [(d["_id"], d["count"]) for d in found] == [("deadline", 1)]
        # The lowest band read (learned per prefix) is the one of tags used at least once.
        assert prefixed.start_of(svc.db.tags, q) >= 1, q
