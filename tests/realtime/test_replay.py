"""Replay merges several logs (``home`` plus pulled ``user:`` logs) in the order events
happened, even when they share a millisecond."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import redis.asyncio as aioredis
from pydantic import BaseModel

from realtime.log import MemoryLog, RedisLog, parse_id
from realtime.replay import SharedReads, read_missed


async def _interleave(event_log: RedisLog | MemoryLog, home: str, user: str) -> list[str]:
    """60 events alternating between two logs, in bursts that share milliseconds."""
    ids = []
    for burst in range(3):
        entries = [((home, user)[i % 2], f"author|{burst * 20 + i}") for i in range(20)]
        ids += await event_log.append(entries)
    return ids


async def test_ids_order_events_across_logs_within_a_millisecond(redis_server):
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        for event_log in (RedisLog(client, 1000), MemoryLog(1000)):
            home, user = f"home:{uuid.uuid4().hex}", f"user:{uuid.uuid4().hex}"
            start = (await event_log.append([(f"home:{uuid.uuid4().hex}", "author|start")]))[0]
            ids = await _interleave(event_log, home, user)
            positions = [parse_id(i) for i in ids]
            assert positions == sorted(positions) and len(set(ids)) == len(ids)

            missed = await read_missed(event_log, [home, user], start, 500)
            assert missed is not None
            assert [entry for _, _, entry in missed] == [f"author|{n}" for n in range(60)]
            assert [i for i, _, _ in missed] == ids

            # Resuming from the middle gives exactly the rest, in order.
            rest = await read_missed(event_log, [user, home], ids[29], 500)
            assert rest is not None and [i for i, _, _ in rest] == ids[30:]
    finally:
        await client.aclose()


async def test_concurrent_writers_publish_a_channel_in_id_order(redis_server):
    """Two processes' worth of writers (separate connections) appending to one stream at once:
    a subscriber hears every event, in id order — live delivery drops anything older than
    the newest it delivered, so an inversion would lose an event."""
    writers = [aioredis.Redis.from_url(redis_server.url, decode_responses=True) for _ in range(2)]
    listener = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    pubsub = listener.pubsub()
    stream = f"user:{uuid.uuid4().hex}"
    try:
        await pubsub.subscribe(stream)
        assert (await pubsub.get_message(timeout=5))["type"] == "subscribe"
        logs = [RedisLog(w, 1000) for w in writers]

        async def write(n: int) -> list[str]:
            return await logs[n % 2].append([(stream, f"author|{n}")], publish=True)

        ids = [i for batch in await asyncio.gather(*(write(n) for n in range(200))) for i in batch]
        heard: list[str] = []
        async with asyncio.timeout(10):
            while len(heard) < len(ids):
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:
                    heard.append(message["data"].split("|", 1)[0])
        assert sorted(heard) == sorted(ids)
        assert [parse_id(i) for i in heard] == sorted(parse_id(i) for i in heard)
    finally:
        await pubsub.aclose()
        for client in (*writers, listener):
            await client.aclose()


async def test_an_announcement_named_once_is_logged_once(redis_server):
    """An outbox batch re-run after a worker crash announces the same change again: with the
    same ``once`` key nothing is appended (nor published) the second time, so a resuming
    client cannot get it twice under two ids; another key, or none, appends as before."""
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        for event_log in (RedisLog(client, 1000), MemoryLog(1000)):
            home = f"home:{uuid.uuid4().hex}"
            start = (await event_log.append([(home, "author|start")]))[0]
            once = f"tweet:{uuid.uuid4().hex}:v1:tweet.created"
            first = await event_log.append([(home, "author|created")], once=once)
            assert len(first) == 1
            assert await event_log.append([(home, "author|created")], once=once) == []
            assert len(await event_log.append([(home, "author|edited")], once=once + "x")) == 1
            assert len(await event_log.append([(home, "author|plain")])) == 1
            missed = await read_missed(event_log, [home], start, 500)
            assert missed is not None
            assert [e for *_, e in missed] == ["author|created", "author|edited", "author|plain"]
            # Streams that keep no log (public, hashtags) claim the key before publishing.
            assert await event_log.claim(once + ":unlogged")
            assert not await event_log.claim(once + ":unlogged")
    finally:
        await client.aclose()


class _GatedLog(MemoryLog):
    """A memory log that counts reads and holds each (with what the log held when it
    began) until ``gate`` opens, so that reads are in flight together (as a storm of
    resuming sockets makes them)."""

    def __init__(self, expected: int) -> None:
        super().__init__(1000)
        self.reads = 0
        self.gate = asyncio.Event()
        self.expected, self.all_in = expected, asyncio.Event()  # set at ``expected`` reads

    async def read_after(self, stream: str, since: str, limit: int) -> list[tuple[str, str]] | None:
        self.reads += 1
        found = await super().read_after(stream, since, limit)  # what the log holds now
        if self.reads >= self.expected:
            self.all_in.set()
        await self.gate.wait()
        return found


async def test_identical_concurrent_replays_cost_one_log_read():
    """50 sockets resuming the same stream from the same id at once: one read of the log
    answers them all; a different position is a read of its own; once answered, a later
    replay reads again (nothing is cached)."""
    inner = _GatedLog(expected=2)
    shared = SharedReads(inner)
    home = f"home:{uuid.uuid4().hex}"
    start = (await inner.append([(home, "author|start")]))[0]
    ids = await inner.append([(home, f"author|{n}") for n in range(5)])
    replays = [asyncio.create_task(read_missed(shared, [home], start, 500)) for _ in range(50)]
    other = asyncio.create_task(read_missed(shared, [home], ids[2], 500))
    async with asyncio.timeout(5):
        # Both distinct reads have reached the log; the tasks run in order, so by then every
        # replay of the first position is waiting on the read already in flight.
        await inner.all_in.wait()
    replays[0].cancel()  # one socket closing does not cancel the read the others wait on
    inner.gate.set()
    answers = await asyncio.gather(*replays[1:])
    assert inner.reads == 2
    assert all(a is not None and [e for *_, e in a] == [f"author|{n}" for n in range(5)]
               for a in answers)  # fmt: skip
    rest = await other
    assert rest is not None and [e for *_, e in rest] == ["author|3", "author|4"]
    await read_missed(shared, [home], start, 500)
    assert inner.reads == 3


async def test_a_replay_never_joins_a_read_that_began_before_it():
    """A read in flight began before a newcomer attached its live channel: an event logged
    in between is in neither, so the newcomer must get a read of its own, which has it."""
    inner = _GatedLog(expected=1)
    shared = SharedReads(inner)
    home = f"home:{uuid.uuid4().hex}"
    start = (await inner.append([(home, "author|start")]))[0]
    first = asyncio.create_task(read_missed(shared, [home], start, 500))
    async with asyncio.timeout(5):
        await inner.all_in.wait()  # the first read has begun
    await inner.append([(home, "author|meanwhile")])
    second = asyncio.create_task(read_missed(shared, [home], start, 500))
    inner.gate.set()
    early, late = await asyncio.gather(first, second)
    assert early is not None and [e for *_, e in early] == []
    assert late is not None and [e for *_, e in late] == ["author|meanwhile"]
    assert inner.reads == 2


async def test_a_batch_to_logged_and_unlogged_streams_goes_in_three_round_trips(redis_server):
    """The requests of a moment announce their tweets together (``publish_many``): the
    logged streams' entries appended and published, the others' once keys claimed, their
    messages broadcast — three round trips for the lot. Every stream hears each event once;
    the same batch again sends only the event named by no key."""
    from broadcaster import Broadcast

    from realtime.log import IdClock
    from realtime.metrics import HubMetrics
    from realtime.publisher import EventPublisher
    from realtime.redis_backend import RedisBackend
    from server.events import TweetCreated
    from server.models import Tweet
    from tests.redisrounds import round_trips

    backend = RedisBackend(redis_server.url)
    publisher = EventPublisher(
        backend, RedisLog(backend.publisher, 1000), IdClock(), HubMetrics(lambda: 0, dict)
    )
    run = uuid.uuid4().hex
    streams = [f"home:{run}", f"user:{run}", f"public:{run}", f"hashtag:{run}"]
    tweets = [
        Tweet(tweet_id=uuid.uuid4().hex[:24], user_id=run, user_name="ann", content=f"t{i}",
              html=f"<p>t{i}</p>", tags=[], mentions=[], created_at="2026-12-07T00:00:00Z")
        for i in range(3)
    ]  # fmt: skip
    batch = [(streams, TweetCreated(data=t), f"tweet:{t.tweet_id}:once") for t in tweets[:2]]
    batch.append((streams, TweetCreated(data=tweets[2]), None))
    async with Broadcast(backend=backend) as broadcast:
        heard: dict[str, list[str]] = {s: [] for s in streams}

        async def listen(stream: str, ready: asyncio.Event) -> None:
            async with broadcast.subscribe(stream) as subscriber:
                ready.set()
                while True:
                    event = await subscriber.get()
                    heard[stream].append(event.message.split("|", 2)[2])

        readies = {s: asyncio.Event() for s in streams}
        listeners = [asyncio.create_task(listen(s, r)) for s, r in readies.items()]
        try:
            await asyncio.gather(*(r.wait() for r in readies.values()))
            await backend.publisher.script_load(RedisLog._APPEND)  # no NOSCRIPT retry counted
            with round_trips(backend.publisher) as sent:
                await publisher.publish_many(batch)
            assert len(sent) == 3, sent

            def contents(stream: str) -> list[str]:
                return [json.loads(m)["data"]["content"] for m in heard[stream]]

            deadline = asyncio.get_running_loop().time() + 5
            while any(len(heard[s]) < 3 for s in streams):
                assert asyncio.get_running_loop().time() < deadline, heard
                await asyncio.sleep(0.01)
            await publisher.publish_many(batch)  # a retry: only the unnamed one again
            while any(len(heard[s]) < 4 for s in streams):
                assert asyncio.get_running_loop().time() < deadline, heard
                await asyncio.sleep(0.01)
            await publisher.publish_many([batch[2]])  # a marker: nothing else came before it
            while any(len(heard[s]) < 5 for s in streams):
                assert asyncio.get_running_loop().time() < deadline, heard
                await asyncio.sleep(0.01)
            for stream in streams:
                assert contents(stream) == ["t0", "t1", "t2", "t2", "t2"], stream
            assert publisher.gapped == set()
        finally:
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)


async def test_a_batch_for_an_unreachable_redis_is_lost_at_once_not_one_by_one() -> None:
    """Redis not answering: the batch's streams are marked for a resync mark at once, not
    tried again event by event (each would wait out the same connection error)."""
    from realtime.log import IdClock
    from realtime.metrics import HubMetrics
    from realtime.publisher import EventPublisher
    from realtime.redis_backend import RedisBackend
    from server.embedded import free_port

    backend = RedisBackend(f"redis://127.0.0.1:{free_port()}")  # nothing listens there
    publisher = EventPublisher(
        backend, RedisLog(backend.publisher, 1000), IdClock(), HubMetrics(lambda: 0, dict)
    )
    tried: list[Any] = []

    async def one_by_one(*args: Any) -> None:
        tried.append(args)

    publisher._publish_entries = one_by_one  # type: ignore[method-assign]
    streams = ["home:a", "user:a", "public", "hashtag:x"]
    await publisher.publish_many([(streams, _Event(n=i), f"e{i}") for i in range(3)])
    assert tried == [] and publisher.gapped == set(streams)
    await backend.publisher.aclose()


class _Event(BaseModel):
    n: int
