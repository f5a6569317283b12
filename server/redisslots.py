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
  ``RUN_MARKER`` reads a marker and that server's ``run_id`` in one script, so a master that
  restarted, or a replica that took over, is told apart from the run the marker names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

# What an unreachable or failing Redis raises. A cluster client that reaches no node at all
# raises RedisClusterException, which is no RedisError: without it a cluster outage would turn
# cache misses into errors instead of reads from the database.
REDIS_ERRORS = (RedisError, RedisClusterException, OSError)

# KEYS[1]: a marker. The marker's value (nil if missing) and the run_id of the server holding
# it: on a cluster the master of the marker's slot, which a global INFO could not name.
RUN_MARKER = """
local info = redis.call('INFO', 'server')
return {redis.call('GET', KEYS[1]), string.match(info, 'run_id:(%x+)')}
"""

# KEYS[1]: a marker. Sets it to the holding server's run_id followed by ARGV[1].
SET_RUN_MARKER = """
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
redis.call('SET', KEYS[1], run_id .. (ARGV[1] or ''))
return run_id
"""


def tagged(value: str) -> str:
    """``value`` as a hash tag: keys that carry the same tag share a slot on a cluster."""
    return "{" + value + "}"


def is_cluster(redis: Any) -> bool:
    """Whether ``redis`` is a Redis Cluster client."""
    return isinstance(redis, RedisCluster)


async def mget(redis: Any, keys: list[str]) -> list[Any]:
    """``MGET keys``; on a cluster (which refuses an ``MGET`` across slots) one ``MGET`` per
    slot, pipelined: one round trip per master, not per key."""
    if is_cluster(redis):
        return list(await redis.mget_nonatomic(keys))
    return list(await redis.mget(keys))


def eval_each(pipe: Any, script: str, calls: Sequence[tuple[Sequence[str], Sequence[Any]]]) -> None:
    """Queue one ``EVAL script`` per (keys, args) on ``pipe``; each call's keys share a slot.

    ``EVAL`` (not a registered script's ``EVALSHA``): it needs no ``NOSCRIPT`` retry after a
    restart or failover, and redis-py's ``Script(client=pipe)`` does nothing on a cluster
    pipeline. Redis caches the compiled script by its digest either way."""
    for keys, args in calls:
        pipe.eval(script, len(keys), *keys, *args)


def run_id_of(marker_and_run: Any) -> tuple[str | None, str]:
    """``RUN_MARKER``'s reply as (marker, run_id)."""
    marker, run_id = marker_and_run
    return (None if marker is None else str(marker)), str(run_id)
