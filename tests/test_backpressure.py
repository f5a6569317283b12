"""While the outbox worker lags, new tweets wait for it (``server/backpressure.py``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from bson import ObjectId

from server import tweets
from server.accounts import Caller
from server.backpressure import OutboxLag
from server.settings import Settings
from server.store import users as user_store


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"outbox_max_lag_seconds": 1.0, "outbox_admission_wait_seconds": 30.0}
    )


@pytest.fixture(autouse=True)
def fresh_readings(app: Any) -> None:
    """Every admission reads the lag (a process reuses a reading for 0.1 s): the clock
    moves only when a test says so."""
    app.state.services.backpressure.refresh = 0.0


async def author(svc: Any, make_user: Any) -> Caller:
    user = await user_store.by_id(svc.db, user_id=(await make_user()).id)
    assert user is not None
    return Caller(user, "s")


async def test_a_new_tweet_waits_until_the_worker_caught_up(app, make_user, clock):
    svc = app.state.services
    caller = await author(svc, make_user)
    async with svc.outbox.paused():
        first, _ = await tweets.compose(svc, caller, "first")  # the worker is held: it waits
        clock.advance(seconds=3)  # ... for 3 s now, over the 1 s allowed
        second = asyncio.create_task(tweets.compose(svc, caller, "second"))
        done, _ = await asyncio.wait({second}, timeout=1.0)
        assert not done, "stored while the worker lagged"
        assert await svc.db.tweets.find_one({"content": "second"}) is None
    # The worker runs again, applies the first tweet; the second is stored then.
    tweet, created = await asyncio.wait_for(second, 10)
    assert created and tweet.content == "second"
    assert await svc.db.outbox.find_one({"_id": ObjectId(first.tweet_id)}) is None  # applied
    assert svc.backpressure.waited == 1


async def test_a_worker_that_stays_away_does_not_stop_posting(app, make_user, clock):
    svc = app.state.services
    svc.backpressure.max_wait = 0.3  # the longest a tweet waits
    caller = await author(svc, make_user)
    async with svc.outbox.paused():
        await tweets.compose(svc, caller, "first")
        clock.advance(seconds=3)
        tweet, created = await asyncio.wait_for(tweets.compose(svc, caller, "second"), 10)
        assert created  # stored anyway: the outbox keeps it for the worker
        assert await svc.db.outbox.find_one({"_id": ObjectId(tweet.tweet_id)}) is not None
    assert svc.backpressure.waited == 1


async def test_the_lag_is_the_oldest_entrys_age_but_not_an_orphans(app, clock):
    svc = app.state.services

    def lag() -> OutboxLag:  # a fresh reading each time (a process reads every 0.1 s)
        return OutboxLag(svc.db, clock, max_lag=1.0, max_wait=1.0, grace=30.0)

    async with svc.outbox.paused():
        assert await lag().lag() == 0.0  # nothing pending
        # An entry whose tweet is still being stored (2 s ago): the worker is 2 s behind.
        entry = {"_id": ObjectId(), "pending": True, "at": clock() - timedelta(seconds=2)}
        await svc.db.outbox.insert_one(entry)
        assert await lag().lag() == pytest.approx(2.0)
        # Past the grace its tweet never came (the worker drops it): not lag.
        clock.advance(seconds=60)
        assert await lag().lag() == 0.0
        await svc.db.outbox.delete_one({"_id": entry["_id"]})


async def test_zero_turns_it_off(app, make_user, clock):
    svc = app.state.services
    svc.backpressure.max_lag = 0.0
    caller = await author(svc, make_user)
    async with svc.outbox.paused():
        await tweets.compose(svc, caller, "first")
        clock.advance(seconds=3)
        await asyncio.wait_for(tweets.compose(svc, caller, "second"), 10)
    assert svc.backpressure.waited == 0
