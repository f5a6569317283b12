"""Bounded per-stream event logs: where a reconnecting client's missed events come from.

Redis pub/sub is at-most-once, so every event on a replayable stream (``home``,
``notifications``, and ``user`` for authors whose tweets are pulled into ``home``) is also
appended to a bounded log, and the id the log gives it is the id the client sees. A client
that comes back with ``since`` gets everything after that id from the log, or — when the log
cannot prove it still holds everything after ``since`` — ``None``, meaning "resync".

Ids are ``<milliseconds>-<sequence>`` (Redis Stream ids) from one clock for every log, so
they order events across logs too (a ``home`` subscription merges several). On a Redis
Cluster each stream has its own clock (``clusterlog.py``), and the hub restores the order.

Redis logs expire ``LOG_TTL_SECONDS`` (``WS_LOG_TTL_SECONDS``) after their last append; a
missing log answers "nothing missed" only to a ``since`` younger than that (``stream_entries``).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, Protocol

from redis.exceptions import NoScriptError

REPLAYABLE_KINDS = frozenset({"home", "notifications", "messages", "user"})
# Channels of replayable streams that are never logged (typing indicators): their events
# get an id that is not a position (``t<ms>-<seq>``), and a subscription's position ignores
# them, so a resume never skips a logged event because of one.
EPHEMERAL_KINDS = frozenset({"typing"})
EPHEMERAL_PREFIX = "t"

# How long an append's ``once`` key is remembered: far longer than an outbox worker's lease,
# after which another worker re-runs a batch whose announcements were partly made.
ONCE_SECONDS = 3600
ONCE_KEPT = 10_000  # the memory log remembers at most this many once keys
LOG_TTL_SECONDS = 3 * 86400  # a Redis log nobody appended to for this long expires
# A missing log is "nothing missed" only for a ``since`` at least this much younger than
# its expiry: the margin covers a process clock that disagrees with Redis's by seconds.
_EXPIRY_MARGIN_MS = 60_000


class PartialAppend(Exception):
    """An append to several shards of which some failed: ``streams`` got nothing (and no
    publish); the others were appended and published as usual."""

    def __init__(self, streams: list[str], cause: BaseException) -> None:
        super().__init__(f"{len(streams)} streams not appended: {cause}")
        self.streams = streams


def parse_id(event_id: str) -> tuple[int, int] | None:
    """``"1700000000000-3"`` → ``(1700000000000, 3)``; ``None`` if it is not an id."""
    ms, sep, seq = event_id.partition("-")
    if not sep or not ms.isdigit() or not seq.isdigit():
        return None
    return int(ms), int(seq)


class EventLog(Protocol):
    """Appends events to bounded per-stream logs and reads back what came after an id."""

    #: ``append(..., publish=True)`` also publishes each entry as ``<id>|<body>`` on its
    #: stream's channel, atomically with taking the id.
    publishes: bool

    async def append(
        self, entries: list[tuple[str, str]], publish: bool = False, once: str | None = None
    ) -> list[str]:
        """Append ``(stream, body)`` pairs; returns the id each was given, in order. With
        ``once``, append nothing (and return ``[]``) if an append with that key was made
        within ``ONCE_SECONDS``: a retried announcement is not made twice."""
        ...

    async def read_after(self, stream: str, since: str, limit: int) -> list[tuple[str, str]] | None:
        """``(id, body)`` after ``since``, oldest first; ``None`` if some may be gone."""
        ...

    async def claim(self, once: str) -> bool:
        """Take ``once`` for an announcement on streams that keep no log; False if it was
        taken within ``ONCE_SECONDS``."""
        ...


class IdClock:
    """Monotonic ``ms-seq`` ids for one process (for the memory log and unlogged streams)."""

    def __init__(self) -> None:
        self._last = (0, 0)

    def next(self) -> str:
        """A new id greater than every id this clock gave before (``<ms>-<seq>``)."""
        ms = time.time_ns() // 1_000_000
        last_ms, last_seq = self._last
        self._last = (ms, 0) if ms > last_ms else (last_ms, last_seq + 1)
        return f"{self._last[0]}-{self._last[1]}"


class MemoryLog:
    """The single-process log (no ``REDIS_URL``): a bounded deque per stream."""

    publishes = False

    def __init__(self, max_entries: int, ids: IdClock | None = None) -> None:
        self._max = max_entries
        self._ids = ids or IdClock()
        self._logs: dict[str, deque[tuple[tuple[int, int], str, str]]] = {}
        # Per stream, the newest id trimmed away: a `since` before it may have lost events.
        self._trimmed: dict[str, tuple[int, int]] = {}
        # Nothing from before this process started is kept.
        self._epoch = parse_id(self._ids.next()) or (0, 0)
        self._once: dict[str, float] = {}  # once key -> when it was used (oldest first)

    async def append(
        self, entries: list[tuple[str, str]], publish: bool = False, once: str | None = None
    ) -> list[str]:
        """Append (stream, body) entries; returns their ids, in order (``[]`` for a
        ``once`` key already used)."""
        assert not publish, "the memory log does not publish"
        if once is not None and not self._first_use(once):
            return []
        ids = []
        for stream, body in entries:
            event_id = self._ids.next()
            log = self._logs.setdefault(stream, deque())
            if len(log) >= self._max:
                self._trimmed[stream] = log.popleft()[0]
            log.append((parse_id(event_id) or (0, 0), event_id, body))
            ids.append(event_id)
        return ids

    async def claim(self, once: str) -> bool:
        """As ``EventLog.claim``."""
        return self._first_use(once)

    def _first_use(self, once: str) -> bool:
        now = time.monotonic()
        while self._once and (
            len(self._once) >= ONCE_KEPT or next(iter(self._once.values())) < now - ONCE_SECONDS
        ):
            del self._once[next(iter(self._once))]
        if once in self._once:
            return False
        self._once[once] = now
        return True

    async def read_after(self, stream: str, since: str, limit: int) -> list[tuple[str, str]] | None:
        """Entries after ``since`` (at most ``limit``), or None when some may be gone."""
        position = parse_id(since)
        if position is None or position < self._epoch:
            return None
        if self._trimmed.get(stream, (0, 0)) > position:
            return None
        found = [(i, body) for key, i, body in self._logs.get(stream, ()) if key > position]
        return None if len(found) > limit else found


class RedisLog:
    """Redis Streams: ``XADD murmur:log:<stream> MAXLEN ~ N``, replay with ``XRANGE``.

    A Redis restart loses the logs, so an *epoch* key records when the current logs began;
    a ``since`` older than the epoch, or older than the first entry of a log that has been
    trimmed, cannot be replayed.
    """

    EPOCH_KEY = "murmur:log:epoch"
    LAST_KEY = "murmur:log:last"  # the newest id given out, for every log

    # Ids come from one clock for all logs (Redis's, in one script), not from each Stream's
    # own ``*`` id: a ``home`` subscription merges several logs, and two Streams would both
    # hand out ``<ms>-0`` in the same millisecond, so their ids would not order the merge.
    # KEYS: last id, epoch, once key, then one log per entry; ARGV: max length, publish
    # flag, once TTL ('' for none), log TTL, then the entries' bodies, then (publishing)
    # channels.
    _APPEND = """
    if ARGV[3] ~= '' and not redis.call('SET', KEYS[3], '1', 'NX', 'EX', ARGV[3]) then
        return {}  -- announced before: a retried batch
    end
    local t = redis.call('TIME')
    local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
    redis.call('SET', KEYS[2], string.format('%.0f-0', ms), 'NX')
    local last_ms, last_seq = 0, 0
    local last = redis.call('GET', KEYS[1])
    if last then
        local dash = string.find(last, '-', 1, true)
        last_ms = tonumber(string.sub(last, 1, dash - 1))
        last_seq = tonumber(string.sub(last, dash + 1))
    end
    local ids = {}
    local n = #KEYS - 3
    for i = 4, #KEYS do
        if ms > last_ms then last_ms, last_seq = ms, 0 else last_seq = last_seq + 1 end
        local id = string.format('%.0f-%.0f', last_ms, last_seq)
        local body = ARGV[i + 1]
        local ok = redis.pcall('XADD', KEYS[i], 'MAXLEN', '~', ARGV[1], id, 'b', body)
        if type(ok) == 'table' and ok.err then  -- a Stream written before ids were global
            ok = redis.call('XADD', KEYS[i], 'MAXLEN', '~', ARGV[1], '*', 'b', body)
        end
        redis.call('EXPIRE', KEYS[i], ARGV[4])
        ids[#ids + 1] = ok
        if ARGV[2] == '1' then  -- publish here: a channel's messages come in id order
            redis.call('PUBLISH', ARGV[n + i + 1], ok .. '|' .. body)
        end
    end
    redis.call('SET', KEYS[1], string.format('%.0f-%.0f', last_ms, last_seq))
    return ids
    """

    # The script publishes too: two processes appending to one stream would otherwise take
    # ids in one order and publish in the other, and a subscriber that drops what is older
    # than the newest it delivered (replay + live without duplicates) would lose the first.
    publishes = True

    def __init__(self, redis: Any, max_entries: int, ttl: int = LOG_TTL_SECONDS) -> None:
        self._redis = redis  # a redis.asyncio.Redis (decode_responses=True)
        self._max = max_entries
        self._ttl = ttl
        self._append = redis.register_script(self._APPEND)

    @staticmethod
    def key(stream: str) -> str:
        """The Redis Stream key of a stream's log."""
        return f"murmur:log:{stream}"

    async def append(
        self, entries: list[tuple[str, str]], publish: bool = False, once: str | None = None
    ) -> list[str]:
        """Append (stream, body) entries with ids from the shared clock, in one round trip;
        with ``publish``, also publish each as ``<id>|<body>`` on the stream's channel. A
        ``once`` key is claimed in the same script: nothing is appended if it was taken."""
        keys, args = self._append_call(entries, publish, once)
        ids = await self._append(keys=keys, args=args)
        return [str(i) for i in ids]

    def _append_call(
        self, entries: list[tuple[str, str]], publish: bool, once: str | None
    ) -> tuple[list[str], list[Any]]:
        """The append script's keys and arguments."""
        once_key = f"murmur:once:{once}" if once is not None else self.LAST_KEY
        keys = [self.LAST_KEY, self.EPOCH_KEY, once_key, *(self.key(s) for s, _ in entries)]
        ttl = str(ONCE_SECONDS) if once is not None else ""
        args: list[Any] = [self._max, "1" if publish else "0", ttl, self._ttl]
        args += [body for _, body in entries]
        if publish:
            args += [stream for stream, _ in entries]
        return keys, args

    async def append_many(self, batch: list[tuple[list[tuple[str, str]], str | None]]) -> None:
        """``append(entries, publish=True, once=once)`` for each of ``batch``, in one
        pipeline: one round trip for an outbox batch's announcements."""
        calls = [self._append_call(entries, True, once) for entries, once in batch]
        for attempt in range(2):
            pipe = self._redis.pipeline(transaction=False)
            for keys, args in calls:
                pipe.evalsha(self._append.sha, len(keys), *keys, *args)
            try:
                await pipe.execute()
                return
            except NoScriptError:  # Redis restarted: every call failed alike, none ran
                if attempt:
                    raise
                await self._redis.script_load(self._APPEND)

    async def claim(self, once: str) -> bool:
        """As ``EventLog.claim``: ``SET NX`` with the once keys' expiry."""
        return (await self.claim_many([once]))[0]

    async def claim_many(self, keys: list[str]) -> list[bool]:
        """``claim`` for each of ``keys``, in one pipeline."""
        pipe = self._redis.pipeline(transaction=False)
        for once in keys:
            pipe.set(f"murmur:once:{once}", "1", nx=True, ex=ONCE_SECONDS)
        return [bool(taken) for taken in await pipe.execute()]

    async def epoch(self) -> tuple[int, int]:
        """When the current logs began (set now if Redis lost it)."""
        await self._redis.set(self.EPOCH_KEY, f"{time.time_ns() // 1_000_000}-0", nx=True)
        return parse_id(await self._redis.get(self.EPOCH_KEY) or "") or (0, 0)

    async def read_after(self, stream: str, since: str, limit: int) -> list[tuple[str, str]] | None:
        """Entries after ``since`` (at most ``limit``), or None when some may be gone."""
        position = parse_id(since)
        if position is None:
            return None
        key = self.key(stream)
        # One round trip (a storm of reconnects replays thousands of these): the epoch as
        # ``epoch()`` reads it, then the log's bounds and entries.
        pipe = self._redis.pipeline(transaction=False)
        pipe.set(self.EPOCH_KEY, f"{time.time_ns() // 1_000_000}-0", nx=True)
        pipe.get(self.EPOCH_KEY)
        pipe.xinfo_stream(key)
        pipe.xrange(key, min=f"({since}", count=limit + 1)
        _, epoch, info, found = await pipe.execute(raise_on_error=False)
        if isinstance(epoch, Exception) or position < (parse_id(epoch or "") or (0, 0)):
            return None
        return stream_entries(position, info, found, limit, self._ttl)


def stream_entries(
    position: tuple[int, int], info: Any, found: Any, limit: int, ttl: int
) -> list[tuple[str, str]] | None:
    """What ``read_after`` answers from a log's ``XINFO STREAM`` and its ``XRANGE`` after
    ``position`` (either may be the error the pipeline returned in its place)."""
    if isinstance(info, Exception):  # no such key: never written, or expired
        # A log expires ``ttl`` after its last append, so a ``since`` younger than that
        # missed nothing; an older one may have missed what expired with it.
        expired_before = time.time_ns() // 1_000_000 - ttl * 1000 + _EXPIRY_MARGIN_MS
        return None if position[0] < expired_before else []
    first = info.get("first-entry")
    trimmed = int(info.get("entries-added", 0)) > int(info.get("length", 0))
    if trimmed and (first is None or (parse_id(first[0]) or (0, 0)) > position):
        return None
    if isinstance(found, Exception) or len(found) > limit:
        return None
    return [(str(i), fields["b"]) for i, fields in found]
