"""A socket's bounded send path, built to cost about what a plain send loop costs.

The obvious design — an ``asyncio.Queue`` and a writer task per socket — keeps a pending
future (and ~200 GC-tracked objects) per idle socket, and full garbage collections over them
dominate tail latency at thousands of sockets. Here an idle socket owns no task and no
future: a frame is written straight to the transport by running the ASGI ``send`` coroutine
one step. uvicorn's ``send`` only suspends when the transport's buffer is over its high-water
mark; only then does the socket get a task that finishes that send, drains a bounded backlog
and goes away again. A socket whose backlog overflows loses it and is sent ``resync`` for
every stream it follows once it has caught up: memory stays bounded and nobody waits for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

log = logging.getLogger("murmur.realtime.sender")

Send = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]


class Sender:
    """Writes text frames to one socket without ever making the caller wait."""

    __slots__ = (
        "_send",
        "_max",
        "_backlog",
        "_task",
        "_overflowed",
        "_resync",
        "closed",
        "on_drop",
    )

    def __init__(self, send: Send, max_backlog: int, on_drop: Callable[[int], None]) -> None:
        self._send = send
        self._max = max_backlog
        self._backlog: deque[str] | None = None  # None while the socket keeps up
        self._task: asyncio.Task[None] | None = None
        self._overflowed = False
        self._resync: Callable[[], Iterable[str]] = tuple
        self.closed = False
        self.on_drop = on_drop  # counts frames thrown away (for metrics)

    @property
    def behind(self) -> bool:
        """Whether the socket is behind (frames wait in its bounded backlog)."""
        return self._backlog is not None

    def push(self, frame: str, resync_frames: Callable[[], Iterable[str]]) -> None:
        """Send ``frame`` now if the socket keeps up, else queue it (bounded)."""
        if self.closed:
            return
        backlog = self._backlog
        if backlog is not None:
            if len(backlog) < self._max:
                backlog.append(frame)
                return
            # Stayed full: drop what is queued; the client refetches after a resync.
            self.on_drop(len(backlog) + 1)
            backlog.clear()
            self._overflowed = True
            return
        coro = self._send({"type": "websocket.send", "text": frame})
        try:
            blocked = coro.send(None)
        except StopIteration:
            return  # written to the transport: the common case
        except Exception:
            self.closed = True
            return
        self._backlog = deque()
        self._resync = resync_frames
        self._task = asyncio.create_task(self._drain(coro, blocked))

    async def _drain(self, coro: Coroutine[Any, Any, None], blocked: Any) -> None:
        try:
            await _finish(coro, blocked)
            while True:
                backlog = self._backlog
                assert backlog is not None
                if backlog:
                    await self._send({"type": "websocket.send", "text": backlog.popleft()})
                elif self._overflowed:
                    self._overflowed = False
                    for frame in list(self._resync()):
                        backlog.append(frame)
                else:
                    break
        except asyncio.CancelledError:
            raise
        except Exception:  # the client went away while we were behind
            self.closed = True
        finally:
            self._backlog = None
            self._task = None

    async def send_now(self, frame: str) -> None:
        """Send a control frame (error, pong, subscribed) in order with queued events."""
        if self.closed:
            return
        if self._backlog is not None:
            self._backlog.append(frame)
            return
        await self._send({"type": "websocket.send", "text": frame})

    def cancel(self) -> None:
        """Stop sending for good (the socket is closing); whatever is queued is dropped."""
        self.closed = True
        self._backlog = None  # a drain task cancelled before it ran never reaches its finally
        if self._task is not None:
            self._task.cancel()


async def _finish(coro: Coroutine[Any, Any, None], blocked: Any) -> None:
    """Run a coroutine that already took one step (and yielded ``blocked``) to completion.

    This is what ``asyncio.eager_task_factory`` does on Python 3.12+: the coroutine awaits a
    future, so wait for that future (without consuming its result), resume the coroutine,
    and repeat until it returns.
    """
    while True:
        try:
            if blocked is None:  # a bare ``yield``, as in asyncio.sleep(0)
                await asyncio.sleep(0)
            else:
                await asyncio.wait([blocked])
        except asyncio.CancelledError:
            coro.close()
            raise
        try:
            error = blocked.exception() if blocked is not None and not blocked.cancelled() else None
            blocked = coro.throw(error) if error is not None else coro.send(None)
        except StopIteration:
            return
