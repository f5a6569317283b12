"""Murmur's broadcaster backend against a real redis-server, on its own."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from broadcaster import Broadcast
from redis.asyncio import Connection
from redis.exceptions import DataError

from realtime.redis_backend import GAP_CHANNEL, HiredisPackedConnection, RedisBackend, connect_redis


async def test_works_under_broadcaster_and_subscribe_is_ready_when_it_returns(redis_server):
    channel = f"t-{uuid.uuid4().hex}"
    async with Broadcast(backend=RedisBackend(redis_server.url)) as broadcast:
        async with broadcast.subscribe(channel) as subscriber:
            # Published the moment subscribe() returned: the bundled backend loses this.
            await broadcast.publish(channel, "first")
            event = await asyncio.wait_for(subscriber.get(), 5)
            assert (event.channel, event.message) == (channel, "first")


async def test_reconnects_resubscribes_and_reports_the_gap(redis_server):
    backend = RedisBackend(redis_server.url, min_backoff=0.02, max_backoff=0.2)
    await backend.connect()
    try:
        await backend.subscribe("a")
        await backend.publish("a", "before")
        assert (await asyncio.wait_for(backend.next_published(), 5)).message == "before"

        redis_server.kill()
        redis_server.start()

        gap = await asyncio.wait_for(backend.next_published(), 10)
        assert gap.channel == GAP_CHANNEL
        assert backend.reconnects == 1
        await backend.publish("a", "after")  # resubscribed without anyone asking
        event = await asyncio.wait_for(backend.next_published(), 5)
        assert (event.channel, event.message) == ("a", "after")

        await backend.unsubscribe("a")
        await backend.subscribe("b")
        await backend.publish("a", "unheard")
        await backend.publish("b", "heard")
        assert (await asyncio.wait_for(backend.next_published(), 5)).message == "heard"
    finally:
        await backend.disconnect()


async def test_subscribe_while_redis_is_down_takes_effect_after_reconnect(redis_server):
    backend = RedisBackend(redis_server.url, min_backoff=0.02, max_backoff=0.2)
    await backend.connect()
    try:
        redis_server.kill()
        for _ in range(100):  # until the listener has seen the connection go
            if not backend.connected:
                break
            await asyncio.sleep(0.02)
        await backend.subscribe("later")  # returns at once while disconnected
        redis_server.start()
        assert (await asyncio.wait_for(backend.next_published(), 10)).channel == GAP_CHANNEL
        await backend.publish("later", "x")
        assert (await asyncio.wait_for(backend.next_published(), 5)).message == "x"
    finally:
        await backend.disconnect()


async def test_commands_packed_by_hiredis_are_the_bytes_redis_py_packs(redis_server):
    ours, theirs = HiredisPackedConnection(), Connection()
    for command in (
        ("MGET", "murmur:t:tw:{6b16}", "twv:é"),
        ("ZADD", b"tl", 0, "m", 2.5),
        ("CONFIG GET", "maxmemory"),
        (b"SET", memoryview(b"k"), b"\x00\xff"),
    ):
        assert b"".join(ours.pack_command(*command)) == b"".join(theirs.pack_command(*command))
    with pytest.raises(DataError):
        ours.pack_command("GET", None)
    redis = connect_redis(redis_server.url)  # and a client uses it, end to end
    assert redis.connection_pool.connection_class is HiredisPackedConnection
    try:
        pipe = redis.pipeline(transaction=False)
        pipe.set("packed:é", "ünï")
        pipe.mget(["packed:é", "packed:none"])
        assert await pipe.execute() == [True, ["ünï", None]]
    finally:
        await redis.aclose()
