"""Murmur's Redis backend for broadcaster: correct subscribe readiness, reconnection, and gaps.

broadcaster 0.3.1's bundled ``RedisBackend`` marks itself ready before ``SUBSCRIBE`` has
completed (with redis-py 8 its listener then finds no subscription and stops for good) and
never reconnects after Redis drops (upstream issue #144). This one implements the same
``BroadcastBackend`` interface (``Broadcast(backend=RedisBackend(url))`` works) and:

- ``subscribe()`` returns only once Redis has confirmed the subscription, so a caller may
  read a backlog right after it without a window in which live events are lost;
- one listener task owns the pub/sub connection; when it breaks, it reconnects with
  exponential backoff and jitter and resubscribes every channel;
- after a reconnect it emits an ``Event`` on ``GAP_CHANNEL``: messages published while it
  was away are gone, and the hub must tell its sockets (replay or ``resync``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Iterable
from typing import Any

import hiredis
from broadcaster import Event
from broadcaster._backends.base import BroadcastBackend
from redis import asyncio as aioredis
from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("murmur.realtime.redis")

GAP_CHANNEL = "murmur:gap"  # never a real channel: an Event here means "you missed messages"
_BATCH = 500  # channels per SUBSCRIBE command when resubscribing
# A gap naming its channels (a cluster shard was lost): their logs are not trusted either.
_GAP_RESYNC = "resync:"


def gap_message(channels: Iterable[str]) -> str:
    """The ``GAP_CHANNEL`` message of a gap on these channels only (a lost cluster shard)."""
    return _GAP_RESYNC + json.dumps(sorted(channels))


def gap_channels(message: str) -> set[str] | None:
    """The channels a gap message names; ``None`` for a gap on every channel (one Redis
    reconnected: its logs are intact, so a replay from them is exact)."""
    if not message.startswith(_GAP_RESYNC):
        return None
    return set(json.loads(message[len(_GAP_RESYNC) :]))


def connect_redis(url: str, retries: int = 1, *, cluster: bool = False) -> Any:
    """A client that fails fast: one retry, on a fresh connection, replaces a pooled one that
    died with a Redis restart; anything longer is for the caller to handle. With ``cluster``,
    a Redis Cluster client (``url`` names any node; commands go to their slot's master and
    follow ``MOVED``; a failover is retried for a few seconds, until a replica takes over)."""
    if cluster:
        return FailoverSafeCluster.from_url(
            url,
            decode_responses=True,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), max(retries, 6)),
            socket_connect_timeout=2,
            health_check_interval=0,
        )
    return aioredis.Redis.from_url(
        url,
        decode_responses=True,
        retry=Retry(NoBackoff(), retries),
        socket_connect_timeout=2,
        health_check_interval=0,
        connection_class=HiredisPackedConnection,  # a unix:// or rediss:// URL picks its own
    )


class HiredisPackedConnection(aioredis.Connection):
    """A connection whose commands are packed by hiredis, in C. redis-py's asyncio client
    packs every argument in Python (its synchronous client uses hiredis when present): on a
    warm read, whose keys are a page's tweet ids, that was a tenth of the app's CPU."""

    def pack_command(self, *args: Any) -> list[bytes]:
        # As redis-py does: a first argument of several words ("CONFIG GET") is split.
        first = args[0].encode() if isinstance(args[0], str) else args[0]
        if b" " in first:
            args = (*first.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError as exc:  # None, a bool, ...: what redis-py's encoder refuses too
            raise DataError(str(exc)) from exc

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        """redis-py's send under its socket timeout, without ``asyncio.wait_for``: in Python
        3.11 that runs every send in a task of its own, a twentieth of a warm read's CPU. The
        bytes go to the transport at once (as redis-py's own send without a timeout does);
        the timeout bounds the wait for a full send buffer to drain. Anything but a connected
        connection's packed command is redis-py's own path."""
        writer = getattr(self, "_writer", None)
        if writer is None or not self.is_connected or not isinstance(command, list):
            return await super().send_packed_command(command, check_health)
        if check_health:
            await self.check_health()
        try:
            writer.writelines(command)
            async with asyncio.timeout(self.socket_timeout):
                await writer.drain()
        except TimeoutError:
            await self.disconnect(nowait=True)
            raise RedisTimeoutError("Timeout writing to socket") from None
        except OSError as exc:
            await self.disconnect(nowait=True)
            raise RedisConnectionError(f"Error while writing to socket: {exc}") from exc
        except BaseException:
            await self.disconnect(nowait=True)  # a send cut short leaves the stream unusable
            raise


# What redis-py 8's async cluster client can raise from inside itself while a failover
# changes the topology under concurrent commands: a connection another task closed mid-send
# (``'NoneType' object has no attribute 'writelines'``; uvloop's ``RuntimeError: unable to
# perform operation on <TCPTransport closed=True>``), a node its stale slot map no longer has
# (redis/redis-py#3835). Seen as 500s in tests/cluster/test_redis_cluster_faults.py.
_CLIENT_RACES = (AttributeError, RuntimeError, TypeError)


def _lost(exc: BaseException) -> RedisConnectionError:
    return RedisConnectionError(f"redis cluster connection lost mid-command: {exc!r}")


class _FailoverSafePipeline(ClusterPipeline):
    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        try:
            return await super().execute(raise_on_error, allow_redirections)
        except _CLIENT_RACES as exc:
            raise _lost(exc) from exc


class FailoverSafeCluster(RedisCluster):
    """redis-py's cluster client whose own failover races surface as ``ConnectionError``, a
    ``RedisError`` like any other lost connection, so every caller's Redis-outage path (fall
    back to the database, retry the batch, mark a gap) handles them."""

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().execute_command(*args, **kwargs)
        except _CLIENT_RACES as exc:
            raise _lost(exc) from exc

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> ClusterPipeline:
        if shard_hint:
            return super().pipeline(transaction, shard_hint)  # raises, as redis-py does
        return _FailoverSafePipeline(self, transaction)  # type: ignore[abstract]


class RedisBackend(BroadcastBackend):
    """Redis pub/sub for broadcaster, with reconnect, resubscribe and gap notification."""

    def __init__(self, url: str, *, min_backoff: float = 0.05, max_backoff: float = 5.0) -> None:
        self._url = url
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._channels: set[str] = set()
        self._confirmations: dict[str, list[asyncio.Future[None]]] = {}
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._pubsub: Any = None
        self._connected = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None
        self.publisher: aioredis.Redis = connect_redis(url)
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def connect(self) -> None:
        """Open the publisher and the subscriber connection (reconnects on its own)."""
        self._listener = asyncio.create_task(self._listen(), name="murmur-redis-listener")
        # Wait for the first connection, but do not fail start-up if Redis is late: the
        # listener keeps trying, and sockets are served locally meanwhile.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout=5)

    async def disconnect(self) -> None:
        """Close both connections and stop reconnecting."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._close_pubsub()
        await self.publisher.aclose()

    async def subscribe(self, channel: str) -> None:
        """Subscribe, returning once Redis has confirmed it (or at once while disconnected:
        the channel is then subscribed on reconnect, followed by a gap event)."""
        self._channels.add(channel)
        if not self._connected.is_set():
            return
        confirmed = asyncio.get_running_loop().create_future()
        self._confirmations.setdefault(channel, []).append(confirmed)
        try:
            await self._pubsub.subscribe(channel)
            await asyncio.wait_for(asyncio.shield(confirmed), timeout=5)
        except (RedisError, OSError, TimeoutError) as exc:
            # The listener notices the broken connection and resubscribes after reconnecting.
            log.warning(
                "subscribe %s not confirmed (%s); will resubscribe on reconnect", channel, exc
            )
        finally:
            waiting = self._confirmations.get(channel, [])
            if confirmed in waiting:
                waiting.remove(confirmed)

    async def unsubscribe(self, channel: str) -> None:
        """Stop receiving ``channel``."""
        self._channels.discard(channel)
        if self._connected.is_set():
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(channel)

    async def publish(self, channel: str, message: Any) -> None:
        """Publish ``message`` on ``channel`` (raises while Redis is away)."""
        await self.publisher.publish(channel, message)

    async def publish_many(self, messages: Iterable[tuple[str, str]]) -> None:
        """Publish several messages in one round trip (a pipeline)."""
        pipe = self.publisher.pipeline(transaction=False)
        for channel, message in messages:
            pipe.publish(channel, message)
        await pipe.execute()

    async def next_published(self) -> Event:
        """The next message from any subscribed channel (or a gap report)."""
        return await self._queue.get()

    async def _listen(self) -> None:
        backoff = self._min_backoff
        first = True
        while True:
            try:
                await self._open_pubsub()
                if not first:
                    self.reconnects += 1
                    log.warning("redis pub/sub reconnected; %d channels", len(self._channels))
                    self._queue.put_nowait(Event(GAP_CHANNEL, ""))
                first = False
                backoff = self._min_backoff
                await self._read_forever()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self._connected.is_set():
                    log.warning("redis pub/sub connection lost: %s", exc)
                self._connected.clear()
                self._release_waiters()
                await self._close_pubsub()
                # Jitter spreads the reconnects of many processes after a Redis restart.
                await asyncio.sleep(backoff * random.uniform(0.5, 1.5))
                backoff = min(backoff * 2, self._max_backoff)

    async def _open_pubsub(self) -> None:
        # No retries here: a broken pub/sub connection must surface, so we know of the gap.
        client = connect_redis(self._url, retries=0)
        self._pubsub = client.pubsub()
        await client.ping()  # fails fast while Redis is down
        # redis-py reads nothing on a pub/sub connection without a subscription: keep one.
        channels = [GAP_CHANNEL, *sorted(self._channels)]
        for start in range(0, len(channels), _BATCH):
            await self._pubsub.subscribe(*channels[start : start + _BATCH])
        self._connected.set()

    async def _read_forever(self) -> None:
        while True:
            message = await self._pubsub.get_message(timeout=None)
            if message is None:
                continue
            kind = message["type"]
            if kind == "message" and message["channel"] != GAP_CHANNEL:
                self._queue.put_nowait(Event(message["channel"], message["data"]))
            elif kind == "subscribe":
                release(self._confirmations.pop(message["channel"], []))

    def _release_waiters(self) -> None:
        # Their channels are resubscribed on reconnect, followed by a gap event.
        release(w for waiters in self._confirmations.values() for w in waiters)
        self._confirmations.clear()

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        await close_pubsub(pubsub)


def release(waiters: Iterable[asyncio.Future[None]]) -> None:
    """Let ``subscribe()`` calls waiting for these confirmations return."""
    for waiter in waiters:
        if not waiter.done():
            waiter.set_result(None)


async def close_pubsub(pubsub: Any) -> None:
    """Close a pub/sub connection that may be broken already (errors are moot by then)."""
    if pubsub is not None:
        with contextlib.suppress(Exception):
            await pubsub.aclose()
        with contextlib.suppress(Exception):
            await pubsub.connection_pool.disconnect()
