"""Group commit (``server/store/group_insert.py``): concurrent inserts share a command, each
caller gets its own outcome, and a lone insert is sent at once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from server.store.group_insert import GroupInserts


async def test_one_duplicate_among_many_fails_alone(app: Any) -> None:
    db = app.state.services.db
    await db.grouped.create_indexes([IndexModel([("k", ASCENDING)], unique=True)])
    inserts = GroupInserts(max_batch=8)
    await inserts.insert_one(db.grouped, {"k": -1})  # idle: a command of its own, at once
    assert inserts.batches == 1
    docs = [{"k": i} for i in range(20)] + [{"k": 7}]  # the last breaks the unique index
    outcomes = await asyncio.gather(
        *(inserts.insert_one(db.grouped, d) for d in docs), return_exceptions=True
    )
    assert outcomes[:20] == [None] * 20
    assert isinstance(outcomes[20], DuplicateKeyError)
    assert sorted([d["k"] async for d in db.grouped.find()]) == list(range(-1, 20))
    assert inserts.batches == 1 + 3  # the 21 that arrived together went 8 at a time


async def test_concurrent_posts_share_inserts_and_keys_hold(
    app: Any, client: httpx.AsyncClient, make_user: Any
) -> None:
    concurrent = 24
    users = [await make_user() for _ in range(4)]
    svc = app.state.services
    before = svc.inserts.batches
    posts = [
        client.post(
            "/tweets",
            json={"content": f"grouped {i}"},
            headers={**users[i % 4].headers, "Idempotency-Key": f"k{i}"},
        )
        for i in range(concurrent)
    ]
    # Two retries of user 0's first post (key k0), mixed into the same burst.
    retry = {**users[0].headers, "Idempotency-Key": "k0"}
    posts += [client.post("/tweets", json={"content": "grouped 0"}, headers=retry) for _ in "ab"]
    results = await asyncio.gather(*posts)
    assert {r.status_code for r in results} == {201}
    assert (
        results[-1].json()["tweet_id"]
        == results[-2].json()["tweet_id"]
        == results[0].json()["tweet_id"]
    )
    assert len({r.json()["tweet_id"] for r in results}) == concurrent
    assert svc.inserts.batches - before < concurrent  # shared commands
    for user in users:
        profile = (await client.get(f"/users/{user.id}")).json()
        assert profile["tweet_count"] == concurrent // 4


async def test_pairs_go_in_one_ordered_command_and_a_duplicate_fails_alone(app: Any) -> None:
    """A new tweet's outbox entry, then the tweet: every waiting pair in one command where
    the server takes several collections' inserts in one (SecantusDB does)."""
    db = app.state.services.db
    await db.seconds.create_indexes([IndexModel([("k", ASCENDING)], unique=True)])
    inserts = GroupInserts(max_batch=8)
    inserts.pairs_in_one = True
    await inserts.insert_pair(db.firsts, {"_id": -1}, db.seconds, {"_id": -1, "k": -1})
    assert inserts.batches == 1
    pairs = [({"_id": i}, {"_id": i, "k": i}) for i in range(8)]
    pairs[3][1]["k"] = -1  # its second breaks the unique index: the command stops there
    outcomes = await asyncio.gather(
        *(inserts.insert_pair(db.firsts, a, db.seconds, b) for a, b in pairs),
        return_exceptions=True,
    )
    assert [o for i, o in enumerate(outcomes) if i != 3] == [None] * 7
    assert isinstance(outcomes[3], DuplicateKeyError)
    # Every first is stored; every second but the duplicate (those after it by their callers).
    assert sorted([d["_id"] async for d in db.firsts.find()]) == list(range(-1, 8))
    assert sorted([d["_id"] async for d in db.seconds.find()]) == [-1, 0, 1, 2, 4, 5, 6, 7]
    assert inserts.batches == 1 + 1 + 1  # the pairs' command, then the 4 seconds after it


async def test_without_the_command_a_pair_is_two_inserts_in_order(app: Any) -> None:
    db = app.state.services.db
    await db.seconds.create_indexes([IndexModel([("k", ASCENDING)], unique=True)])
    inserts = GroupInserts()
    await inserts.insert_pair(db.firsts, {"_id": 1}, db.seconds, {"_id": 1, "k": 1})
    try:
        await inserts.insert_pair(db.firsts, {"_id": 2}, db.seconds, {"_id": 2, "k": 1})
    except DuplicateKeyError:
        pass
    else:
        raise AssertionError("the duplicate second was stored")
    assert [d["_id"] async for d in db.firsts.find().sort("_id")] == [1, 2]
    assert [d["_id"] async for d in db.seconds.find()] == [1]
    assert inserts.batches == 4  # each document in a command of its own, in order


async def test_the_app_finds_out_the_server_takes_pairs(app: Any) -> None:
    assert app.state.services.inserts.pairs_in_one  # SecantusDB has client bulkWrite
