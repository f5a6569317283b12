"""Fixtures for the tests of the server's Redis uses on a Redis Cluster: an in-process app
whose every Redis use is on the session's cluster (``REDIS_CLUSTER=true``). A test module
takes them by name (``settings = clusterapp.settings``); not a conftest, so that the realtime
cluster tests next to these keep theirs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.settings import Settings


def on_cluster(settings: Settings, redis_cluster: Any) -> Settings:
    """``settings`` with every Redis use on ``redis_cluster``."""
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
def settings(settings: Settings, redis_cluster: Any) -> Settings:
    return on_cluster(settings, redis_cluster)


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
