"""The server's Redis caches on a real Redis Cluster (``REDIS_CLUSTER=true``), in-process."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server.settings import Settings


@pytest.fixture
def settings(settings: Settings, redis_cluster: Any) -> Settings:
    return settings.model_copy(
        update={"redis_url": redis_cluster.url, "redis_cluster": True, "timeline_store": "redis"}
    )


async def test_probe(client: httpx.AsyncClient, make_user: Any, make_tweet: Any, app: Any) -> None:
    a, b = await make_user(), await make_user()
    r = await client.post(f"/users/{a.id}/follow", headers=b.headers)
    print(r.status_code, r.text)
    t = await make_tweet(a, "hello")
    r = await client.get("/tweets/following", headers=b.headers)
    print(r.status_code, r.text[:300])
