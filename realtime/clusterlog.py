"""The replay logs on a Redis Cluster: one clock per stream, every key of a stream in one slot.

On a single Redis one script takes every id from one global clock (``log.py:RedisLog``). A
cluster refuses a script whose keys live in different slots (``CROSSSLOT``), and a global
clock key would put every append on one shard. Here each stream has its own keys, sharing
the stream's name as their hash tag, so they live in the slot of the stream's channel too:

- ``murmur:log:{<stream>}`` — the Redis Stream (``XADD … MAXLEN ~ N``), as on one Redis;
- ``murmur:logclock:{<stream>}`` — the last id this stream gave out.

Why they share a slot: one script takes the id, appends, and ``SPUBLISH``es ``<id>|<body>``
on the stream's channel (the channel's name is the tag, so the sharded channel is on the same
shard); taking the id and publishing in one atomic step is what keeps a channel's live
messages in id order whichever processes publish (see ``RedisLog``).

An id is ``max(shard TIME ms, this stream's last id + 1, the caller's floor + 1)``: a
per-stream hybrid logical clock. The floor is the newest id this process has taken, so an
event a process appends after another gets a larger id even when the second stream's shard
clock is behind. How a ``home`` subscription merging logs on different shards stays exactly
once and in order is the hub's business (``connection.py:MergeHold``; the rule and its proof
are in ``docs/realtime.md``).

An append to several streams runs one script per slot (streams of one slot together), all
with the same floor. A ``once`` key is claimed first, in its own slot, with a short expiry
that is extended once every append is done: a crash in between leaves the claim to lapse,
after which a retry announces again (on the streams appended before the crash, twice — a
duplicate ``tweet.created`` for a tweet a client already shows; never an announcement lost
for good).
"""

from __future__ import annotations

from typing import Any

from redis.crc import key_slot

from .log import LOG_TTL_SECONDS, ONCE_SECONDS, parse_id, stream_entries

ONCE_PENDING_SECONDS = 60  # a claim whose appends did not finish lapses after this

# KEYS: per entry, its log then its clock; ARGV: max length, publish flag, log TTL, floor ms,
# floor seq, then the bodies, then (publishing) the channels.
_APPEND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local floor_ms, floor_seq = tonumber(ARGV[4]), tonumber(ARGV[5])
local n = #KEYS / 2
local ids = {}
for i = 1, n do
    local log, clock, body = KEYS[2 * i - 1], KEYS[2 * i], ARGV[5 + i]
    local ms, seq = now, 0
    if ms < floor_ms or (ms == floor_ms and seq <= floor_seq) then
        ms, seq = floor_ms, floor_seq + 1
    end
    local last = redis.call('GET', clock)
    if last then
        local dash = string.find(last, '-', 1, true)
        local last_ms = tonumber(string.sub(last, 1, dash - 1))
        local last_seq = tonumber(string.sub(last, dash + 1))
        if ms < last_ms or (ms == last_ms and seq <= last_seq) then
            ms, seq = last_ms, last_seq + 1
        end
    end
    local id = string.format('%.0f-%.0f', ms, seq)
    local ok = redis.pcall('XADD', log, 'MAXLEN', '~', ARGV[1], id, 'b', body)
    if type(ok) == 'table' and ok.err then  -- the clock key was lost but the Stream was not
        ok = redis.call('XADD', log, 'MAXLEN', '~', ARGV[1], '*', 'b', body)
    end
    redis.call('SET', clock, ok, 'EX', ARGV[3])
    redis.call('EXPIRE', log, ARGV[3])
    ids[#ids + 1] = ok
    if ARGV[2] == '1' then
        redis.call('SPUBLISH', ARGV[5 + n + i], ok .. '|' .. body)
    end
end
return ids
"""


class ClusterLog:
    """``EventLog`` on a Redis Cluster (a ``redis.asyncio.cluster.RedisCluster``)."""

    publishes = True

    def __init__(self, redis: Any, max_entries: int, ttl: int = LOG_TTL_SECONDS) -> None:
        self._redis = redis
        self._max = max_entries
        self._ttl = ttl
        self._append = redis.register_script(_APPEND)
        self._floor = (0, 0)  # the newest id this process took: the next ones are larger

    @staticmethod
    def key(stream: str) -> str:
        """The Redis Stream key of a stream's log (tagged: the stream's slot)."""
        return f"murmur:log:{{{stream}}}"

    @staticmethod
    def clock_key(stream: str) -> str:
        """The key holding the last id a stream gave out (same slot as its log)."""
        return f"murmur:logclock:{{{stream}}}"

    async def append(
        self, entries: list[tuple[str, str]], publish: bool = False, once: str | None = None
    ) -> list[str]:
        """As ``EventLog.append``: one script per slot, every one with the same floor."""
        once_key = f"murmur:once:{once}" if once is not None else None
        if once_key is not None:
            claimed = await self._redis.set(once_key, "1", nx=True, ex=ONCE_PENDING_SECONDS)
            if not claimed:
                return []
        by_slot: dict[int, list[int]] = {}
        for index, (stream, _) in enumerate(entries):
            by_slot.setdefault(key_slot(stream.encode()), []).append(index)
        floor = self._floor
        ids: list[str] = [""] * len(entries)
        for indexes in by_slot.values():
            streams = [entries[i][0] for i in indexes]
            keys = [k for s in streams for k in (self.key(s), self.clock_key(s))]
            args: list[Any] = [self._max, "1" if publish else "0", self._ttl, *floor]
            args += [entries[i][1] for i in indexes]
            if publish:
                args += [entries[i][0] for i in indexes]
            for i, event_id in zip(indexes, await self._append(keys=keys, args=args), strict=True):
                ids[i] = str(event_id)
                self._floor = max(self._floor, parse_id(ids[i]) or (0, 0))
        if once_key is not None:
            await self._redis.expire(once_key, ONCE_SECONDS)
        return ids

    async def claim(self, once: str) -> bool:
        """As ``EventLog.claim``: ``SET NX`` with the once keys' expiry."""
        taken = await self._redis.set(f"murmur:once:{once}", "1", nx=True, ex=ONCE_SECONDS)
        return bool(taken)

    async def read_after(self, stream: str, since: str, limit: int) -> list[tuple[str, str]] | None:
        """As ``EventLog.read_after``: one round trip to the stream's shard."""
        position = parse_id(since)
        if position is None:
            return None
        key = self.key(stream)
        pipe = self._redis.pipeline(transaction=False)  # both commands: one slot, one node
        pipe.xinfo_stream(key)
        pipe.xrange(key, min=f"({since}", count=limit + 1)
        info, found = await pipe.execute(raise_on_error=False)
        return stream_entries(position, info, found, limit, self._ttl)
