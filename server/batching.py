"""Batching: what concurrent callers hand over at once goes on its way together.

Per key, a queue of waiting items and at most ``in_flight`` batches on their way: the first
item is sent at once, alone (an idle server adds no latency); those that arrive while it is
on its way go together in the next batch, and so on. Each caller waits for its own answer,
which the batch's ``send`` gives it (``answer``). Used for new tweets' inserts
(``store/group_insert.py``) and for what a request announces of them
(``server/tweets.py:announce_own``).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

# (item, the future its caller waits on)
Waiting = tuple[Any, "asyncio.Future[Any]"]
# Sends a batch and answers each of its callers (``answer``).
Send = Callable[[list[Waiting]], Awaitable[None]]


class Batches:
    """Queues per key, ``max_batch`` items a batch, ``in_flight`` batches on their way per
    key. ``sent`` counts the batches (tests and benchmarks)."""

    def __init__(self, max_batch: int, in_flight: int) -> None:
        self.max_batch = max_batch
        self.in_flight = in_flight
        self._queues: dict[str, list[Waiting]] = {}
        self._senders: dict[str, set[asyncio.Task[None]]] = {}
        self.sent = 0

    async def submit(self, key: str, item: Any, send: Send) -> Any:
        """Queue ``item`` under ``key``; returns (or raises) what its batch's ``send``
        answered it."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(key, []).append((item, done))
        senders = self._senders.setdefault(key, set())
        if len(senders) < self.in_flight:
            # A task of its own, not the first caller: a caller cancelled (its client gone)
            # must not strand the items of the others.
            # A context of its own: the first caller's (its request id in the logs) is not
            # the batch's.
            task = asyncio.create_task(
                self._send(key, send), name=f"batch:{key}", context=contextvars.Context()
            )
            senders.add(task)
        # shield: a cancelled caller stops waiting; its item is still sent.
        return await asyncio.shield(done)

    async def _send(self, key: str, send: Send) -> None:
        queue = self._queues[key]
        try:
            while queue:
                batch, queue[:] = queue[: self.max_batch], queue[self.max_batch :]
                self.sent += 1
                try:
                    await send(batch)
                except Exception as exc:  # noqa: BLE001 (each caller hears it)
                    answer(batch, dict.fromkeys(range(len(batch)), exc), None)
                except BaseException as exc:  # the sender cancelled (shutdown)
                    cut = RuntimeError(f"cut short: {exc!r}")
                    answer(batch, dict.fromkeys(range(len(batch)), cut), None)
                    if len(self._senders[key]) == 1:  # nobody left to send the rest
                        answer(queue, dict.fromkeys(range(len(queue)), cut), None)
                        queue.clear()
                    raise
                answer(batch, {}, None)  # whoever ``send`` left unanswered
        finally:
            task = asyncio.current_task()
            assert task is not None
            self._senders[key].discard(task)


def answer(batch: list[Waiting], failed: dict[int, BaseException], result: Any) -> None:
    """Each caller still waiting: its error from ``failed`` (by position), else ``result``."""
    for i, (_, done) in enumerate(batch):
        if done.done():
            continue
        if i in failed:
            done.set_exception(failed[i])
            # Retrieved here: a caller that was cancelled meanwhile never reads it.
            done.add_done_callback(lambda f: f.exception())
        else:
            done.set_result(result)
