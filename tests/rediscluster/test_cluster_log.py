"""The replay logs on a real Redis Cluster (``realtime/clusterlog.py``)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from realtime.clusterlog import ClusterLog, epoch_key
from realtime.log import parse_id
from realtime.redis_backend import connect_redis
from realtime.replay import read_missed
from realtime.usersockets import UserSockets
from tests.realtime.test_log_expiry import check_expiry

from .conftest import channels_on_every_master


async def test_expiry_and_a_missing_log_mean_resync_on_the_cluster(redis_cluster: Any) -> None:
    client = connect_redis(redis_cluster.url, cluster=True)
    try:
        await check_expiry(client, lambda ttl: ClusterLog(client, 100, ttl))
    finally:
        await client.aclose()


async def test_one_append_over_every_master_claims_once_and_orders_ids(redis_cluster: Any) -> None:
    client = connect_redis(redis_cluster.url, cluster=True)
    event_log = ClusterLog(client, 100)
    try:
        # Streams on every master (random names missed one in about 40 runs).
        streams = channels_on_every_master(redis_cluster, f"home:{uuid.uuid4().hex}-", 4)
        masters = {redis_cluster.master_of(ClusterLog.key(s)).port for s in streams}
        assert len(masters) == 3  # one script per slot: no CROSSSLOT
        # A stream's keys share its slot (the hash tag is the stream's name).
        for s in streams[:3]:
            assert redis_cluster.master_of(ClusterLog.clock_key(s)).port == (
                redis_cluster.master_of(ClusterLog.key(s)).port
            )
        once = uuid.uuid4().hex
        first = await event_log.append([(s, "a|1") for s in streams], once=once)
        assert len(first) == len(streams) and all(first)
        assert await event_log.append([(s, "a|1") for s in streams], once=once) == []

        # The floor: a later append gets larger ids than this process's earlier ones, on
        # whichever shard (a hybrid logical clock).
        second = await event_log.append([(s, "a|2") for s in reversed(streams)])
        assert min(parse_id(i) for i in second) > max(parse_id(i) for i in first)

        missed = await read_missed(event_log, streams[:4], first[0], 100)
        assert missed is not None
        assert [i for i, _, _ in missed] == sorted(
            [i for i, _, _ in missed], key=lambda i: parse_id(i) or (0, 0)
        )
        assert {entry for _, _, entry in missed} >= {"a|2"}
    finally:
        await client.aclose()


async def test_socket_claims_restamp_across_masters(redis_cluster: Any) -> None:
    client = connect_redis(redis_cluster.url, cluster=True)
    counts = UserSockets(client, prefix=f"t:{uuid.uuid4().hex[:6]}:", ttl=5, refresh=0.05)
    users = [f"u{i}" for i in range(9)]
    assert len({redis_cluster.master_of(counts.prefix + u).port for u in users}) > 1
    try:
        claims = [await counts.claim(u, 1) for u in users]
        assert all(ok for ok, _ in claims)
        assert await counts.claim(users[0], 1) == (False, None)  # the limit, in one script
        keys = [(counts.prefix + u, m) for u, (_, m) in zip(users, claims, strict=True)]
        before = [await client.zscore(k, m) for k, m in keys]
        counts.start()  # one pipeline over every master re-stamps them all
        async with asyncio.timeout(5):
            for (key, member), score in zip(keys, before, strict=True):
                while await client.zscore(key, member) == score:  # noqa: ASYNC110 - Redis
                    await asyncio.sleep(0.02)
        await counts.stop()  # releases every claim
        assert [await client.zcard(counts.prefix + u) for u in users] == [0] * len(users)
    finally:
        await client.aclose()


async def test_a_slot_that_lost_its_data_answers_resync(redis_cluster: Any) -> None:
    client = connect_redis(redis_cluster.url, cluster=True)
    event_log = ClusterLog(client, 100)
    try:
        stream, fresh = f"home:{uuid.uuid4().hex}", f"user:{uuid.uuid4().hex}"
        [seen] = await event_log.append([(stream, "a|1")])
        [missed] = await event_log.append([(stream, "a|2")])
        # Every slot has an epoch from before: a stream's first event loses nothing.
        [first] = await event_log.append([(fresh, "a|3")])
        assert await event_log.read_after(fresh, seen, 10) == [(first, "a|3")]
        assert await event_log.read_after(stream, seen, 10) == [(missed, "a|2")]

        # The shard comes back empty (its keys gone, as after a restart without a synced
        # replica): what was after `seen` is gone, and the slot's epoch says so.
        await client.delete(ClusterLog.key(stream), ClusterLog.clock_key(stream), epoch_key(stream))
        assert await event_log.read_after(stream, seen, 10) is None
    finally:
        await client.aclose()
