"""Keep long-lived socket state out of Python's full garbage collections.

Every open socket owns a few hundred GC-tracked objects (uvicorn's protocol, the websockets
state machine, the ASGI task awaiting ``receive``, our ``Connection``). A full collection
walks all of them, so at thousands of sockets each one is a pause of tens of milliseconds in
the middle of a fan-out. After a burst of connects settles, ``gc.freeze()`` moves what exists
into the permanent generation, which collections skip. Frozen objects are still freed by
reference counting when a socket closes; only reference cycles among them would linger, so
once many frozen sockets have closed, the heap is unfrozen, collected once and frozen again —
only once connects *and* closes have settled: that full collection walks every object (seconds
at 5,000+ sockets on a busy machine), and during a connect storm, with refused attempts closing
all the time, it would stall live delivery to every open socket mid-storm.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger("murmur.realtime.gc")


class GcFreezer:
    """Call ``opened()``/``closed()`` per socket and ``tick()`` now and then."""

    def __init__(self, min_burst: int = 100, settle_seconds: float = 0.5) -> None:
        self.min_burst = min_burst
        self.settle_seconds = settle_seconds
        self.since_freeze = 0  # sockets opened since the last freeze
        self.closed_since = 0  # sockets closed since the last freeze
        self.frozen_sockets = 0
        self._last_open = 0.0
        self._last_close = 0.0

    def opened(self) -> None:
        """Count a socket opened (the next tick may freeze)."""
        self.since_freeze += 1
        self._last_open = time.monotonic()

    def closed(self) -> None:
        """Count a socket closed (enough closed frozen sockets trigger an unfreeze)."""
        self.closed_since += 1
        self._last_close = time.monotonic()

    def tick(self, open_sockets: int) -> None:
        """Freeze once connects have settled; unfreeze, collect and refreeze after churn."""
        now = time.monotonic()
        settled = now - self._last_open >= self.settle_seconds
        quiet = settled and now - self._last_close >= self.settle_seconds
        if quiet and self.closed_since > max(self.min_burst, self.frozen_sockets // 2):
            # Many frozen sockets are gone: let a full collection look at them once.
            started = time.perf_counter()
            gc.unfreeze()
            gc.collect()
            self._freeze(started, open_sockets)
        elif self.since_freeze >= self.min_burst and settled:
            self._freeze(time.perf_counter(), open_sockets)

    def _freeze(self, started: float, open_sockets: int) -> None:
        gc.collect(1)  # young garbage is not worth keeping forever
        gc.freeze()
        self.frozen_sockets = open_sockets
        self.since_freeze = self.closed_since = 0
        log.info(
            "gc.freeze: %d objects frozen in %.1f ms",
            gc.get_freeze_count(),
            (time.perf_counter() - started) * 1000,
        )
