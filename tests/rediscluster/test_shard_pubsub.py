"""Sharded pub/sub (``realtime/shardpubsub.py``) against a real Redis Cluster."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from broadcaster import Event

from realtime.redis_backend import GAP_CHANNEL, connect_redis, gap_channels
from realtime.shardpubsub import ClusterBackend

from .conftest import channels_on_every_master, master_down, slot, taken_over


async def _next(backend: ClusterBackend, wait: float = 5) -> Event:
    return await asyncio.wait_for(backend.next_published(), wait)


async def test_one_connection_per_master_and_each_channel_only_on_its_shard(redis_cluster: Any):
    channels = channels_on_every_master(redis_cluster, f"sp-{uuid.uuid4().hex[:6]}-")
    backend = ClusterBackend(redis_cluster.url)
    await backend.connect()
    try:
        for channel in channels:
            await backend.subscribe(channel)
            # Published the moment subscribe() returned: it must arrive.
            await backend.publish(channel, f"to {channel}")
            event = await _next(backend)
            assert (event.channel, event.message) == (channel, f"to {channel}")
        assert len(backend._shards) == 3  # one subscriber connection per master

        await backend.publish_many([(c, "many") for c in channels])
        got = {(e.channel, e.message) for e in [await _next(backend) for _ in channels]}
        assert got == {(c, "many") for c in channels}

        # SSUBSCRIBE: each master knows only its own channels' subscribers.
        for channel in channels:
            owner = redis_cluster.master_of(channel)
            for node in redis_cluster.nodes:
                if not node.alive() or "master" not in node.cli("role"):
                    continue
                counts = node.cli("pubsub", "shardnumsub", channel).split()
                assert counts[1] == ("1" if node.port == owner.port else "0"), (channel, node.port)

        await backend.unsubscribe(channels[0])
        await backend.publish(channels[0], "unheard")
        await backend.publish(channels[1], "heard")
        assert (await _next(backend)).message == "heard"
        # Wanted again on the same connection (it was subscribed when the connection opened):
        # subscribed again, not taken for still subscribed.
        await backend.subscribe(channels[0])
        await backend.publish(channels[0], "again")
        event = await _next(backend)
        assert (event.channel, event.message) == (channels[0], "again")
    finally:
        await backend.disconnect()


async def test_a_failover_reports_a_gap_for_that_shard_and_delivery_resumes(redis_cluster: Any):
    channels = channels_on_every_master(redis_cluster, f"fo-{uuid.uuid4().hex[:6]}-")
    backend = ClusterBackend(redis_cluster.url, min_backoff=0.05, max_backoff=0.5)
    publisher: Any = None
    await backend.connect()
    try:
        for channel in channels:
            await backend.subscribe(channel)
        victim = channels[0]
        lost = {
            c
            for c in channels
            if redis_cluster.master_of(c).port == redis_cluster.master_of(victim).port
        }
        with master_down(redis_cluster, victim) as dead:
            gap = await _next(backend, 15)  # the replica took over; resubscribed there
            assert gap.channel == GAP_CHANNEL
            assert gap_channels(gap.message) == lost
            await asyncio.to_thread(taken_over, redis_cluster, victim, dead)
            # A client made now, through a live node: one made before, through the node
            # that died, sometimes found no node to rediscover the slots from (seen about
            # once in four runs; the hub's own publisher is tested in test_cluster_failover).
            alive = next(n for n in redis_cluster.nodes if n.alive())
            publisher = connect_redis(alive.url, cluster=True)
            for channel in channels:  # every channel delivers again, the moved ones too
                await publisher.spublish(channel, "after")
                event = await _next(backend)
                assert (event.channel, event.message) == (channel, "after")
        assert backend.queue.empty()  # one gap, nothing else
    finally:
        if publisher is not None:
            await publisher.aclose()
        await backend.disconnect()


async def test_a_cluster_away_at_start_up_is_joined_later_with_a_gap(redis_cluster: Any):
    replica = next(n for n in redis_cluster.nodes if n.alive() and "slave" in n.cli("role"))
    replica.kill()  # REDIS_URL names it, and it is down when the process starts
    try:
        backend = ClusterBackend(f"redis://127.0.0.1:{replica.port}/0", max_backoff=0.2)
        await backend.connect()
        async with asyncio.timeout(3):
            await backend.subscribe("late")  # returns: sockets are served locally meanwhile
        await asyncio.to_thread(replica.start)
        # Once the node answers, the slots are read, the channel subscribed on its master,
        # and what it may have missed reported.
        gap = await _next(backend, 10)
        assert gap_channels(gap.message) == {"late"}
        await backend.publish("late", "x")
        assert (await _next(backend)).message == "x"
        await backend.disconnect()
    finally:
        if not replica.alive():
            replica.start()
        await asyncio.to_thread(redis_cluster.wait_ok, 30)


def _move_slot(redis_cluster: Any, slot: int, source: Any, target: Any) -> None:
    """Move one slot (and its keys) from ``source`` to ``target``, as resharding does."""
    source_id = source.cli("cluster", "myid").strip()
    target_id = target.cli("cluster", "myid").strip()
    target.cli("cluster", "setslot", str(slot), "importing", source_id)
    source.cli("cluster", "setslot", str(slot), "migrating", target_id)
    while keys := source.cli("cluster", "getkeysinslot", str(slot), "100").split():
        source.cli("migrate", "127.0.0.1", str(target.port), "", "0", "5000", "keys", *keys)
    for node in (target, source):
        node.cli("cluster", "setslot", str(slot), "node", target_id)
    redis_cluster.wait_ok(30)


async def test_a_slot_moved_to_another_master_is_followed_with_a_gap(redis_cluster: Any):
    channel = f"mv-{uuid.uuid4().hex}"
    source = redis_cluster.master_of(channel)
    target = next(
        n for n in redis_cluster.nodes
        if n.alive() and n.port != source.port and "master" in n.cli("role")
    )  # fmt: skip
    backend = ClusterBackend(redis_cluster.url, max_backoff=0.2)
    await backend.connect()
    publisher = connect_redis(redis_cluster.url, cluster=True)
    try:
        await backend.subscribe(channel)
        await asyncio.to_thread(_move_slot, redis_cluster, slot(channel), source, target)
        # The old master says "sunsubscribe"; the channel is subscribed where it lives now.
        gap = await _next(backend, 10)
        assert gap_channels(gap.message) == {channel}
        await publisher.spublish(channel, "moved")  # (the publisher follows MOVED)
        assert (await _next(backend)).message == "moved"
        assert redis_cluster.master_of(channel).port == target.port
    finally:
        await publisher.aclose()
        await backend.disconnect()
