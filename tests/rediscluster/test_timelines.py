"""Stored home timelines (``RedisTimelines``) on a real Redis Cluster: owners on every master,
push, read, trim, finding a tweet's owners on every master, and a failed-over shard's
timelines rebuilt while the others are kept."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bson import ObjectId

from server.store.timelines import Slot
from tests.rediscluster import clusterapp
from tests.rediscluster.spread import on_every_master, same_slot

settings, svc = clusterapp.settings, clusterapp.svc  # an in-process app on the cluster


async def test_push_read_trim_and_a_lost_shard(svc: Any, redis_cluster: Any) -> None:
    timelines = svc.timelines
    assert timelines.name == "redis"
    cap = svc.settings.timeline_max_entries

    async def new_owner() -> str:
        return str(ObjectId())

    owners, _ = await on_every_master(new_owner, timelines.key, redis_cluster)
    assert all(same_slot(timelines.key(o), timelines.built_key(o)) for o in owners)
    rebuilt: list[str] = []

    def loader(owner: str) -> Any:
        async def load() -> list[Slot]:
            rebuilt.append(owner)
            return []

        return load

    for owner in owners:  # never built: built now, on this shard's run
        assert await timelines.ensure_built(owner=owner, rebuild=loader(owner))

    tweets = [ObjectId() for _ in range(cap + 3)]
    author = str(ObjectId())
    for tweet_id in tweets:
        assert await timelines.push(owners=owners, tweet_id=tweet_id, author=author) == 3
    for owner in owners:
        assert await timelines.count(owner=owner) == cap  # trimmed on write
        page = await timelines.newest(owner=owner, before=None, limit=cap + 10, exclude=())
        assert [s.id for s in page] == tweets[::-1][:cap]
        below = await timelines.newest(owner=owner, before=tweets[-2], limit=2, exclude=())
        assert [s.id for s in below] == [tweets[-3], tweets[-4]]
    # Which timelines hold a tweet: a SCAN of every master.
    assert set(await timelines.owners_of(tweet_id=tweets[-1])) == set(owners)
    assert await timelines.remove_tweet(owners=owners, tweet_id=tweets[-1]) == 3

    # A master dies and its replica takes over (it may lack the last writes): that shard's
    # timelines are rebuilt before their next read, the other shards' are not.
    lost, *kept = owners
    node = redis_cluster.master_of(timelines.key(lost))
    node.kill()
    try:
        await replaced(redis_cluster, timelines.key(lost), node)
        rebuilt.clear()
        assert await timelines.ensure_built(owner=lost, rebuild=loader(lost))
        for owner in kept:
            assert not await timelines.ensure_built(owner=owner, rebuild=loader(owner))
        assert rebuilt == [lost]
        assert not await timelines.ensure_built(owner=lost, rebuild=loader(lost))
    finally:
        node.start()  # back as a replica of the master that replaced it
        redis_cluster.wait_ok()


async def replaced(cluster: Any, key: str, dead: Any, within: float = 15.0) -> None:
    """Until a replica has taken over ``key``'s slot from the ``dead`` master."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if cluster.master_of(key) is not dead:
                cluster.wait_ok()
                return
        except LookupError:
            pass  # the slot has no master for a moment
        await asyncio.sleep(0.1)
    raise AssertionError(f"no replica took over {key!r} within {within}s")


async def test_loaded_timelines_are_marked_built_on_their_own_masters(
    svc: Any, redis_cluster: Any
) -> None:
    """The demo seed's bulk load marks each timeline with the run of the master holding it."""
    timelines = svc.timelines

    async def new_owner() -> str:
        return str(ObjectId())

    owners, _ = await on_every_master(new_owner, timelines.key, redis_cluster)
    tweet_id, author = ObjectId(), str(ObjectId())
    assert await timelines.load(entries=[(o, tweet_id, author) for o in owners]) == 3

    async def must_not_rebuild() -> list[Slot]:
        raise AssertionError("a loaded timeline counts as built")

    for owner in owners:
        assert not await timelines.ensure_built(owner=owner, rebuild=must_not_rebuild)
        assert [
            s.id for s in await timelines.newest(owner=owner, before=None, limit=5, exclude=())
        ] == [tweet_id]
