"""Admission control for connect storms: bounded concurrency, and a bounded wait, per kind of
storm work (handshakes, token checks, replays).

When a process dies, its sockets land on the others at once. Without a bound every one of
them becomes a coroutine doing handshake, token and replay work at the same moment, and the
event loop's ready queue — which the dispatch task that feeds already-open sockets shares —
grows to thousands of entries: live delivery to sockets that never dropped stalls for as long
as the storm lasts. A ``Gate`` lets ``concurrency`` of one kind run at once and ``queue``
more wait (an idle waiter is one future, never runnable); beyond that it refuses at once with
``Overloaded``, and the socket is told to come back later (close 1013 with a ``retry_after``
hint, see ``endpoint.py``) instead of being kept waiting past any client's patience. So the
loop's work is bounded, and the dispatch task gets its turn every few steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass


class Overloaded(Exception):
    """A gate's wait queue is full: try again in about ``retry_after`` seconds."""

    def __init__(self, kind: str, retry_after: int) -> None:
        super().__init__(f"too many {kind}s in progress; retry in {retry_after} s")
        self.kind = kind
        self.retry_after = retry_after


class Gate:
    """At most ``concurrency`` holders at once, at most ``queue`` waiting (first come, first
    served); one more is refused with ``Overloaded``."""

    def __init__(self, kind: str, concurrency: int, queue: int, retry_after: float) -> None:
        if concurrency < 1 or queue < 0:
            raise ValueError("a gate needs concurrency >= 1 and queue >= 0")
        self.kind = kind
        self.concurrency = concurrency
        self.queue = queue
        self.retry_after = retry_after
        self.rejected = 0  # refusals so far (for metrics and the benchmark)
        self._free = concurrency
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """How many wait for a slot now."""
        return len(self._waiters)

    @property
    def busy(self) -> int:
        """How many hold a slot now."""
        return self.concurrency - self._free

    @contextlib.asynccontextmanager
    async def enter(self) -> AsyncIterator[None]:
        """Hold one slot for the block; raises ``Overloaded`` without waiting when the queue
        is full."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
        else:
            if len(self._waiters) >= self.queue:
                self.rejected += 1
                raise Overloaded(self.kind, self.hint())
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._release()  # handed a slot just as we were cancelled: pass it on
                else:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
                raise
        try:
            yield
        finally:
            self._release()

    def hint(self) -> int:
        """Whole seconds to wait before retrying: ``retry_after`` to twice that, at random,
        so refused clients do not all come back in the same instant."""
        return max(1, round(self.retry_after * random.uniform(1.0, 2.0)))

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes straight to the next in line
                return
        self._free += 1


@dataclass(frozen=True)
class GateLimits:
    """How much storm work of each kind runs at once, and how much may wait."""

    handshake_concurrency: int = 64
    handshake_queue: int = 2000
    auth_concurrency: int = 16
    auth_queue: int = 2000
    replay_concurrency: int = 16
    replay_queue: int = 2000
    retry_after: float = 2.0  # seconds; refused clients are told 1 to 2 times this


class Gates:
    """The hub's gates, one per kind of storm work."""

    def __init__(self, limits: GateLimits) -> None:
        self.handshake = Gate(
            "handshake", limits.handshake_concurrency, limits.handshake_queue, limits.retry_after
        )
        self.auth = Gate("auth", limits.auth_concurrency, limits.auth_queue, limits.retry_after)
        self.replay = Gate(
            "replay", limits.replay_concurrency, limits.replay_queue, limits.retry_after
        )

    def all(self) -> tuple[Gate, ...]:
        """Every gate (for metrics and stats)."""
        return (self.handshake, self.auth, self.replay)
