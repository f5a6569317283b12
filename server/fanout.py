"""The timeline fan-out worker: pushes new tweets into followers' stored timelines.

Requests only *enqueue* durable jobs (``fanout_jobs``); a background task started in the
app's lifespan runs them, oldest first, one at a time per process (so a follow's back-fill,
an unfollow's removal and a tweet's fan-out apply in the order they happened). A job that
raises is retried with backoff; a job whose process died is taken over when its lease ends.
Writes are idempotent (one entry per (owner, tweet) in either timeline store), so a retried
batch never duplicates. The store (``svc.timelines``) keeps timelines near their cap on write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from bson import ObjectId

from realtime.channels import home_stream

from .events import TweetCreated, TweetDeleted, TweetDeletedData, TweetUpdated
from .services import Services
from .store import fanout_jobs as job_store
from .store import follows as follow_store
from .store import tweets as tweet_store
from .store import users as user_store

log = logging.getLogger("murmur.fanout")

MAX_ATTEMPTS = 10


async def enqueue(svc: Services, kind: str, **fields: Any) -> None:
    """Durably record fan-out work and wake this process's worker."""
    await job_store.enqueue(svc.db, kind=kind, now=svc.clock(), fields=fields)
    if svc.fanout is not None:
        svc.fanout.poke()


class FanoutWorker:
    """Runs fan-out jobs in a background task; ``drain()`` runs every due job now."""

    def __init__(
        self,
        svc: Services,
        *,
        batch_size: int = 1000,
        poll_seconds: float = 1.0,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self.svc = svc
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.lease = lease
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start claiming and running jobs in the background."""
        self._task = asyncio.create_task(self._loop(), name="murmur-fanout")

    async def stop(self) -> None:
        """Stop after the job in progress (an unfinished job is taken over later)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def poke(self) -> None:
        """Wake the worker now (a job was just enqueued) instead of at its next poll."""
        self._wake.set()

    async def drain(self) -> None:
        """Run jobs until none is due (waits for the one the background task is running)."""
        while await self.run_once():
            pass

    async def run_once(self) -> bool:
        """Claim and run the oldest due job; False when there was none."""
        async with self._lock:
            now = self.svc.clock()
            job = await job_store.claim(self.svc.db, now=now, lease=self.lease)
            if job is None:
                return False
            try:
                await self._run(job)
            except Exception as exc:
                attempts = int(job.get("attempts", 1))
                delay = timedelta(seconds=min(300, 2**attempts))
                failed = attempts >= MAX_ATTEMPTS
                log.exception(
                    "fan-out job %s (%s) failed, attempt %d", job["_id"], job["kind"], attempts
                )
                await job_store.retry(
                    self.svc.db, job_id=job["_id"], at=now + delay, error=repr(exc), failed=failed
                )
            else:
                await job_store.finish(self.svc.db, job_id=job["_id"])
            return True

    async def _loop(self) -> None:
        while True:
            try:
                await self.drain()
            except Exception:  # the database may be briefly away; keep the worker alive
                log.exception("fan-out worker loop error")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                # Polling also picks up jobs enqueued by other processes and due retries.
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that arrives as the event is set, and stop() then waits forever.
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()

    async def _run(self, job: dict[str, Any]) -> None:
        kind = job["kind"]
        db = self.svc.db
        if kind == "unfollow":
            await self.svc.timelines.remove_author(owner=job["owner"], author=job["author"])
        elif kind == "backfill":
            await self._backfill(job["owner"], job["author"])
        elif kind == "deleted":
            event = TweetDeleted(
                data=TweetDeletedData(tweet_id=job["tweet_id"], user_id=job["author"])
            )
            await self._to_followers(job, event=event)
        elif kind in ("created", "updated"):
            tweet = await tweet_store.get(db, tweet_id=ObjectId(job["tweet_id"]))
            if tweet is not None:
                store = kind == "created"
                change = TweetCreated(data=tweet) if store else TweetUpdated(data=tweet)
                await self._to_followers(job, event=change, store=store)
        else:
            raise ValueError(f"unknown fan-out job kind {kind!r}")

    async def _is_pull_author(self, author: str) -> bool:
        user = await user_store.by_id(self.svc.db, user_id=author)
        return user is None or user.follower_count > self.svc.settings.fanout_max_followers

    async def _to_followers(
        self,
        job: dict[str, Any],
        *,
        event: TweetCreated | TweetUpdated | TweetDeleted,
        store: bool = False,
    ) -> None:
        """Write (when ``store``) and announce the tweet to every follower, batch by batch."""
        author = job["author"]
        tweet_id = ObjectId(job["tweet_id"])
        await self._to_author(author, tweet_id, event, store)
        if await self._is_pull_author(author):
            return  # pull path: readers merge this author's tweets in; sockets follow user:<id>
        batches = follow_store.follower_batches(
            self.svc.db, followee=author, after=job.get("after"), size=self.batch_size
        )
        async for owners, last_edge in batches:
            if isinstance(event, TweetDeleted):
                await self.svc.timelines.remove_tweet(owners=owners, tweet_id=tweet_id)
            elif store:
                await self.svc.timelines.push(owners=owners, tweet_id=tweet_id, author=author)
            await self.svc.publish([home_stream(o) for o in owners], event)
            await job_store.progress(self.svc.db, job_id=job["_id"], after=last_edge)

    async def _to_author(
        self,
        author: str,
        tweet_id: ObjectId,
        event: TweetCreated | TweetUpdated | TweetDeleted,
        store: bool,
    ) -> None:
        """The author's own stored timeline holds their tweets too (big authors' included),
        so a warm home read pulls nothing. No event: the author's home stream has it."""
        if isinstance(event, TweetDeleted):
            await self.svc.timelines.remove_tweet(owners=[author], tweet_id=tweet_id)
        elif store:
            await self.svc.timelines.push(owners=[author], tweet_id=tweet_id, author=author)

    async def _backfill(self, owner: str, author: str) -> None:
        """A new follow: copy the author's recent tweets into the follower's stored timeline.

        Only tweets newer than the timeline's oldest entry: anything older is pulled from
        ``tweets`` at read time anyway, and this keeps the stored range complete."""
        if await self._is_pull_author(author):
            return
        oldest = await self.svc.timelines.oldest_id(owner=owner)
        if oldest is None:
            return
        keep = self.svc.settings.timeline_max_entries
        ids = await tweet_store.since_ids(self.svc.db, author=author, after=oldest, limit=keep)
        await self.svc.timelines.backfill(owner=owner, author=author, tweet_ids=ids)


@contextlib.asynccontextmanager
async def running(svc: Services) -> AsyncIterator[FanoutWorker]:
    """Run the fan-out worker for the lifetime of the app."""
    worker = FanoutWorker(svc)
    svc.fanout = worker
    worker.start()
    try:
        yield worker
    finally:
        await worker.stop()
        svc.fanout = None
