"""Which local subscriptions listen on which channel: one backend subscription per channel
per process, however many sockets want it, and the local fan-out of what arrives on it."""

from __future__ import annotations

import asyncio
import contextlib
import time

from broadcaster._backends.base import BroadcastBackend

from . import protocol
from .connection import ZERO, Subscription
from .log import parse_id
from .metrics import HubMetrics
from .replay import RESYNC_MARK, event_frame


class Listeners:
    """Channel → local subscriptions; subscribes the backend on the first, unsubscribes
    after the last."""

    def __init__(self, backend: BroadcastBackend, metrics: HubMetrics) -> None:
        self.backend = backend
        self.metrics = metrics
        self._channels: dict[str, set[Subscription]] = {}
        self._ready: dict[str, asyncio.Future[None]] = {}
        self.delivered = 0  # frames handed to sockets, for events-per-second in stats

    def __len__(self) -> int:
        return len(self._channels)

    async def attach(self, channel: str, sub: Subscription) -> None:
        """Listen on ``channel``; returns once the backend's SUBSCRIBE is confirmed."""
        listeners = self._channels.get(channel)
        if listeners is None:
            self._channels[channel] = {sub}
            ready = self._ready[channel] = asyncio.get_running_loop().create_future()
            try:
                await self.backend.subscribe(channel)
            finally:
                ready.set_result(None)
                del self._ready[channel]
        else:
            listeners.add(sub)
            pending = self._ready.get(channel)
            if pending is not None:  # someone else's SUBSCRIBE is in flight: wait for it
                await asyncio.shield(pending)

    async def detach(self, sub: Subscription) -> None:
        """Stop delivering ``channel`` to ``sub``; True when no local listener is left."""
        if sub.hold is not None:
            sub.hold.cancel()
        for channel in sub.channels:
            listeners = self._channels.get(channel)
            if listeners is None:
                continue
            listeners.discard(sub)
            if not listeners and channel not in self._ready:
                del self._channels[channel]
                with contextlib.suppress(Exception):
                    await self.backend.unsubscribe(channel)

    def fan_out(self, channel: str, message: str) -> None:
        """Hand one published message (``<id>|<author>|<body>``) to every local listener,
        encoded once per client stream name."""
        listeners = self._channels.get(channel)
        if not listeners:
            return
        event_id, author, body = message.split("|", 2)
        position = parse_id(event_id) or ZERO
        if position != ZERO:  # an ephemeral event's id is not a time
            self.metrics.latency.observe(max(0.0, time.time() - position[0] / 1000))
        frames: dict[str, str] = {}
        who = author or None
        for sub in list(listeners):
            frame = frames.get(sub.stream)
            if frame is None:
                frame = frames[sub.stream] = (
                    protocol.resync(sub.stream)
                    if body == RESYNC_MARK
                    else event_frame(sub.stream, event_id, body)
                )
            if sub.hold is None:
                sub.deliver(channel, position, who, frame)
            else:
                sub.hold.add(channel, position, who, frame)
        self.delivered += len(listeners)
        self.metrics.delivered.inc(len(listeners))
