"""Group commit (``server/store/group_insert.py``): concurrent inserts share a command, each
caller gets its own outcome, and a lone insert is sent at once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pymongo import ASCENDING, IndexModel
from pymongo.errors import DuplicateKeyError

from server.batching import Batches, answer
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


async def test_packed_items_are_one_document_and_share_its_outcome(app: Any) -> None:
    """``insert_packed``: the items that wait together become one document (its id is every
    caller's answer); when that document fails, every caller hears it."""
    db = app.state.services.db
    inserts = GroupInserts(max_batch=8, in_flight=1)

    def pack(items: list[int]) -> dict[str, Any]:
        return {"_id": items[0], "items": items}

    ids = await asyncio.gather(*(inserts.insert_packed(db.packed, i, pack) for i in range(10)))
    docs = await db.packed.find().sort("_id", 1).to_list(None)
    assert [d["items"] for d in docs] == [list(range(8)), [8, 9]]  # 8 a command
    assert ids == [0] * 8 + [8] * 2
    outcomes = await asyncio.gather(
        *(inserts.insert_packed(db.packed, i, pack) for i in (0, 20, 21)), return_exceptions=True
    )
    assert all(isinstance(o, DuplicateKeyError) for o in outcomes)  # one document, _id 0 again
    assert await db.packed.count_documents({}) == 2


async def test_a_failed_batch_answers_its_callers_and_the_queue_goes_on() -> None:
    """``Batches``: when ``send`` raises, each caller of that batch hears the error, the
    items queued behind it are still sent, and a caller that stopped waiting still has its
    item sent."""
    batches = Batches(max_batch=3, in_flight=1)
    sent: list[list[int]] = []

    async def send(batch: list[Any]) -> None:
        items = [item for item, _ in batch]
        sent.append(items)
        await asyncio.sleep(0)
        if 1 in items:
            raise RuntimeError("refused")
        answer(batch, {}, sum(items))

    outcomes = await asyncio.gather(
        *(batches.submit("k", i, send) for i in range(5)), return_exceptions=True
    )
    assert sent == [[0, 1, 2], [3, 4]]
    assert [type(o) for o in outcomes[:3]] == [RuntimeError] * 3
    assert outcomes[3:] == [7, 7]
    gone = asyncio.create_task(batches.submit("k", 10, send))
    await asyncio.sleep(0)
    gone.cancel()  # its client went away: the item is on its way all the same
    assert await batches.submit("k", 11, send) == 10 + 11  # went together
    assert sent[-1] == [10, 11]
    assert batches.sent == 3


async def test_a_cancelled_last_sender_answers_everyone_still_queued() -> None:
    """At shutdown the sender is cancelled mid-batch: its batch and the items queued behind
    it (no other sender is left to take them) hear that it was cut short, none waits on."""
    batches = Batches(max_batch=1, in_flight=1)
    started, never = asyncio.Event(), asyncio.Event()

    async def send(batch: list[Any]) -> None:
        started.set()
        await never.wait()

    callers = [asyncio.create_task(batches.submit("k", i, send)) for i in range(3)]
    await started.wait()
    [sender] = [t for t in asyncio.all_tasks() if t.get_name() == "batch:k"]
    sender.cancel()
    outcomes = await asyncio.wait_for(asyncio.gather(*callers, return_exceptions=True), 5)
    assert [type(o) for o in outcomes] == [RuntimeError] * 3
