"""The Redis Cluster test fixture and ``connect_redis(cluster=True)`` against real nodes."""

from __future__ import annotations

from typing import Any

from realtime.redis_backend import connect_redis


async def test_a_cluster_client_reaches_keys_on_every_master(redis_cluster: Any) -> None:
    client = connect_redis(redis_cluster.url, cluster=True)
    try:
        keys = [f"probe:{i}" for i in range(30)]
        for i, key in enumerate(keys):
            await client.set(key, str(i))
        assert [await client.get(k) for k in keys] == [str(i) for i in range(30)]
        owners = {redis_cluster.master_of(k).port for k in keys}
        assert len(owners) == 3  # the keys spread over all three masters
    finally:
        await client.delete(*keys)
        await client.aclose()
