"""The replay logs on a Redis Cluster: one clock per stream, every key of a stream in one slot.

On a single Redis one script takes every id from one global clock (``log.py:RedisLog``). A
cluster refuses a script whose keys live in different slots (``CROSSSLOT``), and a global
clock key would put every append on one shard. Here each stream has its own keys, sharing
the stream's name as their hash tag, so they live in the slot of the stream's channel too:

- ``murmur:log:{<stream>}`` — the Redis Stream (``XADD … MAXLEN ~ N``), as on one Redis;
- ``murmur:logclock:{<stream>}`` — the last id this stream gave out;
- ``murmur:logepoch:{<tag of the slot>}`` — when the slot's logs began (``epoch_key``).

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
with the same floor, each master's scripts in one pipeline and the masters at once (a tweet's
fan-out to 1,000 followers' logs is a round trip per master, not 1,000 in a row). A
``once`` key is claimed first, in its own slot, with a short expiry that is extended once
every append is done: a crash in between leaves the claim to lapse,
after which a retry announces again (on the streams appended before the crash, twice — a
duplicate ``tweet.created`` for a tweet a client already shows; never an announcement lost
for good). While the once key's own shard is away, the announcement is made without it. An
append whose streams span shards of which one is away appends to the others and raises
``PartialAppend`` naming the rest (which the publisher marks for ``resync``).
"""

from __future__ import annotations

import asyncio
import binascii
import functools
import logging
import time
from typing import Any

from redis.crc import REDIS_CLUSTER_HASH_SLOTS as SLOTS
from redis.crc import key_slot
from redis.exceptions import NoScriptError, RedisError

from .log import LOG_TTL_SECONDS, ONCE_SECONDS, PartialAppend, parse_id, stream_entries

log = logging.getLogger("murmur.realtime.clusterlog")

ONCE_PENDING_SECONDS = 60  # a claim whose appends did not finish lapses after this

# KEYS: per entry, its log, its clock and its slot's epoch; ARGV: max length, publish flag,
# log TTL, floor ms, floor seq, then the bodies, then (publishing) the channels.
_APPEND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local floor_ms, floor_seq = tonumber(ARGV[4]), tonumber(ARGV[5])
local n = #KEYS / 3
local ids = {}
for i = 1, n do
    local log, clock, body = KEYS[3 * i - 2], KEYS[3 * i - 1], ARGV[5 + i]
    -- The slot's record began now if its epoch is gone (this shard lost its data).
    redis.call('SET', KEYS[3 * i], string.format('%.0f-0', now), 'NX')
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


