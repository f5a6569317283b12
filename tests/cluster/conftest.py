"""What the cluster test modules share: one cluster per module, stopped by its PIDs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from bench.stack import SECRET
from server.cluster import Cluster


@contextlib.contextmanager
def running(
    tmp_path_factory: pytest.TempPathFactory,
    *,
    web: int,
    workers: int,
    redis_cluster: bool = False,
    **env: str,
) -> Iterator[Cluster]:
    """A cluster (web processes, workers, nginx, Redis — a Redis Cluster with
    ``redis_cluster`` —, the database) for one module. Its JWT secret is known
    (``bench.stack.SECRET``), so tests issue tokens as sign-in does; rate limits are off;
    ``env`` adds settings."""
    started = Cluster(
        tmp_path_factory.mktemp("cluster"),
        web=web,
        workers=workers,
        redis_cluster=redis_cluster,
        env={"JWT_SECRET": SECRET, "RATE_LIMITS_ENABLED": "false", **env},
    ).start()
    try:
        yield started
    finally:
        started.stop()
