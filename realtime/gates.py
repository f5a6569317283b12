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
    served) for at most ``max_wait`` seconds; one more, or one that waited too long, is
    refused with ``Overloaded``."""

    def __init__(
        self, kind: str, concurrency: int, queue: int, retry_after: float, max_wait: float = 5.0
    ) -> None:
        if concurrency < 1 or queue < 0 or max_wait <= 0:
            raise ValueError("a gate needs concurrency >= 1, queue >= 0 and max_wait > 0")
        self.kind = kind
        self.concurrency = concurrency
        self.queue = queue
        self.retry_after = retry_after
        # A client gives up on a handshake after some seconds and retries: work done for it
        # after that is wasted, and its retry waits again. Better to say "later" in time.
        self.max_wait = max_wait
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
                async with asyncio.timeout(self.max_wait):
                    await asyncio.shield(waiter)  # (a timeout must not cancel a granted slot)
            except (asyncio.CancelledError, TimeoutError) as exc:
                if waiter.done():
                    self._release()  # handed a slot just as we gave up: pass it on
                else:
                    waiter.cancel()
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
                if isinstance(exc, TimeoutError):
                    self.rejected += 1
                    raise Overloaded(self.kind, self.hint()) from None
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

    # Each handshake may hold one of the Redis pool's connections (the per-user socket
    # claim): 256 at once overflowed redis-py's pool ("Too many connections") in a storm.
    handshake_concurrency: int = 64
    handshake_queue: int = 2000
    auth_concurrency: int = 16
    auth_queue: int = 2000
    replay_concurrency: int = 16
    replay_queue: int = 2000
    retry_after: float = 2.0  # seconds; refused clients are told 1 to 2 times this
    max_wait: float = 5.0  # seconds in a queue before being refused after all


class Gates:
    """The hub's gates, one per kind of storm work."""

    def __init__(self, limits: GateLimits) -> None:
        def gate(kind: str, concurrency: int, queue: int) -> Gate:
            return Gate(kind, concurrency, queue, limits.retry_after, limits.max_wait)

        self.handshake = gate("handshake", limits.handshake_concurrency, limits.handshake_queue)
        self.auth = gate("auth", limits.auth_concurrency, limits.auth_queue)
        self.replay = gate("replay", limits.replay_concurrency, limits.replay_queue)

    def all(self) -> tuple[Gate, ...]:
        """Every gate (for metrics and stats)."""
        return (self.handshake, self.auth, self.replay)
