"""Per-key rate limits on the `limits` library (Redis storage when REDIS_URL is set, a Redis
Cluster's with REDIS_CLUSTER=true)."""

from __future__ import annotations

import logging
import math
import time
from typing import Any
from urllib.parse import urlsplit

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from redis.asyncio import ConnectionPool
from redis.exceptions import RedisClusterException
from starlette.requests import HTTPConnection

from .errors import RateLimited

log = logging.getLogger("murmur.ratelimit")


def client_address(conn: HTTPConnection) -> str:
    """The caller's address, the key of every per-address limit.

    Behind a proxy this is the address the proxy saw: uvicorn rewrites it from
    ``X-Forwarded-For`` when the connection comes from ``FORWARDED_ALLOW_IPS``.
    """
    return conn.client.host if conn.client else "unknown"


class RateLimits:
    """Moving-window limits shared by every process through Redis.

    When Redis cannot be reached the limits still apply, per process, from memory: a Redis
    outage neither turns every request into an error nor switches the limits off.
    """

    def __init__(
        self,
        redis_url: str | None,
        enabled: bool = True,
        prefix: str = "murmur",
        *,
        cluster: bool = False,
    ) -> None:
        self.enabled = enabled
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._shared: MovingWindowRateLimiter | None = None
        self._pool: ConnectionPool | None = None
        self._cluster_client: Any = None
        if redis_url and cluster:
            # A moving window is one key per limit and caller, so any slot will do. limits
            # builds the cluster client itself (it takes no pool for one): close() reaches it
            # through the storage.
            # limits' cluster scheme has no TLS variant: a ``rediss://`` URL asks for it.
            url = urlsplit(redis_url)
            cluster_storage: Any = storage_from_string(
                "async+redis+cluster://" + url.netloc,
                implementation="redispy",
                wrap_exceptions=True,
                key_prefix=f"{prefix}:limits",
                socket_connect_timeout=2,
                **({"ssl": True} if url.scheme == "rediss" else {}),
            )
            self._cluster_client = cluster_storage.bridge.storage
            self._shared = MovingWindowRateLimiter(cluster_storage)
        elif redis_url:
            # Our own pool, so close() can release its connections.
            self._pool = ConnectionPool.from_url(redis_url, socket_connect_timeout=2)
            storage: Storage = storage_from_string(  # type: ignore[assignment]
                "async+" + redis_url,
                implementation="redispy",
                wrap_exceptions=True,
                key_prefix=f"{prefix}:limits",
                connection_pool=self._pool,  # type: ignore[arg-type]
            )
            self._shared = MovingWindowRateLimiter(storage)
        self._parsed: dict[str, RateLimitItem] = {}

    async def hit(self, limit: str, *keys: str) -> None:
        """Count one hit of ``limit`` (e.g. "300/hour") for ``keys``; RateLimited when over."""
        if not self.enabled:
            return
        item = self._parsed.get(limit) or self._parsed.setdefault(limit, parse(limit))
        limiter = self._shared
        allowed = await self._shared_hit(item, keys) if limiter else None
        if limiter is None or allowed is None:
            limiter = self._local
            allowed = await limiter.hit(item, *keys)
        if allowed:
            return
        try:
            reset = (await limiter.get_window_stats(item, *keys)).reset_time
        except (StorageError, RedisClusterException):
            reset = time.time() + item.get_expiry()
        raise RateLimited(max(1, math.ceil(reset - time.time())))

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.disconnect()
        if self._cluster_client is not None:
            await self._cluster_client.aclose()

    async def _shared_hit(self, item: RateLimitItem, keys: tuple[str, ...]) -> bool | None:
        """The shared limiter's answer, or None when Redis cannot be reached."""
        assert self._shared is not None
        for attempt in (1, 2):
            # The retry: the first command after a Redis restart fails on a stale connection.
            try:
                return await self._shared.hit(item, *keys)
            except (StorageError, RedisClusterException) as exc:
                # limits wraps a RedisError, not a cluster client's "no node reachable".
                if attempt == 2:
                    log.warning("rate-limit storage unavailable, limiting locally: %s", exc)
        return None
