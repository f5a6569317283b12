"""Counter updates safe to apply twice (``server/store/counters.py``): the guard that an
update lands only on the applied ids it read."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from server.store import counters
from server.store.counters import KEEP, OPS, Counters, CountersRaced


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
    await _inc(ObjectId(), "a").write(db)  # a deleted user's tweet_count: no error
    assert await db.users.count_documents({OPS: "a"}) == 0
