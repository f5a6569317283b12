"""Sharded pub/sub on a Redis Cluster (``SSUBSCRIBE``/``SPUBLISH``), with gaps reported.

With ``PUBLISH`` every message reaches every node of a cluster; with ``SPUBLISH`` it stays on
the shard that owns its channel's slot. ``ClusterBackend`` has ``RedisBackend``'s interface
(and its guarantees) on a cluster:

- one subscriber connection per master this process needs, created when a channel of its
  slots is first subscribed; a channel is ``SSUBSCRIBE``d on its slot's master
  (``SSUBSCRIBE`` of several channels must stay in one slot: resubscribing groups by slot);
- ``subscribe()`` returns once the shard has confirmed;
- when a shard connection breaks (a master killed, a failover), or the shard says a channel
  left it (an unasked ``sunsubscribe``: its slot moved), the backend re-reads the cluster's
  slots (``CLUSTER SLOTS``), subscribes the channels on their owners now, with backoff until
  they answer, and then emits a gap on ``GAP_CHANNEL`` naming those channels
  (``gap_message``): a failover may have lost what the old master had not yet replicated,
  so the hub must not trust a replay from that shard's logs, and sends their subscriptions
  ``resync`` (``hub._on_gap``); subscriptions on the other shards missed nothing.

redis-py's own ``ClusterPubSub`` reconnects shards silently, which would hide exactly the
gaps the hub must know about, hence these few small subscriber loops of our own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterable
from typing import Any

from broadcaster import Event
from broadcaster._backends.base import BroadcastBackend
from redis.crc import key_slot
from redis.exceptions import RedisClusterException, RedisError

from .redis_backend import GAP_CHANNEL, close_pubsub, connect_redis, gap_message, release

log = logging.getLogger("murmur.realtime.shards")


def slot_of(channel: str) -> int:
    """The cluster slot of a sharded channel (the same rule as for keys, hash tags too)."""
    return key_slot(channel.encode())


_NOWHERE = ("127.0.0.1", 0)  # where a channel waits while no master is known for it


class _Shard:
    """One subscriber connection to one master and the channels this process wants there."""

    def __init__(self, backend: ClusterBackend, address: tuple[str, int]) -> None:
        self.backend = backend
        self.address = address
        self.channels: set[str] = set()
        self.lost: set[str] = set()  # channels that missed messages: reported once subscribed
        self.fresh = True  # never connected nor failed: a subscribe waits for the connection
        # Channels SSUBSCRIBEd on the current connection (by ``_open`` or ``subscribe``):
        # a channel unsubscribed and wanted again must be subscribed again.
        self.subscribed_here: set[str] = set()
        self.pubsub: Any = None
        self.connected = asyncio.Event()
        self.confirmations: dict[str, list[asyncio.Future[None]]] = {}
        self.task = asyncio.create_task(self._run(), name=f"murmur-shard-{address[1]}")

    async def subscribe(self, channel: str) -> None:
        """``SSUBSCRIBE`` and wait for the shard's confirmation (or give up on a broken
        connection: the loop resubscribes and reports a gap)."""
        self.channels.add(channel)
        if not self.connected.is_set() and not self.fresh:
            return  # reconnecting: subscribed then, and the gap reported
        confirmed = asyncio.get_running_loop().create_future()
        self.confirmations.setdefault(channel, []).append(confirmed)
        try:
            if not self.connected.is_set():  # a new shard connection: wait for it
                opened = asyncio.ensure_future(self.connected.wait())
                await asyncio.wait({opened, confirmed}, timeout=5, return_when="FIRST_COMPLETED")
                opened.cancel()
                if confirmed.done() or not self.connected.is_set():
                    return  # subscribed as it opened, or it failed (then: a gap, later)
            if channel not in self.subscribed_here:
                self.subscribed_here.add(channel)
                await self.pubsub.ssubscribe(channel)
            await asyncio.wait_for(asyncio.shield(confirmed), timeout=5)
        except (RedisError, OSError, TimeoutError, AttributeError) as exc:
            log.warning("ssubscribe %s not confirmed (%s); resubscribing", channel, exc)
        finally:
            waiting = self.confirmations.get(channel, [])
            if confirmed in waiting:
                waiting.remove(confirmed)

    def add(self, channel: str) -> None:
        """Take over a channel that missed messages, while not connected: it is subscribed,
        and its gap reported, when the connection opens."""
        self.channels.add(channel)
        self.lost.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self.channels.discard(channel)
        self.lost.discard(channel)
        self.subscribed_here.discard(channel)
        if self.connected.is_set():
            with contextlib.suppress(RedisError, OSError):
                await self.pubsub.sunsubscribe(channel)

    async def _run(self) -> None:
        backend = self.backend
        delay = backend.min_backoff
        while True:
            try:
                await self._open()
                self.fresh = False
                if self.lost:
                    lost, self.lost = self.lost, set()
                    backend.report_gap(lost)
                delay = backend.min_backoff
                await self._read_forever()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self.connected.is_set():
                    log.warning("shard %s:%d lost: %s", *self.address, exc)
                self.fresh = False
                self.connected.clear()
                self._release_waiters()
                await self._close()
                self.lost |= self.channels
                # Jitter spreads the reconnects of many processes after a failover.
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, backend.max_backoff)
                await backend.rehome(self)
                if not self.channels:  # every channel lives elsewhere now
                    backend.forget(self)
                    return

    async def _open(self) -> None:
        # No retries: redis-py would reconnect and resubscribe silently, hiding the gap.
        client = connect_redis(f"redis://{self.address[0]}:{self.address[1]}/0", retries=0)
        self.pubsub = client.pubsub()
        await client.ping()  # fails fast while the node is down
        self.subscribed_here = set(self.channels)
        by_slot: dict[int, list[str]] = {}
        for channel in sorted(self.subscribed_here):
            by_slot.setdefault(slot_of(channel), []).append(channel)
        for channels in by_slot.values():  # SSUBSCRIBE across slots is CROSSSLOT
            await self.pubsub.ssubscribe(*channels)
        # Confirmed before anyone hears of it: a gap reported earlier would let the hub tell
        # its sockets "resync" while messages published meanwhile still go unheard.
        pending = set(self.subscribed_here)
        async with asyncio.timeout(5):
            while pending:
                message = await self.pubsub.get_message(timeout=None)
                if message is not None:
                    self._handle(message)
                    if message["type"] == "ssubscribe":
                        pending.discard(message["channel"])
        self.connected.set()

    async def _read_forever(self) -> None:
        while True:
            message = await self.pubsub.get_message(timeout=None)
            if message is not None and self._handle(message):
                # Not asked for: the slot moved to another master (or this one became a
                # replica). Subscribe it where it lives now, and report the gap — in a task
                # of its own: this loop must go on reading (the confirmation may come here).
                self.channels.discard(message["channel"])
                self.subscribed_here.discard(message["channel"])
                task = asyncio.create_task(self.backend.moved(message["channel"]))
                self.backend.tasks.add(task)
                task.add_done_callback(self.backend.tasks.discard)

    def _handle(self, message: dict[str, Any]) -> bool:
        """Queue a message, or release a confirmation; True for a channel taken away."""
        kind, channel = message["type"], message["channel"]
        if kind == "smessage":
            self.backend.queue.put_nowait(Event(channel, message["data"]))
        elif kind == "ssubscribe":
            release(self.confirmations.pop(channel, []))
        return kind == "sunsubscribe" and channel in self.channels

    def _release_waiters(self) -> None:
        release(w for waiters in self.confirmations.values() for w in waiters)
        self.confirmations.clear()

    async def _close(self) -> None:
        pubsub, self.pubsub = self.pubsub, None
        await close_pubsub(pubsub)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self._close()


class ClusterBackend(BroadcastBackend):
    """Sharded pub/sub for broadcaster on a Redis Cluster; ``url`` names any node."""

    def __init__(self, url: str, *, min_backoff: float = 0.05, max_backoff: float = 1.0) -> None:
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.publisher: Any = connect_redis(url, cluster=True)  # a RedisCluster
        self._shards: dict[tuple[str, int], _Shard] = {}
        self._owner: dict[str, _Shard] = {}  # channel -> the shard it is subscribed on
        self._refreshing: asyncio.Lock | None = None
        self.tasks: set[asyncio.Task[None]] = set()  # channels being moved (kept referenced)
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        return all(s.connected.is_set() for s in self._shards.values())

    async def connect(self) -> None:
        """Read the cluster's slots (subscriber connections open as channels need them)."""
        self._refreshing = asyncio.Lock()
        # Not fatal: a cluster away at start-up is joined later (and the gap reported).
        with contextlib.suppress(RedisError, RedisClusterException, OSError):
            await self.publisher.initialize()

    async def disconnect(self) -> None:
        """Close every shard connection and the publisher."""
        for task in list(self.tasks):
            task.cancel()
        for shard in list(self._shards.values()):
            await shard.stop()
        self._shards.clear()
        self._owner.clear()
        await self.publisher.aclose()

    async def subscribe(self, channel: str) -> None:
        """``SSUBSCRIBE`` on the channel's master, returning once it confirmed."""
        shard = self._owner.get(channel) or self._shard_for(channel)
        self._owner[channel] = shard
        await shard.subscribe(channel)

    async def unsubscribe(self, channel: str) -> None:
        """Stop receiving ``channel``."""
        shard = self._owner.pop(channel, None)
        if shard is not None:
            await shard.unsubscribe(channel)

    async def publish(self, channel: str, message: Any) -> None:
        """``SPUBLISH`` on the channel's master (raises while its shard is away)."""
        await self.publisher.spublish(channel, message)

    async def publish_many(self, messages: Iterable[tuple[str, str]]) -> None:
        """Several ``SPUBLISH``es, one round trip per master (a cluster pipeline)."""
        pipe = self.publisher.pipeline(transaction=False)
        for channel, message in messages:
            pipe.spublish(channel, message)
        await pipe.execute()

    async def next_published(self) -> Event:
        """The next message from any shard (or a gap report)."""
        return await self.queue.get()

    # --- topology: which master serves a channel, and following it when it moves ---

    def _shard_for(self, channel: str) -> _Shard:
        try:
            node = self.publisher.nodes_manager.get_node_from_slot(slot_of(channel))
            address = (node.host, int(node.port))
        except Exception:  # no slot map yet (the cluster was away at start-up)
            # A shard that cannot connect: its loop re-reads the slots until the channel has
            # an owner, moves it there and reports the gap.
            address = _NOWHERE
        shard = self._shards.get(address)
        if shard is None or shard.task.done():
            shard = self._shards[address] = _Shard(self, address)
        return shard

    async def _refresh(self) -> None:
        assert self._refreshing is not None
        async with self._refreshing:
            with contextlib.suppress(RedisError, RedisClusterException, OSError):
                # The client's own start-up first (a no-op once done; it failed if the
                # cluster was away when this process started), then a fresh slot map.
                await self.publisher.initialize()
                await self.publisher.nodes_manager.initialize()

    async def rehome(self, shard: _Shard) -> None:
        """After ``shard`` broke: re-read the slots and move its channels to their owners
        now (those its node still owns stay, and it retries)."""
        self.reconnects += 1
        await self._refresh()
        for channel in list(shard.channels):
            owner = self._shard_for(channel)
            if owner is not shard:
                shard.channels.discard(channel)
                shard.lost.discard(channel)
                self._owner[channel] = owner
                await self._take_over(owner, channel)

    async def moved(self, channel: str) -> None:
        """A shard dropped ``channel`` on its own (its slot moved): subscribe it anew."""
        if self._owner.get(channel) is None:
            return  # unsubscribed meanwhile
        await self._refresh()
        owner = self._owner[channel] = self._shard_for(channel)
        await self._take_over(owner, channel)

    async def _take_over(self, owner: _Shard, channel: str) -> None:
        """Subscribe a channel that missed messages on ``owner``; the gap is reported once
        it is confirmed there (by ``owner``'s loop if it is not connected yet)."""
        if owner.connected.is_set():
            await owner.subscribe(channel)
            self.report_gap({channel})
        else:
            owner.add(channel)

    def report_gap(self, channels: set[str]) -> None:
        """Tell the hub these channels may have lost messages (see the module's docstring)."""
        self.queue.put_nowait(Event(GAP_CHANNEL, gap_message(channels)))

    def forget(self, shard: _Shard) -> None:
        if self._shards.get(shard.address) is shard:
            del self._shards[shard.address]
