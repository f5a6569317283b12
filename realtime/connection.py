"""One open socket and its subscriptions: who it is, what it follows, where each stream is."""

from __future__ import annotations

import asyncio
import heapq
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator

from . import protocol
from .channels import stream_kind
from .log import EPHEMERAL_KINDS, parse_id
from .sender import Send, Sender
from .types import Identity

Position = tuple[int, int]
ZERO: Position = (0, 0)


class Subscription:
    """A socket's subscription to one client stream (``home``), fed by one or more channels
    (``home:<me>`` plus the ``user:`` channels of pulled authors).

    For replayable streams it remembers, per channel, the id of the newest event delivered,
    so a replay followed by the live tail has neither gap nor duplicate: while replaying,
    live events are buffered, and afterwards any at or before the replayed position dropped.
    """

    __slots__ = (
        "conn", "stream", "channels", "replayable", "origin",
        "last", "buffer", "paused", "live_only", "hold",
    )  # fmt: skip

    def __init__(
        self, conn: Connection, stream: str, channels: list[str], replayable: bool, origin: str
    ) -> None:
        self.conn = conn
        self.origin = origin  # when it began: where a replay starts if nothing came yet
        self.stream = stream
        self.channels = channels
        self.replayable = replayable
        self.last: dict[str, Position] = {}
        self.buffer: list[tuple[str, Position, str | None, str]] | None = None
        self.paused = False  # the token expired: per-user events wait for re-authentication
        # Channels that are never logged (typing): delivered live, outside the position.
        self.live_only = frozenset(c for c in channels if stream_kind(c) in EPHEMERAL_KINDS)
        self.hold: MergeHold | None = None  # set when its logs' ids come from several clocks

    def deliver(self, channel: str, position: Position, author: str | None, frame: str) -> None:
        """Hand one live event (already encoded for this stream) to the socket."""
        if self.buffer is not None:
            self.buffer.append((channel, position, author, frame))
            return
        if self.replayable:
            if self.paused:
                return
            if not self.live_only or channel not in self.live_only:
                if position <= self.last.get(channel, ZERO):
                    return
                self.last[channel] = position
        conn = self.conn
        if author is not None and author in conn.hidden:
            return
        conn.sender.push(frame, conn.resync_frames)

    def hold_live(self, seconds: float) -> None:
        """Send live events in id order across this subscription's logs (``MergeHold``)."""
        self.hold = MergeHold(self, seconds)

    def position(self) -> str:
        """Where this subscription is: the newest id delivered (for a replay after a gap)."""
        if not self.last:
            return self.origin
        newest = max(self.last.values())
        return f"{newest[0]}-{newest[1]}"

    def start_at(self, since: str) -> None:
        """Deliver only events after ``event_id`` (the end of a replay) from now on."""
        position = parse_id(since) or ZERO
        self.last = dict.fromkeys(self.channels, position)


