"""A worker that dies after moving counters but before recording them, then the write is undone.

The worker records what it applied (an edge's ``counted``, a tweet's ``fx``) after the
counters move. Killed in between, and with the like, follow or tweet undone before the next
round, the next round reads "off, not counted": it must still take the count back, or the
counter stays one too high for good (seen in the SIGKILL test, once in a few runs). The
worker's recording step is made to fail here, exactly where a kill would land, so each case
runs every time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from bson import ObjectId

from server.store import edges
from server.store import tweets as tweet_store


class Killed(Exception):
    """Stands for the SIGKILL: the worker stops right here."""


@pytest.fixture
async def worker(app: Any) -> Any:
    """The app's outbox worker, stopped: the test runs its rounds by hand."""
    outbox = app.state.services.outbox
    await outbox.stop()
    return outbox


@pytest.fixture
async def raw(app: Any) -> Any:
    """A client whose writes the worker does not apply on its own."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://murmur.test") as c:
        yield c


async def die_before_recording(worker: Any, monkeypatch: Any, module: Any, name: str) -> None:
    """One round that moves the counters and dies before ``module.name`` records them."""

    async def killed(*args: Any, **kwargs: Any) -> None:
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(module, name, killed)
        with pytest.raises(Killed):
            await worker.run_once()


async def test_a_like_undone_after_a_dead_round_is_uncounted(
    app, raw, worker, monkeypatch, make_user, make_tweet
):
    author, fan = await make_user(), await make_user()
    tweet = await make_tweet(author, "count me once")
    await worker.drain()
    path = f"/tweets/{tweet['tweet_id']}/likes"
    assert (await raw.post(path, headers=fan.headers)).status_code in (200, 201)
    await die_before_recording(worker, monkeypatch, edges, "settle")
    db = app.state.services.db
    counted = await db.tweets.find_one({"_id": ObjectId(tweet["tweet_id"])})
    assert counted["like_count"] == 1  # the dead round moved it
    assert (await raw.delete(path, headers=fan.headers)).status_code in (200, 204)
    await worker.drain()
    after = await db.tweets.find_one({"_id": ObjectId(tweet["tweet_id"])})
    assert after["like_count"] == 0
    assert await db.likes.count_documents({}) == 0
    # Liked again: counted again, once.
    assert (await raw.post(path, headers=fan.headers)).status_code in (200, 201)
    await worker.drain()
    await worker.drain()
    again = await db.tweets.find_one({"_id": ObjectId(tweet["tweet_id"])})
    assert again["like_count"] == 1


async def test_a_follow_undone_after_a_dead_round_is_uncounted(
    app, raw, worker, monkeypatch, make_user
):
    star, fan = await make_user(), await make_user()
    await worker.drain()
    path = f"/users/{star.id}/follow"
    assert (await raw.post(path, headers=fan.headers)).status_code == 200
    await die_before_recording(worker, monkeypatch, edges, "settle")
    assert (await raw.delete(path, headers=fan.headers)).status_code in (200, 204)
    await worker.drain()
    db = app.state.services.db
    users = {str(u["_id"]): u async for u in db.users.find({})}
    assert users[star.id]["follower_count"] == 0
    assert users[fan.id]["following_count"] == 0
    assert await db.follows.count_documents({}) == 0


async def test_a_tweet_deleted_after_a_dead_round_is_uncounted(
    app, raw, worker, monkeypatch, make_user
):
    author = await make_user()
    await worker.drain()
    r = await raw.post("/tweets", json={"content": "gone soon"}, headers=author.headers)
    assert r.status_code == 201, r.text
    await die_before_recording(worker, monkeypatch, tweet_store, "settle")
    db = app.state.services.db
    user = await db.users.find_one({"_id": ObjectId(author.id)})
    assert user["tweet_count"] == 1  # the dead round counted it
    tweet_id = r.json()["tweet_id"]
    assert (await raw.delete(f"/tweets/{tweet_id}", headers=author.headers)).status_code == 204
    await worker.drain()
    user = await db.users.find_one({"_id": ObjectId(author.id)})
    assert user["tweet_count"] == 0
    assert await db.tweets.count_documents({}) == 0


async def test_stopping_the_worker_mid_batch_is_not_swallowed(worker):
    """A stop (cancellation) that lands while a failed batch winds down its lease renewal
    must stop the worker; swallowed, the worker retried forever and shutdown hung."""
    import asyncio

    async def failing_batch() -> None:
        async with worker._renewing():
            asyncio.current_task().cancel()  # the stop arrives ...
            raise RuntimeError("the database went away")  # ... as the batch fails

    task = asyncio.create_task(failing_batch())
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_a_worker_stopped_while_taking_its_lease_gives_it_back(app, clock):
    """Stopped at any moment of its first round (before, while and after it takes its lease),
    the worker gives the lease back: a take that landed after the give-back would make the
    lease outlive the worker (with this test clock, frozen, for ever; in production for a
    whole term), and no other process would apply anything meanwhile."""
    from server.outbox import LEASE_ID, Outbox

    svc = app.state.services
    await svc.outbox.stop()
    for delay in range(20):  # from before it sends to after it is answered
        outbox = Outbox(svc)
        outbox.start()
        await asyncio.sleep(delay / 2000)  # its first command is on its way
        await outbox.stop()
        lease = await svc.db.outbox_lease.find_one({"_id": LEASE_ID})
        assert lease is None or lease["until"] <= clock(), lease