# ARGV: the epoch, then the epoch keys of slots this node serves (undeclared keys: a cluster
# refuses declared keys of several slots, this flag lets a script reach its own node's).
_SET_EPOCHS = """#!lua flags=allow-cross-slot-keys
for i = 2, #ARGV do redis.call('SET', ARGV[i], ARGV[1], 'NX') end
return #ARGV - 1
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
        _slot_tags()  # at start-up, not on the event loop's first append
        self._epochs: asyncio.Task[None] | None = None

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
        await self._epochs_set()
        once_key = f"murmur:once:{once}" if once is not None else None
        if once_key is not None:
            try:
                claimed = await self._redis.set(once_key, "1", nx=True, ex=ONCE_PENDING_SECONDS)
            except (RedisError, OSError) as exc:
                # The once key's shard is away (a failover): announce anyway rather than
                # fail the streams on every other shard — at least once, not at most.
                log.warning("once key unavailable (%s); announcing without it", exc)
                claimed, once_key = True, None
            if not claimed:
                return []
        by_slot: dict[int, list[int]] = {}
        for index, (stream, _) in enumerate(entries):
            by_slot.setdefault(key_slot(stream.encode()), []).append(index)
        by_node: dict[str, list[list[int]]] = {}
        for slot, indexes in by_slot.items():
            by_node.setdefault(self._node_of(slot), []).append(indexes)
        floor = self._floor
        calls = [
            [(indexes, self._call(entries, indexes, floor, publish)) for indexes in groups]
            for groups in by_node.values()
        ]
        # Each master's scripts in one pipeline, the masters at once: a fan-out to 1,000
        # followers' logs (1,000 slots) is one round trip per master, not 1,000 in a row.
        done = await asyncio.gather(*(self._run_on_node(c) for c in calls))
        ids: list[str] = [""] * len(entries)
        failed: list[str] = []
        cause: BaseException | None = None
        for node_calls, results in zip(calls, done, strict=True):
            for (indexes, _), taken in zip(node_calls, results, strict=True):
                if isinstance(taken, BaseException):  # that shard is away: the others still
                    failed += [entries[i][0] for i in indexes]  # get theirs
                    cause = taken
                    continue
                for i, event_id in zip(indexes, taken, strict=True):
                    ids[i] = str(event_id)
                    self._floor = max(self._floor, parse_id(ids[i]) or (0, 0))
        if failed:  # the once claim lapses: a retry announces again
            assert cause is not None
            raise PartialAppend(failed, cause)
        if once_key is not None:
            await self._redis.expire(once_key, ONCE_SECONDS)
        return ids

    def _call(
        self, entries: list[tuple[str, str]], indexes: list[int], floor: tuple[int, int],
        publish: bool,
    ) -> tuple[list[str], list[Any]]:  # fmt: skip
        """The keys and arguments of the append script for these entries (one slot)."""
        streams = [entries[i][0] for i in indexes]
        keys = [k for s in streams for k in (self.key(s), self.clock_key(s), epoch_key(s))]
        args: list[Any] = [self._max, "1" if publish else "0", self._ttl, *floor]
        args += [entries[i][1] for i in indexes]
        if publish:
            args += streams
        return keys, args

    async def _run_on_node(
        self, calls: list[tuple[list[int], tuple[list[str], list[Any]]]]
    ) -> list[Any]:
        """One master's append scripts in one pipeline: each one's ids, or its error (a
        pipeline that failed as a whole fails each). A script the node does not know yet
        (a restart, a failover) did not run: it is sent again on its own, which loads it."""
        pipe = self._redis.pipeline(transaction=False)
        for _, (keys, args) in calls:
            pipe.execute_command("EVALSHA", self._append.sha, len(keys), *keys, *args)
        try:
            results: list[Any] = await pipe.execute(raise_on_error=False)
        except Exception as exc:
            return [exc] * len(calls)
        for n, (result, (_, (keys, args))) in enumerate(zip(results, calls, strict=True)):
            if isinstance(result, NoScriptError):
                try:
                    results[n] = await self._append(keys=keys, args=args)
                except Exception as exc:
                    results[n] = exc
        return results

    def _node_of(self, slot: int) -> str:
        """The name of the master serving ``slot`` as this client last saw it (a stale map
        only costs a redirection inside the pipeline)."""
        try:
            return str(self._redis.nodes_manager.get_node_from_slot(slot).name)
        except Exception:  # no map yet: one group; the pipeline finds the nodes
            return ""

    async def _epochs_set(self) -> None:
        """Once per process: every slot's epoch exists (``SET NX``: those present stay).

        A slot whose epoch is missing when its first event comes would otherwise start
        its record then, and a ``since`` from just before on a stream of another slot —
        nothing lost — would answer resync."""
        if self._epochs is None:
            self._epochs = asyncio.ensure_future(self._set_epochs())
        try:
            await asyncio.shield(self._epochs)
        except Exception:
            self._epochs = None  # Redis was away: try again next time
            raise

    async def _set_epochs(self) -> None:
        # One script per master over the slots it serves (keys of many slots, one node:
        # ``allow-cross-slot-keys``); a SET per slot through a cluster pipeline takes seconds.
        now = f"{time.time_ns() // 1_000_000}-0"
        await self._redis.initialize()
        nodes = self._redis.nodes_manager
        by_node: dict[str, tuple[Any, list[str]]] = {}
        for slot, tag in enumerate(_slot_tags()):
            node = nodes.get_node_from_slot(slot)
            by_node.setdefault(node.name, (node, []))[1].append(_epoch_key(tag))
        for node, keys in by_node.values():
            await self._redis.execute_command("EVAL", _SET_EPOCHS, 0, now, *keys, target_nodes=node)

    async def claim(self, once: str) -> bool:
        """As ``EventLog.claim``: ``SET NX`` with the once keys' expiry."""
        taken = await self._redis.set(f"murmur:once:{once}", "1", nx=True, ex=ONCE_SECONDS)
        return bool(taken)

    async def read_after(self, stream: str, since: str, limit: int) -> list[tuple[str, str]] | None:
        """As ``EventLog.read_after``: one round trip to the stream's shard."""
        position = parse_id(since)
        if position is None:
            return None
        await self._epochs_set()
        key, epoch = self.key(stream), epoch_key(stream)
        pipe = self._redis.pipeline(transaction=False)  # one slot: one node, one round trip
        pipe.set(epoch, f"{time.time_ns() // 1_000_000}-0", nx=True)
        pipe.get(epoch)
        pipe.xinfo_stream(key)
        pipe.xrange(key, min=f"({since}", count=limit + 1)
        _, began, info, found = await pipe.execute(raise_on_error=False)
        if isinstance(began, Exception) or position < (parse_id(began or "") or (0, 0)):
            return None  # this slot's logs were lost after `since`: what was in them is gone
        return stream_entries(position, info, found, limit, self._ttl)


def epoch_key(stream: str) -> str:
    """The epoch key of the slot of ``stream``'s keys: when that slot's logs began.

    One key per slot (16,384 at most, never expiring): a shard that loses its data (a
    master restarted empty, a failover to a replica that had not synced) loses its slots'
    epochs with it, and a ``since`` from before the new epoch answers resync instead of
    "nothing missed". Per slot rather than per stream, so a stream's first event does not
    make older positions on it look lost.
    """
    return _epoch_key(_slot_tags()[key_slot(stream.encode())])


def _epoch_key(tag: str) -> str:
    return f"murmur:logepoch:{{{tag}}}"


@functools.cache
def _slot_tags() -> list[str]:
    """A hash tag for every slot (``key_slot(tag) == slot``): found once, in ~0.2 s."""
    tags: list[str | None] = [None] * SLOTS
    left, n = SLOTS, 0
    while left:
        tag = b"%x" % n
        slot = binascii.crc_hqx(tag, 0) % SLOTS  # Redis Cluster's CRC16 rule
        if tags[slot] is None:
            tags[slot], left = tag.decode(), left - 1
        n += 1
    return [t or "" for t in tags]
