"""Replay and gaps: what a subscription missed, read back from the logs and sent in order.

A subscription with ``since`` (a reconnecting client), one whose token was renewed, or every
subscription after Redis came back, reads each of its channels' logs after its position,
merges them by id — ids come from one clock for every log (see ``log.py``), so they order
events across logs too, even within one millisecond — sends them, then the live events it
buffered meanwhile, skipping those it has already sent. When a log cannot prove it still
holds everything (too old, too many, or a resync mark left by a failed publish), the client
is sent ``resync`` and refetches over REST.
"""

from __future__ import annotations

import asyncio
import json
import logging

from .channels import stream_kind
from .connection import ZERO, Subscription
from .connection import resync_stream as resync
from .log import EPHEMERAL_KINDS, EventLog, parse_id

log = logging.getLogger("murmur.realtime.replay")

Read = list[tuple[str, str]] | None  # what ``EventLog.read_after`` answers

RESYNC_MARK = "!"  # an event body meaning "events were lost here": the client must resync


class SharedReads:
    """The hub's view of the logs for replays: identical reads asked for at once are one.

    When a process dies, its sockets land on the others at once and resume; a user's several
    sockets, and everyone resuming a busy ``user:`` stream, ask for the same log after the
    same id. Those asking while no read of it is in flight share the next one (keyed by
    stream, ``since`` and limit), so a connect storm costs Redis about one read per distinct
    position rather than one per socket. A read already in flight is never joined: it began
    before the newcomer attached its live channel, so an event published in between would be
    in neither — the newcomer waits for a read of its own, shared with the others who come
    meanwhile. Appends go straight through.
    """

    def __init__(self, inner: EventLog) -> None:
        self.inner = inner
        self.publishes = inner.publishes
        self._waiting: dict[tuple[str, str, int], asyncio.Future[Read]] = {}  # not begun
        self._reading: dict[tuple[str, str, int], asyncio.Future[Read]] = {}  # in flight

    async def append(
        self, entries: list[tuple[str, str]], publish: bool = False, once: str | None = None
    ) -> list[str]:
        """As ``EventLog.append``."""
        return await self.inner.append(entries, publish, once)

    async def claim(self, once: str) -> bool:
        """As ``EventLog.claim``."""
        return await self.inner.claim(once)

    async def read_after(self, stream: str, since: str, limit: int) -> Read:
        """As ``EventLog.read_after``, shared with the identical reads asked for before it
        begins (callers must not change the list they get)."""
        key = (stream, since, limit)
        shared = self._waiting.get(key)
        if shared is None:
            shared = self._waiting[key] = asyncio.get_running_loop().create_future()
            task = asyncio.ensure_future(self._read(key, shared, self._reading.get(key)))
            task.add_done_callback(lambda done: done.cancelled() or done.exception())
        # Shielded: one waiter's socket closing must not cancel the others' read.
        return await asyncio.shield(shared)

    async def _read(
        self,
        key: tuple[str, str, int],
        shared: asyncio.Future[Read],
        before: asyncio.Future[Read] | None,
    ) -> None:
        if before is not None:
            await asyncio.wait([before])  # one read of a key at a time
        del self._waiting[key]  # from here on, newcomers wait for the next read
        self._reading[key] = shared
        try:
            shared.set_result(await self.inner.read_after(*key))
        except asyncio.CancelledError:
            shared.cancel()
            raise
        except Exception as exc:
            shared.set_exception(exc)
            shared.exception()  # retrieved: every waiter may have gone
        finally:
            if self._reading.get(key) is shared:
                del self._reading[key]


def event_frame(stream: str, event_id: str, body: str) -> str:
    """The ``event`` frame for ``body`` (``{"event":...,"data":...}``) on ``stream``."""
    # Splice the envelope in front of the body: no re-encoding.
    return f'{{"type":"event","stream":{json.dumps(stream)},"id":"{event_id}",{body[1:]}'


async def read_missed(
    event_log: EventLog, channels: list[str], since: str, limit: int
) -> list[tuple[str, str, str]] | None:
    """``(id, channel, entry)`` after ``since`` on every channel, in id order; ``None`` if
    some may be gone (the client must resync)."""
    found: list[tuple[tuple[int, int], str, str, str]] = []
    for channel in channels:
        if stream_kind(channel) in EPHEMERAL_KINDS:
            continue  # never logged: nothing to replay
        try:
            part = await event_log.read_after(channel, since, limit)
        except Exception as exc:
            log.warning("replay of %s failed: %s", channel, exc)
            return None
        if part is None:
            return None
        found += [(parse_id(i) or ZERO, i, channel, entry) for i, entry in part]
    if len(found) > limit or any(entry.endswith("|" + RESYNC_MARK) for *_, entry in found):
        return None
    found.sort()
    return [(i, channel, entry) for _, i, channel, entry in found]


def _without_removed(missed: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Drop what the log says about tweets it later says are gone.

    A tweet deleted or hidden by a moderator after it was logged would otherwise be replayed
    (its content too) to a client resuming from before; its ``tweet.deleted`` follows it in
    the same log, so the entries about it before that are left out and only the delete is
    sent. (Entries after it, e.g. a moderator restoring the tweet, are kept.)
    """
    if not any('"tweet.deleted"' in entry for _, _, entry in missed):
        return missed
    gone: set[str] = set()
    kept: list[tuple[str, str, str]] = []
    for item in reversed(missed):  # newest first: a delete is seen before what it removes
        tweet_id = _tweet_id(item[2])
        if '"tweet.deleted"' in item[2]:
            if tweet_id is not None:
                gone.add(tweet_id)
        elif tweet_id is not None and tweet_id in gone:
            continue
        kept.append(item)
    kept.reverse()
    return kept


def _tweet_id(entry: str) -> str | None:
    """The ``data.tweet_id`` of a logged ``<author>|<json>`` entry, if it has one."""
    try:
        data = json.loads(entry.split("|", 1)[1]).get("data")
    except (IndexError, ValueError, AttributeError):
        return None
    value = data.get("tweet_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


async def replay(sub: Subscription, since: str, event_log: EventLog, limit: int) -> None:
    """Send what ``sub`` missed after ``since``, then its buffered live tail, seamlessly.

    ``sub.buffer`` must have been set (to ``[]``) before the live channels were attached, so
    that nothing published while the logs are read is lost.
    """
    missed = await read_missed(event_log, sub.channels, since, limit)
    buffered, sub.buffer = sub.buffer or [], None
    if missed is None:
        resync(sub)
        for channel, _, author, frame in buffered:
            sub.deliver(channel, ZERO, author, frame)
        return
    sub.start_at(since)
    for event_id, channel, entry in _without_removed(missed):
        author, body = entry.split("|", 1)
        position = parse_id(event_id) or ZERO
        sub.deliver(channel, position, author or None, event_frame(sub.stream, event_id, body))
    for channel, position, author, frame in buffered:
        sub.deliver(channel, position, author, frame)


async def recover(subs: list[Subscription], event_log: EventLog, limit: int) -> None:
    """After a gap in the live feed (Redis reconnected): replay each replayable
    subscription from where it is, and tell the others to resync."""
    for sub in subs:
        if sub.replayable and not sub.paused:
            sub.buffer = []
            await replay(sub, sub.position(), event_log, limit)
        elif not sub.replayable:
            resync(sub)
