"""The few things the server's Redis caches need to work on one Redis and on a Redis Cluster.

On a Redis Cluster (``REDIS_CLUSTER=true``) every key lives in one of 16,384 hash slots,
each served by one master, and a command, script or transaction that touches several keys
is refused unless they all share a slot (``CROSSSLOT``). So:

- keys that one script touches share a hash tag (``{...}``, see ``tagged``): only the part
  between the braces is hashed. On a single Redis the braces are just characters.
- several scripts go into one non-transactional pipeline, one ``EVAL`` per slot
  (``eval_each``): the cluster client sends each node its part at once, so the pipeline costs
  one round trip per node (in parallel), and a single Redis one round trip, as before.
- "was this cache built on the Redis that holds it now?" asks the node that holds the key:
  ``RUN_MARKERS`` reads markers and that server's ``run_id`` in one script, so a master that
  restarted, or a replica that took over, is told apart from the run the marker names
  (``queue_run_markers``: one script on a single Redis, one per slot on a cluster).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Iterator, Sequence
from functools import partial
from typing import Any, cast
from weakref import WeakKeyDictionary

from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException, RedisError

from .batching import Batches, Waiting, answer

# What an unreachable or failing Redis raises. A cluster client that reaches no node at all
# raises RedisClusterException, which is no RedisError: without it a cluster outage would turn
# cache misses into errors instead of reads from the database. (redis-py's own failover races
# inside the cluster client come out as ConnectionError: ``connect_redis`` wraps them.)
REDIS_ERRORS = (RedisError, RedisClusterException, OSError)

# KEYS: markers. The run_id of the server holding them (on a cluster the master of their slot,
# which a global INFO could not name), then each marker's value (nil if missing).
RUN_MARKERS = """
local reply = {string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')}
for i = 1, #KEYS do
  reply[i + 1] = redis.call('GET', KEYS[i])
end
return reply
"""

# KEYS[1]: a marker. Sets it to the holding server's run_id followed by ARGV[1].
SET_RUN_MARKER = """
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
redis.call('SET', KEYS[1], run_id .. (ARGV[1] or ''))
return run_id
"""


# A cache set rebuilt from the database, claimed so that rebuilds never overlap. Two readers
# (in two processes) that both found a set stale used to rebuild it both: the second one's
# DEL emptied the set the first had just marked built, and readers saw it empty until the
# second one's ZADD. Now a rebuild first claims the set's marker (``pending:<run>:<token>``,
# with a lifetime, so a builder that died frees it), empties the set, reads the database,
# then fills the set and marks it built only if its claim still stands on the same server
# run (not if the marker was dropped meanwhile, or a replica took over).
#
# KEYS: the set, its marker (one slot). ARGV: token, claim lifetime (s).
# Returns {state, run_id}: 'built' (already built on this run: nothing to do), 'busy'
# (another rebuild holds it: read the database meanwhile), or 'go' (claimed and emptied).
BEGIN_REBUILD = """
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local marker = redis.call('GET', KEYS[2])
if marker == run_id or (marker and string.sub(marker, 1, #run_id + 1) == run_id .. ':') then
  return {'built', run_id}
end
if marker and string.sub(marker, 1, #run_id + 9) == 'pending:' .. run_id .. ':' then
  return {'busy', run_id}
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], 'pending:' .. run_id .. ':' .. ARGV[1], 'EX', tonumber(ARGV[2]))
return {'go', run_id}
"""

# KEYS: the set, its marker. ARGV: token, how many members to keep (the newest), the built
# marker's suffix after the run_id ('', or ':1' for "held everything": ':0' once trimmed),
# then the members (score 0). Returns how many were trimmed, or -1 when the claim is gone
# (nothing written: the set stays unmarked, and the next reader rebuilds it).
FINISH_REBUILD = """
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
if redis.call('GET', KEYS[2]) ~= 'pending:' .. run_id .. ':' .. ARGV[1] then
  return -1
end
for i = 4, #ARGV, 1000 do
  local args = {}
  for j = i, math.min(i + 999, #ARGV) do
    args[#args + 1] = 0
    args[#args + 1] = ARGV[j]
  end
  redis.call('ZADD', KEYS[1], unpack(args))
end
local trimmed = redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
local suffix = ARGV[3]
if trimmed > 0 and suffix == ':1' then
  suffix = ':0'
end
redis.call('SET', KEYS[2], run_id .. suffix)
return trimmed
"""

REBUILD_CLAIM_SECONDS = 30

# KEYS: a marker; ARGV: token. Drops a claim that is still this rebuild's.
_RELEASE_REBUILD = """
local marker = redis.call('GET', KEYS[1])
if marker and string.sub(marker, -#ARGV[1] - 1) == ':' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
end
"""


async def rebuild_set(
    redis: Any,
    key: str,
    marker: str,
    load: Callable[[], Awaitable[Sequence[str]]],
    *,
    keep: int,
    suffix: Callable[[int], str] = lambda _: "",
) -> bool | None:
    """Rebuild the sorted set ``key`` from ``load()`` (its members, any order) unless it is
    built on the current server run, keeping the newest ``keep``; ``suffix(n)`` gives the
    built marker's tail for ``n`` loaded members. True if rebuilt, False if it was built,
    None if another rebuild holds it or took it over (the caller reads the database).
    Raises what Redis raises. The set and ``marker`` must share a slot (a hash tag)."""
    token = secrets.token_hex(8)
    state, _ = await redis.eval(BEGIN_REBUILD, 2, key, marker, token, REBUILD_CLAIM_SECONDS)
    state = state.decode() if isinstance(state, bytes) else str(state)
    if state != "go":
        return False if state == "built" else None
    try:
        members = list(await load())
    except BaseException:  # a failed (or abandoned) read frees the claim for the next reader
        with contextlib.suppress(*REDIS_ERRORS):
            await redis.eval(_RELEASE_REBUILD, 1, marker, token)
        raise
    trimmed = await redis.eval(
        FINISH_REBUILD, 2, key, marker, token, keep, suffix(len(members)), *members
    )
    return True if int(trimmed) >= 0 else None


def tagged(value: str) -> str:
    """``value`` as a hash tag: keys that carry the same tag share a slot on a cluster."""
    return "{" + value + "}"


def is_cluster(redis: Any) -> bool:
    """Whether ``redis`` is a Redis Cluster client."""
    return isinstance(redis, RedisCluster)


# What reads one part's replies from a pipeline shared by several parts (one round trip for
# all): it takes exactly the replies of the commands that part queued, in order, from the
# iterator over the pipeline's replies (``queue_mget``, ``RedisTweetCache.queue_lookup``,
# ``likedcache.queue_marks``).
Replies = Iterator[Any]


async def replies_or_none(pipe: Any, log: logging.Logger, what: str) -> Replies | None:
    """The replies of ``pipe`` (for the parts that queued its commands), or None when Redis
    is unreachable or failing (logged: they read the database instead)."""
    try:
        return iter(await pipe.execute())
    except REDIS_ERRORS as exc:
        log.warning("%s unavailable, reading the database: %s", what, exc)
        return None


# Per client, the reads waiting to share a pipeline (``shared_execute``).
_SHARED: WeakKeyDictionary[Any, Batches] = WeakKeyDictionary()


async def shared_execute(redis: Any, queue: Callable[[Any], None]) -> list[Any]:
    """The replies of the commands ``queue`` puts on a pipeline (as ``queue_mget`` and the
    like), in one round trip shared with the other reads of the moment on ``redis``: a
    round trip costs the app ~0.15 ms of CPU whatever it carries, and a page's reads are
    two of them. A lone read goes at once (``server/batching.py``). Raises what Redis
    raises, for this read's own commands only. A cluster client's reads are not shared
    (its pipelines split by slot)."""
    if is_cluster(redis):
        pipe = redis.pipeline(transaction=False)
        queue(pipe)
        return cast(list[Any], await pipe.execute())
    batches = _SHARED.get(redis)
    if batches is None:
        batches = _SHARED[redis] = Batches(max_batch=64, in_flight=2)
    return cast(list[Any], await batches.submit("reads", queue, partial(_shared_round, redis)))


async def shared_replies(
    redis: Any, queue: Callable[[Any], None], log: logging.Logger, what: str
) -> Replies | None:
    """``shared_execute``'s replies as ``replies_or_none`` gives them: None when Redis is
    unreachable or failing (logged: the caller reads the database instead)."""
    try:
        return iter(await shared_execute(redis, queue))
    except REDIS_ERRORS as exc:
        log.warning("%s unavailable, reading the database: %s", what, exc)
        return None


async def _shared_round(redis: Any, batch: list[Waiting]) -> None:
    """One pipeline for the parts of ``batch``; each is answered with its own replies, or
    the first error among them (the others are not failed by it)."""
    pipe = redis.pipeline(transaction=False)
    spans: list[tuple[int, int]] = []
    failed: dict[int, BaseException] = {}
    for i, (queue, _) in enumerate(batch):
        start = len(pipe.command_stack)
        try:
            queue(pipe)
        except Exception as exc:  # noqa: BLE001 (its own caller hears it, not the others)
            del pipe.command_stack[start:]
            failed[i] = exc
        spans.append((start, len(pipe.command_stack)))
    replies = await pipe.execute(raise_on_error=False) if pipe.command_stack else []
    for i, ((start, end), (_, done)) in enumerate(zip(spans, batch, strict=True)):
        part = replies[start:end]
        error = next((r for r in part if isinstance(r, Exception)), None)
        if error is not None:
            failed[i] = error
        elif i not in failed and not done.done():
            done.set_result(part)
    answer(batch, failed, None)


def queue_mget(pipe: Any, redis: Any, keys: Sequence[str]) -> Callable[[Replies], list[Any]]:
    """Queue ``MGET keys`` on ``pipe``; on a cluster (which refuses an ``MGET`` across slots)
    one ``MGET`` per slot, which the cluster pipeline sends each master at once: one round
    trip per master, not per key. Returns what reads the values, in ``keys``' order."""
    if not is_cluster(redis):
        pipe.mget(keys)
        return lambda replies: list(next(replies))
    slots: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        slots.setdefault(key_slot(key.encode()), []).append(i)
    for group in slots.values():
        # A cluster pipeline blocks its ``mget`` method (it may span slots); this one does not.
        pipe.execute_command("MGET", *[keys[i] for i in group])

    def read(replies: Replies) -> list[Any]:
        values: list[Any] = [None] * len(keys)
        for group in slots.values():
            for i, value in zip(group, next(replies), strict=True):
                values[i] = value
        return values

    return read


def eval_each(pipe: Any, script: str, calls: Sequence[tuple[Sequence[str], Sequence[Any]]]) -> None:
    """Queue one ``EVAL script`` per (keys, args) on ``pipe``; each call's keys share a slot.

    ``EVAL`` (not a registered script's ``EVALSHA``): it needs no ``NOSCRIPT`` retry after a
    restart or failover, and redis-py's ``Script(client=pipe)`` does nothing on a cluster
    pipeline. Redis caches the compiled script by its digest either way."""
    for keys, args in calls:
        pipe.eval(script, len(keys), *keys, *args)


def queue_run_markers(pipe: Any, redis: Any, markers: Sequence[str]) -> list[list[int]]:
    """Queue on ``pipe`` the reads of ``markers`` with the run_id of the server holding each:
    one script for all of them on a single Redis (one ``INFO``), one per slot on a cluster.
    Returns the groups (indexes into ``markers``), one queued script each, for
    ``run_markers``."""
    groups: dict[int, list[int]] = {}
    for i, marker in enumerate(markers):
        groups.setdefault(key_slot(marker.encode()) if is_cluster(redis) else 0, []).append(i)
    calls: list[tuple[Sequence[str], Sequence[Any]]] = [
        ([markers[i] for i in group], []) for group in groups.values()
    ]
    eval_each(pipe, RUN_MARKERS, calls)
    return list(groups.values())


def run_markers(groups: list[list[int]], replies: Sequence[Any]) -> list[tuple[str | None, str]]:
    """(marker, run_id of its server) per marker, in ``queue_run_markers``'s order, from the
    replies of the scripts it queued."""
    found: dict[int, tuple[str | None, str]] = {}
    for group, reply in zip(groups, replies, strict=True):
        run_id, *values = reply
        for i, value in zip(group, values + [None] * (len(group) - len(values)), strict=True):
            found[i] = (None if value is None else str(value), str(run_id))
    return [found[i] for i in range(len(found))]
