"""Each user's open sockets, counted across the cluster in Redis, so the limit holds behind N
processes (counted per process, a user could hold N × ``WS_MAX_SOCKETS_PER_USER``).

One sorted set per user, ``murmur:ws:user:<id>``: a member per socket (``<process>:<n>``)
scored by the time its claim lapses. Each process re-stamps its own members every
``refresh`` seconds, so a crashed process's members lapse after ``ttl`` and the next claim
drops them. A claim is one script (drop lapsed members, count, add if below the limit), so
two processes cannot both take the last place. If Redis cannot be reached, the per-process
count alone applies: the limit degrades, connects keep working.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from typing import Any

log = logging.getLogger("murmur.realtime.usersockets")

_CLAIM = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class UserSockets:
    """``await claim(user, limit)`` before accepting a user's socket; ``release`` after."""

    def __init__(
        self,
        redis: Any,
        *,
        prefix: str = "murmur:ws:user:",
        ttl: float = 30.0,
        refresh: float = 10.0,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl
        self.refresh = refresh
        self.process = uuid.uuid4().hex[:12]
        self._seq = itertools.count()
        self._claims: dict[str, str] = {}  # member -> user id
        self._script = redis.register_script(_CLAIM)
        self._task: asyncio.Task[None] | None = None

    async def claim(self, user_id: str, limit: int) -> tuple[bool, str | None]:
        """(allowed, the claim to release); allowed without a claim when Redis is away."""
        member = f"{self.process}:{next(self._seq)}"
        now = time.time()
        try:
            ok = await self._script(
                keys=[self.prefix + user_id],
                args=[now, limit, now + self.ttl, member, int(self.ttl) + 1],
            )
        except Exception as exc:
            log.warning("cluster socket count unavailable (%s); counting per process", exc)
            return True, None
        if not ok:
            return False, None
        self._claims[member] = user_id
        return True, member

    async def release(self, member: str) -> None:
        user_id = self._claims.pop(member, None)
        if user_id is None:
            return
        with contextlib.suppress(Exception):  # it lapses by itself otherwise
            await self.redis.zrem(self.prefix + user_id, member)

    def start(self) -> None:
        self._task = asyncio.create_task(self._restamp(), name="murmur-ws-user-sockets")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for member in list(self._claims):
            await self.release(member)

    async def _restamp(self) -> None:
        """Keep this process's claims from lapsing while their sockets are open."""
        while True:
            await asyncio.sleep(self.refresh)
            claims = list(self._claims.items())
            if not claims:
                continue
            expires = time.time() + self.ttl
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for member, user_id in claims:
                        pipe.zadd(self.prefix + user_id, {member: expires}, xx=True)
                        pipe.expire(self.prefix + user_id, int(self.ttl) + 1)
                    await pipe.execute()
            except Exception as exc:
                log.warning("could not re-stamp socket claims: %s", exc)
