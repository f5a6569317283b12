"""Cluster statistics: each process reports into Redis with a TTL, so a dead one drops out.

``python -m realtime.stats redis://127.0.0.1:6379/0`` (or ``murmur stats``) prints the
cluster's live connection counts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import socket
import sys
import time
import uuid
from collections import Counter
from typing import Any

from .hub import Hub
from .redis_backend import connect_redis

log = logging.getLogger("murmur.realtime.stats")

KEY_PREFIX = "murmur:proc:"


class Reporter:
    """Keeps this process's numbers (and events per second) and reports them to Redis."""

    def __init__(
        self, hub: Hub, redis: Any | None, interval: float = 2.0, role: str = "web"
    ) -> None:
        self.hub = hub
        self.role = role  # "web", "worker" (the outbox worker alone) or "web+worker"
        self.redis = redis
        self.interval = interval
        self.process_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._last = (time.monotonic(), 0)
        self.events_per_second = 0.0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Report this process into Redis every ``interval`` seconds."""
        self._task = asyncio.create_task(self._run(), name="murmur-stats-reporter")

    async def stop(self) -> None:
        """Stop reporting and remove this process's entry."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.delete(KEY_PREFIX + self.process_id)

    def snapshot(self) -> dict[str, Any]:
        """This process's figures now, with events/s over the last second or more."""
        now, delivered = time.monotonic(), self.hub.listeners.delivered
        then, before = self._last
        if now - then >= 1.0:
            self.events_per_second = round((delivered - before) / (now - then), 1)
            self._last = (now, delivered)
        return {
            "process": self.process_id,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "role": self.role,
            **self.hub.stats(),
            "events_per_second": self.events_per_second,
        }

    async def _run(self) -> None:
        while True:
            snap = self.snapshot()
            if self.redis is not None:
                try:
                    ttl = max(1, int(self.interval * 3))
                    await self.redis.set(KEY_PREFIX + self.process_id, json.dumps(snap), ex=ttl)
                except Exception as exc:
                    log.debug("stats report failed: %s", exc)
            await asyncio.sleep(self.interval)

    async def cluster(self) -> list[dict[str, Any]]:
        """Every live process's last report (just this one without Redis)."""
        if self.redis is None:
            return [self.snapshot()]
        try:
            return await read_cluster(self.redis)
        except Exception as exc:
            log.warning("cluster stats unavailable: %s", exc)
            return [self.snapshot()]


async def read_cluster(redis: Any) -> list[dict[str, Any]]:
    """Every live process's last report, read from Redis."""
    # On a cluster, SCAN goes to every master and the keys live in different slots, so the
    # values are read per slot (redis-py's ``mget_nonatomic``); on one Redis, one MGET.
    keys = [k async for k in redis.scan_iter(match=KEY_PREFIX + "*", count=500)]
    mget = getattr(redis, "mget_nonatomic", redis.mget)
    values = await mget(keys) if keys else []
    return sorted((json.loads(v) for v in values if v), key=lambda p: p["process"])


def summary(processes: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals over processes: connections, users, subscriptions by kind, events per second."""
    by_kind: dict[str, int] = {}
    for proc in processes:
        for kind, count in proc.get("subscriptions", {}).items():
            by_kind[kind] = by_kind.get(kind, 0) + count
    roles = Counter(proc.get("role", "?") for proc in processes)
    return {
        "processes": len(processes),
        "roles": dict(sorted(roles.items())),  # e.g. murmur serve's web process and its worker
        "connections": sum(p.get("connections", 0) for p in processes),
        "users": sum(p.get("users", 0) for p in processes),
        "subscriptions": by_kind,
        "events_per_second": round(sum(p.get("events_per_second", 0) for p in processes), 1),
    }


def print_cluster(redis_url: str, cluster: bool | None = None) -> int:
    """Print each live process and the cluster totals; 1 if Redis cannot be reached.
    ``cluster``: ``redis_url`` names a node of a Redis Cluster (``REDIS_CLUSTER``); ``None``
    asks the node."""

    async def run() -> int:
        try:
            on_cluster = await _is_cluster(redis_url) if cluster is None else cluster
        except Exception as exc:
            print(f"Cannot read cluster stats from {redis_url}: {exc}", file=sys.stderr)
            return 1
        redis = connect_redis(redis_url, cluster=on_cluster)
        try:
            processes = await read_cluster(redis)
        except Exception as exc:
            print(f"Cannot read cluster stats from {redis_url}: {exc}", file=sys.stderr)
            return 1
        finally:
            await redis.aclose()
        for proc in processes:
            kinds = " ".join(f"{k}={v}" for k, v in sorted(proc["subscriptions"].items()))
            print(
                f"{proc['process']:<40} {proc.get('role', '?'):<10} "
                f"connections={proc['connections']:<6} "
                f"events/s={proc['events_per_second']:<8} {kinds}"
            )
        total = summary(processes)
        print(
            f"cluster: {total['processes']} processes "
            f"({', '.join(f'{n} {role}' for role, n in total['roles'].items())}), "
            f"{total['connections']} connections, "
            f"{total['users']} users, {total['events_per_second']} events/s"
        )
        return 0

    return asyncio.run(run())


async def _is_cluster(redis_url: str) -> bool:
    """Whether ``redis_url`` is a node of a Redis Cluster (``INFO cluster``)."""
    redis = connect_redis(redis_url)
    try:
        info = await redis.info("cluster")
    finally:
        await redis.aclose()
    return bool(info.get("cluster_enabled"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m realtime.stats", description=__doc__)
    parser.add_argument("redis_url", help="the cluster's REDIS_URL")
    parser.add_argument(
        "--cluster", action="store_true", default=None,
        help="REDIS_URL is a Redis Cluster node (default: ask it)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    return print_cluster(args.redis_url, args.cluster)


if __name__ == "__main__":
    sys.exit(main())
