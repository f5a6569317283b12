"""Publishing: each event encoded once, logged where it is replayable, broadcast per stream.

A message is ``<id>|<author>|<event JSON>``. Replayable streams (``home``, ``notifications``,
``user``) get their id from the bounded log the event is appended to; other streams get one
from the process's id clock. When Redis is away the streams whose events were lost are
remembered, and a resync mark is published on each as soon as publishing works again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from broadcaster._backends.base import BroadcastBackend
from pydantic import BaseModel
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .channels import stream_kind
from .log import (
    EPHEMERAL_KINDS,
    EPHEMERAL_PREFIX,
    REPLAYABLE_KINDS,
    EventLog,
    IdClock,
    PartialAppend,
)
from .metrics import HubMetrics
from .replay import RESYNC_MARK

log = logging.getLogger("murmur.realtime")

# Redis not answering: a batch's events are lost together (a resync mark once it is back).
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError)


class EventPublisher:
    def __init__(
        self, backend: BroadcastBackend, event_log: EventLog, ids: IdClock, metrics: HubMetrics
    ) -> None:
        self.backend = backend
        self.log = event_log
        self.ids = ids
        self.metrics = metrics
        self.gapped: set[str] = set()  # streams whose events could not be published

    async def publish(
        self, streams: Sequence[str], event: BaseModel, once: str | None = None
    ) -> None:
        """Log and broadcast one event to ``streams``; never raises into the request.

        ``once`` names the announcement (e.g. ``tweet:<id>:v<version>:tweet.created``): made
        again to the same streams within ``ONCE_SECONDS`` — an outbox batch re-run by another
        worker after a crash, or a POST retried with its Idempotency-Key after the process
        that stored it died — nothing is sent again. On replayable streams the key is
        claimed in the script that logs and publishes; on the others it is claimed just
        before publishing.
        """
        await self._publish_entries(*_prepared(streams, event, once))

    async def publish_many(self, events: Sequence[Announcement]) -> None:
        """``publish`` for several events (an outbox batch, the requests of a moment): when
        the log publishes (one Redis), three round trips for them all, whatever their
        number: the logged entries appended and published, the other streams' ``once``
        keys claimed, their messages broadcast. Else one by one. Never raises."""
        batch = [_prepared(streams, event, once) for streams, event, once in events]
        append_many = getattr(self.log, "append_many", None)
        claim_many = getattr(self.log, "claim_many", None)
        if append_many is None or claim_many is None or not self.log.publishes or self.gapped:
            for entries, once in batch:
                await self._publish_entries(entries, once)
            return
        split = [(_split(entries), once) for entries, once in batch]
        logged = [(parts[0], once) for parts, once in split if parts[0]]
        unlogged = [(parts[1], once) for parts, once in split if parts[1]]
        try:
            if logged:
                await append_many(logged)
        except UNREACHABLE as exc:  # one by one would wait out the same timeout each time
            self._lost([s for entries, _ in batch for s, _ in entries], exc)
            return
        except Exception as exc:  # noqa: BLE001 (one by one says what was lost)
            log.warning("publishing %d events at once failed (%s); one by one", len(batch), exc)
            for entries, once in batch:  # ``once`` keeps what did land from going twice
                await self._publish_entries(entries, once)
            return
        self.metrics.published.inc(sum(len(entries) for entries, _ in logged))
        if not unlogged:
            return
        try:
            keys = [once + ":unlogged" for _, once in unlogged if once is not None]
            taken = iter(await claim_many(keys) if keys else [])
            messages = [
                (s, f"{self._unlogged_id(s)}|{e}")
                for entries, once in unlogged
                if once is None or next(taken)  # else announced before on these
                for s, e in entries
            ]
            if messages:
                await self._broadcast(messages)
            self.metrics.published.inc(sum(len(entries) for entries, _ in unlogged))
        except Exception as exc:  # noqa: BLE001 (Redis away: a resync mark once it is back)
            self._lost([s for entries, _ in unlogged for s, _ in entries], exc)

    async def flush_gaps(self) -> None:
        """Publish (and log) a resync mark on every stream whose events were lost."""
        streams, self.gapped = sorted(self.gapped), set()
        await self._publish_entries([(s, "|" + RESYNC_MARK) for s in streams])

    async def _publish_entries(
        self, entries: list[tuple[str, str]], once: str | None = None
    ) -> None:
        if self.gapped:
            await self.flush_gaps()
        try:
            logged, unlogged = _split(entries)
            if once is not None and unlogged and not await self.log.claim(once + ":unlogged"):
                unlogged = []  # announced before on these (the logged ones: see append)
            messages = [(s, f"{self._unlogged_id(s)}|{e}") for s, e in unlogged]
            partial: PartialAppend | None = None
            if logged and self.log.publishes:  # logged and published in one atomic step
                try:
                    await self.log.append(logged, publish=True, once=once)
                except PartialAppend as exc:  # a cluster shard is away: the rest goes on
                    partial = exc
            elif logged:  # one process: ids are taken and published without a pause
                ids = await self.log.append(logged, once=once)
                if ids:  # none: announced before (``once``)
                    messages += [(s, f"{i}|{e}") for (s, e), i in zip(logged, ids, strict=True)]
            if messages:
                await self._broadcast(messages)
            if partial is not None:
                raise partial
            self.metrics.published.inc(len(entries))
        except Exception as exc:  # Redis away: remember, and mark the gap once it is back
            lost = exc.streams if isinstance(exc, PartialAppend) else [s for s, _ in entries]
            self.metrics.published.inc(len(entries) - len(lost))
            self._lost(lost, exc)

    def _lost(self, streams: list[str], exc: Exception) -> None:
        """Events on ``streams`` were not published: a resync mark goes on each once
        publishing works again."""
        log.warning("publishing to %d streams failed: %s", len(streams), exc)
        self.metrics.dropped.inc(len(streams))
        # A lost typing indicator is just lost: nothing to resync.
        self.gapped.update(s for s in streams if stream_kind(s) not in EPHEMERAL_KINDS)

    def _unlogged_id(self, stream: str) -> str:
        event_id = self.ids.next()
        return EPHEMERAL_PREFIX + event_id if stream_kind(stream) in EPHEMERAL_KINDS else event_id

    async def _broadcast(self, messages: list[tuple[str, str]]) -> None:
        publish_many = getattr(self.backend, "publish_many", None)
        if publish_many is not None:
            await publish_many(messages)
        else:
            for channel, message in messages:
                await self.backend.publish(channel, message)


def _split(entries: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(stream, body) entries: those whose stream keeps a log, and the others."""
    logged = [e for e in entries if stream_kind(e[0]) in REPLAYABLE_KINDS]
    return logged, [e for e in entries if stream_kind(e[0]) not in REPLAYABLE_KINDS]


# (streams, event, once): one ``publish``'s arguments.
Announcement = tuple[Sequence[str], BaseModel, str | None]


def _prepared(
    streams: Sequence[str], event: BaseModel, once: str | None
) -> tuple[list[tuple[str, str]], str | None]:
    """An event's (stream, message body) entries and its ``once`` key for these streams."""
    body = event.model_dump_json()  # encoded once, for every stream and every process
    data = getattr(event, "data", None)
    author = getattr(data, "user_id", None) or getattr(data, "actor_id", None) or ""
    if once is not None:
        digest = hashlib.blake2b("\n".join(sorted(streams)).encode(), digest_size=12)
        once = f"{once}:{digest.hexdigest()}"
    return [(s, f"{author}|{body}") for s in streams], once
