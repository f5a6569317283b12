"""Fixtures for the Redis Cluster tests: an in-process app whose every Redis use is on the
session's cluster (``REDIS_CLUSTER=true``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.settings import Settings


@pytest.fixture
def settings(settings: Settings, redis_cluster: Any) -> Settings:
    return settings.model_copy(
        update={
            "redis_url": redis_cluster.url,
            "redis_cluster": True,
            "timeline_store": "redis",
            "rate_limits_enabled": False,
            "timeline_max_entries": 5,  # trimming shows after a few tweets
        }
    )


@pytest.fixture
async def svc(app: Any) -> AsyncIterator[Any]:
    yield app.state.services
    # Keys carry the test's database name: drop them (the cluster lives for the session).
    redis = app.state.services.cache_redis
    keys = [
        k async for k in redis.scan_iter(match=f"murmur:{app.state.services.settings.mongodb_db}:*")
    ]
    for k in keys:
        await redis.delete(k)