class MergeHold:
    """Live events of a subscription merging logs of different Redis Cluster shards, sent
    in id order: each waits ``hold`` seconds after it arrived, then goes out with every
    event held whose id is not larger.

    Why: a client resumes with one ``since`` for all the logs it merges, so every event it
    was sent must have a smaller id than every event it was not sent. Ids on different
    shards come from different clocks; an event on a shard whose clock is behind could be
    appended after the client saw a larger id on another. Holding each event for longer
    than the clocks' skew plus the time a message takes from a shard to here makes that
    impossible (the proof is in docs/realtime.md, "Redis Cluster"). An event arriving later
    than that (a stall) is sent at once and followed by ``resync``: the order, and so the
    client's position, can no longer be trusted.
    """

    __slots__ = ("sub", "hold", "_heap", "_arrivals", "_timer", "_released", "_seq")

    def __init__(self, sub: Subscription, hold: float) -> None:
        self.sub = sub
        self.hold = hold
        self._heap: list[tuple[Position, int, str, str | None, str]] = []
        self._arrivals: deque[tuple[float, Position]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._released = ZERO  # the largest id sent on
        self._seq = 0  # ties: arrival order

    def add(self, channel: str, position: Position, author: str | None, frame: str) -> None:
        """Hold one live event (already encoded for this stream)."""
        if position == ZERO or channel in self.sub.live_only:
            self.sub.deliver(channel, position, author, frame)  # not a log id: no order
            return
        if position <= self._released:  # later than the hold allows for
            fresh = position > self.sub.last.get(channel, ZERO)  # not a repeat on its channel
            self.sub.deliver(channel, position, author, frame)
            if fresh:
                resync_stream(self.sub)
            return
        self._seq += 1
        heapq.heappush(self._heap, (position, self._seq, channel, author, frame))
        now = time.monotonic()
        self._arrivals.append((now, position))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.hold, self._flush)

    def _flush(self) -> None:
        self._timer = None
        now = time.monotonic()
        ripe = ZERO
        while self._arrivals and self._arrivals[0][0] + self.hold <= now:
            ripe = max(ripe, self._arrivals.popleft()[1])
        self._released = max(self._released, ripe)
        while self._heap and self._heap[0][0] <= self._released:
            position, _, channel, author, frame = heapq.heappop(self._heap)
            self.sub.deliver(channel, position, author, frame)
        if self._arrivals:
            wait = self._arrivals[0][0] + self.hold - now
            self._timer = asyncio.get_running_loop().call_later(max(wait, 0.0), self._flush)

    def cancel(self) -> None:
        """The subscription ended: drop what is held."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._heap.clear()
        self._arrivals.clear()


def resync_stream(sub: Subscription) -> None:
    """Tell the client ``sub``'s stream may have lost events (it refetches over REST); the
    live tail goes on from here, whatever its ids."""
    sub.last.clear()
    sub.conn.sender.push(protocol.resync(sub.stream), sub.conn.resync_frames)


class TokenBucket:
    """``burst`` at once, then ``rate`` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._refilled = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._refilled) * self._rate)
        self._refilled = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class Connection:
    """An accepted socket: identity, subscriptions, limits, and its bounded sender."""

    def __init__(
        self,
        send: Send,
        identity: Identity | None,
        *,
        max_backlog: int,
        on_drop: Callable[[int], None],
        subscribe_rate: float,
        subscribe_burst: int,
        frame_rate: float = 20.0,
        frame_burst: int = 100,
        address: str | None = None,
        token: str | None = None,
    ) -> None:
        self.identity = identity
        self.address = address  # the client's address (anonymous sockets are counted by it)
        self.token = token  # the access token it authenticated with (re-checked after a gap)
        self.anonymous_counted = False
        self.cluster_claim: str | None = None  # its place in the cluster-wide user count
        self.expired = False
        self.close: Callable[[int, str], Awaitable[None]] | None = None  # set by the endpoint
        self.closing: asyncio.Future[None] | None = None  # the close frame on its way
        self.hidden: frozenset[str] = frozenset()
        self.subscriptions: dict[str, Subscription] = {}
        self.sender = Sender(send, max_backlog, on_drop)
        # Subscribe frames cost reads, so they have a bucket of their own; every frame of any
        # kind (pings, unsubscribes, auth, invalid ones) also takes one from ``frames``.
        self._subscribes = TokenBucket(subscribe_rate, subscribe_burst)
        self.frames = TokenBucket(frame_rate, frame_burst)
        self.throttled = 0  # frames refused in a row for the frame rate
        self.typing_at: dict[str, float] = {}  # conversation -> when this socket last typed

    @property
    def user_id(self) -> str | None:
        return self.identity.user_id if self.identity else None

    def take_subscribe_token(self) -> bool:
        """Spend one subscribe from the socket's token bucket; False when it is empty."""
        return self._subscribes.take()

    async def expire(self) -> None:
        """The access token ran out: pause replayable streams until an ``auth`` frame."""
        self.expired = True
        for sub in self.subscriptions.values():
            if sub.replayable:
                sub.paused = True
        message = 'The access token expired; send {"type": "auth", "token": ...}.'
        await self.sender.send_now(protocol.error(protocol.TOKEN_EXPIRED, message))

    def resync_frames(self) -> Iterator[str]:
        """After this socket fell too far behind: every stream it follows must be refetched."""
        for sub in self.subscriptions.values():
            sub.last.clear()
            yield protocol.resync(sub.stream)
