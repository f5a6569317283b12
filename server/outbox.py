"""The outbox worker: applies the effects of every write, in batches, after it is stored.

A write is one atomic change to one document that also marks it ``pending``: a new or
changed tweet carries its own outbox entry, and so does a like or a follow (its edge). The
worker reads the oldest pending documents of each kind, applies what follows from them
(``server/effects/``: counters, search, trending, notifications, timelines, live events)
and records them as applied. Every effect is safe to run twice, so a worker killed at any
point simply runs the same batch again when it (or another process) comes back.

One worker runs at a time across all processes: it holds a lease in ``outbox_lease`` and
renews it while it works; when its process dies another takes over once the lease ends
(``OUTBOX_LEASE_SECONDS``). A process that does not hold the lease polls for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo.errors import DuplicateKeyError, PyMongoError

from . import media
from .db import Database
from .effects import accounts as account_effects
from .effects import edges as edge_effects
from .effects import messages as message_effects
from .effects import tweets as tweet_effects
from .services import Services
from .store import edges
from .store import messages as message_store
from .store import tweets as tweet_store
from .store import users as user_store

log = logging.getLogger("murmur.outbox")

LEASE_ID = "worker"
# When a batch comes back full the worker is behind: the next one is twice as large, up to
# this many. What a batch costs is largely per batch, not per write (one counter update per
# author, one posting-bucket rewrite per term, one followers query), so a worker that takes
# more at a time catches up; once it has, batches shrink back (followers see a tweet sooner).
MAX_BATCH_FACTOR = 4
SWEEP_EVERY = timedelta(minutes=5)
# How soon the worker looks again after a drain that found work (else ``poll_seconds``).
BUSY_POLL_SECONDS = 0.05
# New tweets keep coming: the worker shows each round's at once (``tweet_effects.show``:
# followers' timelines and streams, notifications) and finishes them (counters, trending,
# search, the record) together every this often, or once a round finds nothing new.
# Finishing costs mostly per call, not per tweet (a posting-bucket rewrite per term, a
# counter update per author): bench/db_cpu.py --phases post, rounds of ~200 applied whole
# spent 0.30 + 0.12 + 0.12 ms of the database a post on postings, user_stats and terms;
# finishes of ~330 spent 0.20 + 0.10 + 0.08 (1.63 against 1.85 ms a post in all). Counts
# and search lag new tweets by up to about this much under load (and not at all otherwise).
FINISH_SECONDS = 0.6
# Under that load rounds follow each other at most every PACE_SECONDS once one brings
# PACE_AT tweets or more: a round's reads (who follows the authors, the authors, each
# kind's pending writes) cost the same for 20 tweets as for 200. Fewer tweets a round, as
# when posts come a few a second, and the next round starts at once: followers hear of a
# tweet a round trip after it was posted.
PACE_SECONDS = 0.3
PACE_AT = 32
# Tweets shown and not finished, at most (about: whole entries), so one finishing call stays
# under the counters' memory of applied ids (store/counters.py: KEEP).
FINISH_AT = 400


class Outbox:
    """Runs the worker in a background task; ``drain()`` applies everything pending now."""

    def __init__(self, svc: Services, *, batch_size: int = 100, poll_seconds: float = 0.5) -> None:
        self.svc = svc
        self.batch_size = batch_size
        self._batch = batch_size  # this round's; grows while the worker is behind
        self.poll_seconds = poll_seconds
        self.lease = timedelta(seconds=svc.settings.outbox_lease_seconds)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{ObjectId()}"
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False  # stop() asked the loop to end after what it is doing
        self._held_until: datetime | None = None
        self._prefixed = False  # every user has its people-search prefixes
        self._next_sweep: datetime | None = None  # media clean-up (server/media.py:sweep)
        self._pokes = 0  # writes this process announced ...
        self._settled = 0  # ... of which every one is known to be applied
        self.finish_seconds = FINISH_SECONDS
        self._shown: list[tweet_effects.Shown] = []  # new tweets shown, not finished
        self._shown_since = 0.0  # (loop time) when the oldest of them was shown
        self._found = 0  # new tweets the last round found

    def start(self) -> None:
        """Start applying pending writes in the background."""
        self._task = asyncio.create_task(self._loop(), name="murmur-outbox")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop after the batch in progress (anything unfinished is applied later) and give
        the lease back, so another process need not wait for it to run out.

        The worker is asked to stop and given ``grace`` seconds to finish what it sent the
        database; only then is it cancelled. Cancelled in the middle of a command, it may
        have the database take its lease *after* the give-back (the command was already on
        its way), and the lease then outlives the process by a whole term."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping = True
            self._wake.set()
            try:
                async with asyncio.timeout(grace):
                    await asyncio.shield(task)
            except TimeoutError:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self._stopping = False  # a later drain() (tests) or start() works again
        try:  # else whoever runs the worker next shows them again
            async with asyncio.timeout(grace), self._lock:
                await self._finish()
        except Exception:  # noqa: BLE001 (their entries are still there)
            log.warning("outbox worker: shown tweets left to the next worker", exc_info=True)
        with contextlib.suppress(PyMongoError):
            await self.svc.db.outbox_lease.update_one(
                {"_id": LEASE_ID, "owner": self.owner}, {"$set": {"until": self.svc.clock()}}
            )

    def poke(self) -> None:
        """Wake the worker now (something was just written) instead of at its next poll."""
        self._pokes += 1
        self._wake.set()

    async def drain(self, pace: float = 0.0) -> bool:
        """Apply batches until nothing is pending (waits for the batch in progress); whether
        there was anything. ``pace``: after a batch of at least ``PACE_AT`` tweets, the
        next starts this many seconds after it at the earliest."""
        busy, clock = False, asyncio.get_running_loop().time
        while not self._stopping:
            pokes, started = self._pokes, clock()
            if not await self.run_once():
                self._settled = max(self._settled, pokes)
                return busy
            busy = True
            if self._found >= PACE_AT:
                await asyncio.sleep(max(0.0, started + pace - clock()))
        return busy

    async def settle(self) -> None:
        """``drain``, unless every write this process made is already known to be applied
        (tests call it after each request; most requests write nothing)."""
        if self._pokes != self._settled:
            await self.drain()

    @contextlib.asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """Hold the worker between batches for the length of the block, so what runs in it
        is measured alone (tests count a request's own database commands). A ``drain`` inside
        the block would wait for it."""
        async with self._lock:
            yield

    async def run_once(self) -> bool:
        """Apply one batch of each kind; False when nothing was pending (or the lease is
        another process's)."""
        async with self._lock:
            if self._held_until is None or self.svc.clock() >= self._held_until:
                # The lease may have lapsed since they were shown, and another worker applied
                # them meanwhile: their counters' ids may be forgotten by now. Shown again.
                self._shown = []
            if not await self._hold_lease():
                self._shown = []  # the lease's next holder applies them, shown or not
                return False
            async with self._renewing():
                return await self._apply_batches()

    async def _apply_batches(self) -> bool:
        db, n = self.svc.db, self._batch
        leaving = await user_store.pending_deletions(db, limit=n)
        if leaving:
            await account_effects.apply(self.svc, leaving)
        tweets = await self._tweets(n)
        behind = len(tweets) >= n
        self._batch = min(n * 2, self.batch_size * MAX_BATCH_FACTOR) if behind else self.batch_size
        likes = await edges.pending(db.likes, limit=n)
        if likes:
            await edge_effects.likes(self.svc, likes)
        follows = await edges.pending(db.follows, limit=n)
        if follows:
            await edge_effects.follows(self.svc, follows)
        reposts = await edges.pending(db.reposts, limit=n)
        if reposts:
            await edge_effects.reposts(self.svc, reposts)
        messages = await message_store.pending(db, limit=n)
        if messages:
            await message_effects.apply(self.svc, messages)
        await self._sweep_when_due()
        if not self._prefixed:  # users stored before people search: a batch a round
            self._prefixed = await user_store.backfill_search_prefixes(db, limit=n)
        busy = leaving or tweets or likes or follows or reposts or messages
        return bool(busy) or not self._prefixed

    async def _tweets(self, n: int) -> list[dict[str, Any]]:
        """Up to about ``n`` pending tweets, the tweets read. Only new ones: shown now,
        finished with the others shown since (``FINISH_SECONDS``). Changed ones too: the
        round is applied whole, after those shown are finished."""
        # Holding, a round takes what waits, up to FINISH_AT with those shown (at least n).
        held = sum(len(s.rounds) for s in self._shown)
        if held and held + n > FINISH_AT:
            await self._finish()
            held = 0
        limit = max(n, FINISH_AT - held) if self.finish_seconds > 0 else n
        grace = timedelta(seconds=self.svc.settings.outbox_intent_grace_seconds)
        # Past the shown ones' entries: they exist until their tweets are finished.
        after = max((r.doc[tweet_store.ENTRY] for s in self._shown for r in s.rounds), default=None)
        now, clock = self.svc.clock(), asyncio.get_running_loop().time
        tweets = await tweet_store.pending(
            db=self.svc.db, limit=limit, now=now, grace=grace, after=after
        )
        self._found = len(tweets)
        if not tweets or any(tweet_store.ENTRY not in d for d in tweets):
            await self._finish()
            if tweets:
                await tweet_effects.apply(self.svc, tweets)
            return tweets
        if not self._shown:
            self._shown_since = clock()
        self._shown.append(await tweet_effects.show(self.svc, tweets))
        if clock() - self._shown_since >= self.finish_seconds:
            await self._finish()
        return tweets

    async def _finish(self) -> None:
        """Finish the new tweets shown so far. Should it fail they are dropped, not retried
        from what this round made of them: their entries are still there, and the next
        round reads and applies them afresh (``show`` again included)."""
        shown, self._shown = self._shown, []
        if shown:
            await tweet_effects.finish(self.svc, shown)

    async def _sweep_when_due(self) -> None:
        """Unattached uploads and cut-short claims (``media.sweep``), every few minutes."""
        now = self.svc.clock()
        if self._next_sweep is None or now >= self._next_sweep:
            self._next_sweep = now + SWEEP_EVERY
            await media.sweep(self.svc, now)

    @contextlib.asynccontextmanager
    async def _renewing(self) -> AsyncIterator[None]:
        """Renew the lease every third of it while a batch runs. Renewing only between
        batches let a batch slower than half the lease (a loaded machine, a large fan-out)
        outlive it: another worker then took the lease and applied the same documents at
        the same time, and followers got every live event of the batch twice."""

        batch_over = asyncio.Event()

        async def renew() -> None:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.lease.total_seconds() / 3):
                        await batch_over.wait()
                    return
                self._held_until = None  # renew now, not when half of it has run out
                with contextlib.suppress(PyMongoError):
                    await self._hold_lease()

        task = asyncio.create_task(renew(), name="murmur-outbox-lease")
        try:
            yield
        finally:
            # Not cancelled: a renewal already sent must land before the lease can be given
            # back (see ``stop``). A stop that cancels the worker here cancels this too.
            batch_over.set()
            await task

    async def _hold_lease(self) -> bool:
        """Take or renew the lease (one round trip, only when half of it has run out)."""
        now = self.svc.clock()
        if self._held_until is not None and now < self._held_until - self.lease / 2:
            return True
        try:
            await self.svc.db.outbox_lease.update_one(
                {"_id": LEASE_ID, "$or": [{"owner": self.owner}, {"until": {"$lte": now}}]},
                {"$set": {"owner": self.owner, "until": now + self.lease}},
                upsert=True,
            )
        except DuplicateKeyError:
            self._held_until = None
            return False  # another live process holds it
        self._held_until = now + self.lease
        return True

    async def _loop(self) -> None:
        while not self._stopping:
            busy = False
            try:
                busy = await self.drain(pace=PACE_SECONDS)
            except Exception:  # the database may be briefly away; keep the worker alive
                log.exception("outbox worker: a batch failed; it is retried")
                self._held_until = None
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                # Polling also picks up writes made by other processes (a worker of its own
                # hears of no write: it polls often while writes keep coming), and the lease.
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that arrives as the event is set, and stop() then waits forever.
                async with asyncio.timeout(BUSY_POLL_SECONDS if busy else self.poll_seconds):
                    await self._wake.wait()


# The collections whose documents carry entries.
OUTBOXES = ("users", "tweets", "outbox", "likes", "follows", "reposts", "messages")


async def backlog(db: Database) -> int:
    """How many writes wait for the worker (benchmarks and operators watch it drain)."""
    return sum([await db[name].count_documents({"pending": True}) for name in OUTBOXES])


@contextlib.asynccontextmanager
async def running(svc: Services) -> AsyncIterator[Outbox]:
    """Run the outbox worker for the lifetime of the app."""
    worker = Outbox(svc, poll_seconds=svc.settings.outbox_poll_seconds)
    svc.outbox = worker
    worker.start()
    try:
        yield worker
    finally:
        await worker.stop()
        svc.outbox = None
