"""Back-pressure on new tweets: while the outbox worker is behind, a post waits a moment.

The outbox is durable, so a worker that cannot keep up loses nothing; but everything that
follows a tweet (followers' timelines, search, counters, notifications) comes later and
later, and a burst leaves a backlog that takes seconds to drain. So before storing a new
tweet (a post, a reply, a quote) a request looks at the worker's lag: how old the oldest
new tweet it has not applied is. The lag is the same for every process (read from the
``outbox`` collection, at most every ``REFRESH_SECONDS`` per process, one read shared by
all waiting requests). While it is over ``OUTBOX_MAX_LAG_SECONDS`` the request waits, for at
most ``OUTBOX_ADMISSION_WAIT_SECONDS``, and is then stored anyway: a worker that is down
(its lease not yet taken over) must not stop people posting, and the outbox keeps what they
post. Waiting requests leave the event loop and the database to the worker, which catches
up; posting slows to the pace the worker keeps.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from .db import Database

REFRESH_SECONDS = 0.1


class OutboxLag:
    """The outbox worker's lag as this process sees it, and the wait it imposes."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        *,
        max_lag: float,
        max_wait: float,
        grace: float,
    ) -> None:
        self.db = db
        self.clock = clock
        self.max_lag = max_lag
        self.max_wait = max_wait
        # An entry older than this may be an orphan (its tweet never came: the worker drops
        # it after the grace, ``store/intents.py``); it says nothing about the worker.
        self.grace = timedelta(seconds=grace)
        self.refresh = REFRESH_SECONDS  # how old a reading may be
        self._lag = 0.0
        self._read_at = float("-inf")
        self._reading: asyncio.Task[float] | None = None
        self.waited = 0  # requests that waited (``/metrics``: murmur_outbox_admission_waits)

    async def admit(self) -> None:
        """Return when the worker's lag is under the limit, or after the longest wait."""
        if self.max_lag <= 0:
            return
        deadline = time.monotonic() + self.max_wait
        if await self.lag() <= self.max_lag:
            return
        self.waited += 1
        while time.monotonic() < deadline:
            await asyncio.sleep(max(self.refresh, 0.01))
            if await self.lag() <= self.max_lag:
                return

    async def lag(self) -> float:
        """Seconds since the oldest new tweet the worker has not applied was stored (0 when
        there is none), at most ``REFRESH_SECONDS`` old."""
        if time.monotonic() - self._read_at < self.refresh:
            return self._lag
        if self._reading is None:
            self._reading = asyncio.create_task(self._read())
        reading = self._reading
        try:
            return await asyncio.shield(reading)
        finally:
            if self._reading is reading and reading.done():
                self._reading = None

    async def _read(self) -> float:
        """One index step: the oldest entry. One older than the grace is taken for an
        orphan the worker is about to drop, not for lag (a filter on its age would have
        the database read every entry)."""
        now: datetime = self.clock()
        oldest = await self.db.outbox.find_one({}, {"at": 1}, sort=[("_id", 1)])
        age = (now - oldest["at"]) if oldest else timedelta(0)
        self._lag = age.total_seconds() if timedelta(0) < age < self.grace else 0.0
        self._read_at = time.monotonic()
        return self._lag
