"""Clients that ride out a cluster's faults the way docs/realtime.md tells a client to.

``ResumingSocket`` stays connected: when its socket drops (a killed process, a 1001 from a
process shutting down) it reconnects through nginx with backoff and jitter and resubscribes
each stream — a resumable one with ``since`` (the last event id it processed), a public one
followed by a REST refetch (``backfill``), as ``resync`` asks. ``Poster`` posts tweets with an
``Idempotency-Key`` and retries each until it lands. Every frame is checked against the
contract (``WsClient.recv``).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from realtime.streams import STREAM_KINDS
from tests.realtime.wsclient import WsClient

Backfill = Callable[[str], Awaitable[list[str]]]  # stream -> tweet ids it holds now

RESUMABLE = {k.name.split(":")[0] for k in STREAM_KINDS if k.resumable}


class ResumingSocket:
    """One client's socket that survives drops; ``tweets[stream]`` is every ``tweet.created``
    it received there (in order, duplicates kept so a test can count them)."""

    def __init__(
        self, url: str, token: str, streams: list[str], backfill: Backfill | None = None
    ) -> None:
        self.url, self.token, self.streams, self.backfill = url, token, streams, backfill
        self.tweets: dict[str, list[str]] = {s: [] for s in streams}
        # (stream, event id, tweet id, connection number): what explains a failure
        self.trace: list[tuple[str, str, str, int]] = []
        self.backfilled: dict[str, set[str]] = {s: set() for s in streams}
        self.last: dict[str, str] = {}  # stream -> id of the last event processed
        self.close_codes: list[int | None] = []
        self.resyncs: list[str] = []
        self.errors: list[dict[str, Any]] = []
        self.subscribed = asyncio.Event()
        self._news = asyncio.Event()  # set whenever a tweet arrives
        self._task: asyncio.Task[None] | None = None
        self._fills: set[asyncio.Task[None]] = set()
        self._ws: WsClient | None = None
        self._acked: set[str] = set()  # streams subscribed on the current connection
        self._stopped = False

    @property
    def reconnects(self) -> int:
        return len(self.close_codes)

    async def start(self) -> ResumingSocket:
        """Connect and subscribe (returns once every stream is subscribed)."""
        self._task = asyncio.create_task(self._run())
        async with asyncio.timeout(10):
            await self.subscribed.wait()
        return self

    async def any_of(self, stream: str, tweet_ids: list[str], within: float = 10.0) -> None:
        """Until one of ``tweet_ids`` has arrived on ``stream``."""
        async with asyncio.timeout(within):
            while not set(tweet_ids) & set(self.tweets[stream]):
                self._news.clear()
                await self._news.wait()

    def seen(self, stream: str) -> set[str]:
        """Every tweet id this client has for ``stream``: received live or refetched."""
        return set(self.tweets[stream]) | self.backfilled[stream]

    async def _run(self) -> None:
        delay, first = 0.05, True
        while not self._stopped:
            try:
                self._ws = await WsClient.open(self.url, self.token)
            except (OSError, InvalidHandshake, InvalidStatus, TimeoutError):
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))  # backoff with jitter
                delay = min(delay * 2, 1.0)
                continue
            delay, self._acked = 0.05, set()
            try:
                for stream in self.streams:
                    frame: dict[str, Any] = {"type": "subscribe", "stream": stream}
                    if stream in self.last:
                        frame["since"] = self.last[stream]
                        self.trace.append((stream, "since", frame["since"], self.reconnects))
                    await self._ws.send(frame)
                while True:
                    self._handle(await self._ws.recv(wait=3600), refetch=not first)
            except ConnectionClosed as exc:
                self.close_codes.append(exc.rcvd.code if exc.rcvd else None)
                first = False

    def _handle(self, frame: dict[str, Any], refetch: bool) -> None:
        kind, stream = frame["type"], frame.get("stream", "")
        if kind == "subscribed":
            if refetch and stream.split(":")[0] not in RESUMABLE:
                self._refetch(stream)  # nothing replays a public stream: ask REST
            self._acked.add(stream)
            if self._acked == set(self.streams):
                self.subscribed.set()
        elif kind == "event":
            self.last[stream] = frame["id"]
            if frame["event"] == "tweet.created":
                self.tweets[stream].append(frame["data"]["tweet_id"])
                self._news.set()
                self.trace.append((stream, frame["id"], frame["data"]["tweet_id"], self.reconnects))
        elif kind == "resync":
            self.resyncs.append(stream)
            self._refetch(stream)
        elif kind == "error":
            self.errors.append(frame)

    def _refetch(self, stream: str) -> None:
        if self.backfill is None:
            return
        backfill = self.backfill

        async def fill() -> None:
            try:
                self.backfilled[stream].update(await backfill(stream))
            except Exception as exc:  # shown by the test's checks, not lost in a task
                self.errors.append({"type": "refetch", "stream": stream, "error": repr(exc)})

        task = asyncio.create_task(fill())
        self._fills.add(task)
        task.add_done_callback(self._fills.discard)

    async def stop(self) -> None:
        """Close the socket and stop reconnecting. Cancelled again until it ends: on Python
        3.11 a cancellation that lands as ``wait_for``'s (or a connect's) timeout expires can
        come out as TimeoutError, which the reconnect loop takes for a failed attempt (a
        suite hung here in teardown); the flag ends the loop in any case."""
        self._stopped = True
        for task in [self._task, *self._fills]:
            while task is not None and not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1)
            if task is not None and not task.cancelled():
                with contextlib.suppress(Exception):
                    task.exception()  # retrieved: a closing socket's error is no test failure
        if self._ws is not None:
            await self._ws.close()


class Poster:
    """Posts tweets as one author; a POST that fails (a 5xx, a dropped connection) is sent
    again with the same ``Idempotency-Key`` until it lands, as a careful client does."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}
        self.tweet_ids: list[str] = []
        self.retries = 0

    async def post(self, content: str, within: float = 15.0) -> str:
        """One tweet, landed exactly once; returns its id."""
        headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex}
        async with asyncio.timeout(within):
            while True:
                try:
                    r = await self.http.post("/tweets", json={"content": content}, headers=headers)
                except httpx.TransportError:
                    r = None
                if r is not None and r.status_code in (200, 201):
                    tweet_id: str = r.json()["tweet_id"]
                    self.tweet_ids.append(tweet_id)
                    return tweet_id
                assert r is None or r.status_code >= 500, r.text  # a 4xx is a real failure
                self.retries += 1
                await asyncio.sleep(0.05)

    async def steady(
        self, tag: str, interval: float, count: int = 0, until: asyncio.Event | None = None
    ) -> list[str]:
        """A tweet every ``interval`` seconds (a slow POST delays the next): ``count`` of
        them, or until ``until`` is set. Returns every tweet this poster landed."""
        i = 0
        while i < count or (until is not None and not until.is_set()):
            await self.post(f"{tag} {i}")
            await asyncio.sleep(interval)
            i += 1
        return self.tweet_ids
