"""Per-key rate limits on the `limits` library (Redis storage when REDIS_URL is set)."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from .errors import RateLimited


class RateLimits:
    def __init__(self, redis_url: str | None, enabled: bool = True) -> None:
        storage: Storage
        if redis_url:
            storage = storage_from_string(  # type: ignore[assignment]
                "async+" + redis_url, implementation="redispy"
            )
        else:
            storage = MemoryStorage()
        self.storage = storage
        self.enabled = enabled
        self._limiter = MovingWindowRateLimiter(storage)
        self._parsed: dict[str, RateLimitItem] = {}

    async def hit(self, limit: str, *keys: str) -> None:
        """Count one hit of ``limit`` (e.g. "300/hour") for ``keys``; RateLimited when over."""
        if not self.enabled:
            return
        item = self._parsed.get(limit) or self._parsed.setdefault(limit, parse(limit))
        if await self._limiter.hit(item, *keys):
            return
        stats = await self._limiter.get_window_stats(item, *keys)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(retry_after)
