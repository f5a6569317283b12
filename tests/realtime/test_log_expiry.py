"""Redis replay logs expire when nobody appends (``WS_LOG_TTL_SECONDS``), and a missing log
answers ``resync`` to a ``since`` it could have held events after — never "nothing missed"."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import redis.asyncio as aioredis

from realtime.log import RedisLog


def ms_ago(ms: int) -> str:
    return f"{time.time_ns() // 1_000_000 - ms}-0"


async def check_expiry(client: Any, make_log: Any) -> None:
    """The rule, for any Redis log class: ``make_log(ttl)`` builds one on ``client``."""
    short, hour = make_log(1), make_log(3600)
    stream = f"home:{uuid.uuid4().hex}"
    [start] = await short.append([(f"home:{uuid.uuid4().hex}", "a|start")])  # a recent id
    [event_id] = await short.append([(stream, "a|one")])
    assert 0 < await client.ttl(short.key(stream)) <= 1  # set (and refreshed) on append
    assert await short.read_after(stream, start, 10) == [(event_id, "a|one")]

    async with asyncio.timeout(5):  # the log expires (Redis evicts it within ~1 s)
        while await client.exists(short.key(stream)):  # noqa: ASYNC110 - Redis state
            await asyncio.sleep(0.05)
    # Gone: the client may have missed what it held, so resync, not "nothing missed".
    assert await short.read_after(stream, event_id, 10) is None

    # A log that does not exist answers "nothing missed" only to a `since` younger than
    # its expiry: nothing can have been appended (and expired) after it.
    never = f"home:{uuid.uuid4().hex}"
    assert await hour.read_after(never, start, 10) == []
    assert await hour.read_after(never, ms_ago(2 * 3600 * 1000), 10) is None


async def test_a_redis_log_expires_and_a_missing_log_means_resync(redis_server):
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        await check_expiry(client, lambda ttl: RedisLog(client, 100, ttl))
    finally:
        await client.aclose()
