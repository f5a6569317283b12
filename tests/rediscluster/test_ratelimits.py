"""Rate limits on a real Redis Cluster: two ``RateLimits`` (as two processes hold) share each
caller's moving window, for callers whose windows sit on every master."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from limits import parse

from server.errors import RateLimited
from server.ratelimit import RateLimits
from tests.rediscluster.spread import on_every_master


async def test_limits_hold_across_two_clients_for_callers_on_every_master(
    redis_cluster: Any,
) -> None:
    prefix = f"murmur:rl-{uuid.uuid4().hex[:8]}"
    limit = "3/minute"
    first, second = (RateLimits(redis_cluster.url, prefix=prefix, cluster=True) for _ in range(2))
    try:

        async def caller() -> str:
            return uuid.uuid4().hex

        def window(who: str) -> str:  # the key limits keeps the caller's window under
            return f"{prefix}:limits:{parse(limit).key_for('action', who)}"

        callers, _ = await on_every_master(caller, window, redis_cluster)
        for who in callers:
            for limiter in (first, second, first):
                await limiter.hit(limit, "action", who)
            for limiter in (second, first):
                with pytest.raises(RateLimited):
                    await limiter.hit(limit, "action", who)
            assert await first._cluster_client.exists(window(who)) == 1  # on the cluster
    finally:
        await first.close()
        await second.close()
