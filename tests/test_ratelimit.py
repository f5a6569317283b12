"""Rate limits against a real Redis, including Redis restarting and going away."""

import uuid

import pytest
from redis.asyncio import Redis
from redis.asyncio.connection import SSLConnection

from server.errors import RateLimited
from server.ratelimit import RateLimits


@pytest.fixture
async def limits_for():
    made: list[RateLimits] = []

    def make(redis_url: str | None, prefix: str | None = None) -> RateLimits:
        made.append(RateLimits(redis_url, prefix=prefix or f"test:{uuid.uuid4().hex}"))
        return made[-1]

    yield make
    for limits in made:
        await limits.close()


async def test_limit_is_shared_through_redis(redis_server, limits_for):
    a, b = limits_for(redis_server.url), limits_for(redis_server.url)
    b._shared = a._shared  # two processes' limiters see the same Redis keys
    await a.hit("2/minute", "like", "u1")
    await b.hit("2/minute", "like", "u1")
    with pytest.raises(RateLimited) as refused:
        await a.hit("2/minute", "like", "u1")
    assert refused.value.status == 429
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
    await a.hit("2/minute", "like", "u2")  # another key has its own window


async def test_redis_restart_is_not_an_error(redis_server, limits_for):
    prefix = f"test:{uuid.uuid4().hex}"
    limits = limits_for(redis_server.url, prefix)
    await limits.hit("2/minute", "tweet", "u1")
    redis_server.restart()  # comes back empty (no persistence)
    await limits.hit("2/minute", "tweet", "u1")  # a stale pooled connection is retried...
    # ...and the hit landed in Redis, not in this process's fallback: another process sharing
    # the Redis sees it (its own second hit is the window's third).
    other = limits_for(redis_server.url, prefix)
    await other.hit("2/minute", "tweet", "u1")
    with pytest.raises(RateLimited):
        await other.hit("2/minute", "tweet", "u1")
    client = Redis.from_url(redis_server.url)
    try:
        assert await client.keys(f"{prefix}:limits*")
    finally:
        await client.aclose()


async def test_redis_down_limits_locally(redis_server, limits_for):
    limits = limits_for(redis_server.url)
    redis_server.kill()
    try:
        await limits.hit("1/minute", "follow", "u1")
        with pytest.raises(RateLimited):
            await limits.hit("1/minute", "follow", "u1")
    finally:
        redis_server.start()


async def test_memory_only_and_disabled(limits_for):
    limits = limits_for(None)
    await limits.hit("1/hour", "otp", "u1")
    with pytest.raises(RateLimited):
        await limits.hit("1/hour", "otp", "u1")
    off = RateLimits(None, enabled=False)
    for _ in range(3):
        await off.hit("1/hour", "otp", "u1")


async def test_a_tls_cluster_url_keeps_tls() -> None:
    """``rediss://`` on a Redis Cluster: the limits' cluster client speaks TLS too (limits'
    cluster URL scheme has no TLS variant, so the scheme was dropped: plain text)."""
    for scheme, tls in (("rediss", True), ("redis", False)):
        limits = RateLimits(f"{scheme}://127.0.0.1:1", cluster=True)
        try:
            kwargs = limits._cluster_client.nodes_manager.connection_kwargs
            assert (kwargs.get("connection_class") is SSLConnection) is tls, scheme
        finally:
            await limits.close()
