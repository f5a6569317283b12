"""``$in`` in short lists (``server/store/inlists.py``): every match found or deleted, no
other, however long the list."""

from __future__ import annotations

from typing import Any

from server.store import inlists


async def test_find_and_delete_by_a_list_longer_than_a_chunk(app: Any) -> None:
    coll = app.state.services.db.inlist_check
    n = inlists.CHUNK * 3 + 5
    await coll.insert_many([{"_id": i, "odd": i % 2} for i in range(n)])
    wanted = list(range(0, n, 2)) + [n + 1000]  # every even one, and one that is not there
    found = await inlists.find(coll, "_id", wanted, {"odd": 0}, {"odd": 1})
    assert sorted(d["_id"] for d in found) == list(range(0, n, 2))
    assert all(set(d) == {"_id", "odd"} for d in found)
    assert await inlists.find(coll, "_id", [1, 3], {"odd": 0}) == []  # the query applies
    assert await inlists.find(coll, "_id", []) == []
    await inlists.delete(coll, "_id", wanted)
    await inlists.delete(coll, "_id", [])
    assert sorted([d["_id"] async for d in coll.find()]) == list(range(1, n, 2))
