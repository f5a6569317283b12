"""Counter updates safe to apply twice (``server/store/counters.py``): the guard that an
update lands only on the applied ids it read."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from server.store import counters, userstats
from server.store.counters import KEEP, OPS, Counters, CountersRaced, Toggle


def _inc(oid: ObjectId, op: str) -> Counters:
    c = Counters()
    c.add("users", {"_id": oid}, op, {"tweet_count": 1})
    return c


@pytest.mark.parametrize("applied_before", [0, 3, KEEP])
async def test_a_counter_changed_since_it_was_read_is_retried_not_lost(
    app: Any, applied_before: int
) -> None:
    db = app.state.services.db
    oid = ObjectId()
    old = [f"old{i}" for i in range(applied_before)]
    await db.users.insert_one({"_id": oid, "tweet_count": 0, OPS: old})
    key = (("_id", oid),)
    stale = await counters._applied(db, "users", [key])  # what a slow writer read
    await _inc(oid, "a").write(db)  # another writer moved it meanwhile
    mine = _inc(oid, "b")
    with pytest.raises(CountersRaced):
        await mine._write(db, "users", mine._incs["users"], stale)
    await mine.write(db)  # the retry reads again and lands
    await _inc(oid, "b").write(db)  # a re-run moves nothing
    doc = await db.users.find_one({"_id": oid})
    assert doc["tweet_count"] == 2
    assert doc[OPS] == [*old, "a", "b"][-KEEP:]


async def test_a_counter_of_a_document_that_is_gone_moves_nothing(app: Any) -> None:
    db = app.state.services.db
    await _inc(ObjectId(), "a").write(db)  # a document that is gone: no error
    assert await db.users.count_documents({OPS: "a"}) == 0


def _count(user: ObjectId, tweet: ObjectId) -> Counters:
    """A tweet of ``user`` counted (its first turn), in ``user_stats``."""
    c = Counters()
    toggle = Toggle(prefix=f"t{tweet}c", flips=0, counted=False, want=True)
    userstats.count_tweet(c, str(user), toggle)
    return c


async def test_stats_start_from_the_user_document_once(app: Any) -> None:
    db = app.state.services.db
    user, done, fresh = ObjectId(), ObjectId(), ObjectId()
    # An earlier version counted 5 tweets on the user's document, ``done`` the last.
    await db.users.insert_one({"_id": user, "tweet_count": 5, OPS: [f"t{done}c0"]})
    await _count(user, done).write(db)  # applied there already: nothing moves, nothing made
    assert await db.user_stats.count_documents({}) == 0
    await _count(user, fresh).write(db)
    await _count(user, fresh).write(db)  # a re-run moves nothing
    stats = await db.user_stats.find_one({"_id": user})
    assert stats["tweet_count"] == 6 and stats[OPS] == [f"t{done}c0", f"t{fresh}c0"]


async def test_stats_created_meanwhile_send_the_batch_round_again(app: Any) -> None:
    db = app.state.services.db
    user, first, second = ObjectId(), ObjectId(), ObjectId()
    await db.users.insert_one({"_id": user, "tweet_count": 0})
    late = _count(user, second)
    key = counters.key_of({"_id": user})
    seeds = await userstats._seeds(db, [key])  # what a slow writer read: no stats yet
    await _count(user, first).write(db)  # another writer made them meanwhile
    with pytest.raises(CountersRaced):
        await late._write(
            db,
            userstats.COLLECTION,
            {key: [(f"t{second}c0", {"tweet_count": 1})]},
            {key: []},
            seeds,
        )
    await late.write(db)  # the retry reads again and lands
    assert (await db.user_stats.find_one({"_id": user}))["tweet_count"] == 2


@pytest.mark.parametrize("user_doc", [None, {"deleted": True, "tweet_count": 3}])
async def test_no_stats_for_a_user_gone_or_deleted(app: Any, user_doc: Any) -> None:
    db = app.state.services.db
    user = ObjectId()
    if user_doc is not None:
        await db.users.insert_one({"_id": user, **user_doc})
    await _count(user, ObjectId()).write(db)
    assert await db.user_stats.count_documents({}) == 0
