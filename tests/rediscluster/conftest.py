"""Helpers for tests that take a Redis Cluster master down: they leave the cluster healthy."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from redis.crc import key_slot

from tests.realtime.conftest import apps as apps  # in-process Murmurs, as for one Redis


@pytest.fixture
def cluster_apps(
    apps: Any,  # noqa: F811 - the fixture imported above
    redis_cluster: Any,
) -> Any:
    """``await cluster_apps(n, **settings)``: n Murmurs whose every Redis use (hub, logs,
    pub/sub, socket counts, stats, read caches, stored timelines, rate limits) runs on the
    Redis Cluster (``REDIS_CLUSTER=true``). In one event loop for speed, each with its own
    hub and Redis connections, as separate processes would have."""

    async def make(n: int, **overrides: Any) -> list[Any]:
        return list(await apps(n, redis_url=redis_cluster.url, redis_cluster=True, **overrides))

    return make


def channels_on_every_master(redis_cluster: Any, prefix: str, per_master: int = 2) -> list[str]:
    """Channel names (``prefix`` + n) until each of the three masters owns ``per_master``."""
    owned: dict[int, list[str]] = {}
    n = 0
    while len(owned) < 3 or any(len(v) < per_master for v in owned.values()):
        name = f"{prefix}{n}"
        port = redis_cluster.master_of(name).port
        if len(owned.setdefault(port, [])) < per_master:
            owned[port].append(name)
        n += 1
    return [c for names in owned.values() for c in names]


def same_master(redis_cluster: Any, a: str, b: str) -> bool:
    return bool(redis_cluster.master_of(a).port == redis_cluster.master_of(b).port)


def slot(name: str) -> int:
    return key_slot(name.encode())


@contextlib.contextmanager
def master_down(redis_cluster: Any, key: str) -> Iterator[Any]:
    """Kill the master of ``key``'s slot; afterwards restart it (it rejoins as a replica)
    and wait until every node reports the cluster ``ok`` again, for the next test."""
    node = redis_cluster.master_of(key)
    _wait_replica_synced(redis_cluster, node.port)
    node.kill()
    try:
        yield node
    finally:
        taken_over(redis_cluster, key, node)
        node.start()
        redis_cluster.wait_ok(30)


def taken_over(redis_cluster: Any, key: str, dead: Any, timeout: float = 30.0) -> None:
    """Until another node serves ``key``'s slot and the cluster is ``ok`` (right after a
    kill it still is, until the nodes agree the master failed)."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(LookupError):  # no master at all for a moment
            if redis_cluster.master_of(key).port != dead.port:
                break
        if time.monotonic() > deadline:
            raise RuntimeError(f"no replica took over from {dead.port} in {timeout}s")
        time.sleep(0.1)
    redis_cluster.wait_ok(timeout)


def _wait_replica_synced(redis_cluster: Any, master_port: int, timeout: float = 20.0) -> None:
    """Until a replica of that master has finished its sync: one that has not cannot take
    over (a fresh cluster's replicas sync a few seconds after it forms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for node in redis_cluster.nodes:
            if not node.alive():
                continue
            role = node.cli("role").split()
            if role[0] == "slave" and int(role[2]) == master_port and role[3] == "connected":
                return
        time.sleep(0.1)
    raise RuntimeError(f"no replica of {master_port} in sync after {timeout}s")
