"""Fixtures for the social-graph tests: many users, and a deterministic fan-out wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from realtime.redis_backend import connect_redis
from server.services import Services
from server.settings import Settings


@pytest.fixture
def timeline_store(request: pytest.FixtureRequest) -> str:
    """Which timeline store the app uses: "mongodb" unless a module parametrises it
    (``pytest.mark.parametrize("timeline_store", TIMELINE_STORES, indirect=True)``)."""
    return str(getattr(request, "param", "mongodb"))


TIMELINE_STORES = ["mongodb", "redis"]


@pytest.fixture
def settings(settings: Settings, timeline_store: str, request: pytest.FixtureRequest) -> Settings:
    # These tests sign up (and verify) dozens of users from one address.
    update: dict[str, Any] = {
        "rate_limit_signup": "100000/hour",
        "rate_limit_otp_verify_address": "100000/hour",
        "timeline_store": timeline_store,
    }
    if timeline_store == "redis":
        # Keys are prefixed with the test's database name, so tests never share a timeline.
        update["redis_url"] = request.getfixturevalue("redis_server").url
    return settings.model_copy(update=update)


@pytest.fixture(autouse=True)
async def _forget_redis_keys(settings: Settings) -> AsyncIterator[None]:
    """Delete this test's Redis keys afterwards (the server is shared by the session)."""
    yield
    if settings.redis_url:
        client = connect_redis(settings.redis_url)
        keys = [k async for k in client.scan_iter(match=f"murmur:{settings.mongodb_db}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def svc(app: Any) -> Services:
    services: Services = app.state.services
    return services


@pytest.fixture
def drain(svc: Services) -> Callable[[], Awaitable[None]]:
    """Wait until the outbox worker has applied every pending write (no sleeps)."""

    async def run() -> None:
        assert svc.outbox is not None
        await svc.outbox.drain()

    return run


@pytest.fixture
def make_users(make_user: Any) -> Callable[[int], Awaitable[list[Any]]]:
    async def make(n: int) -> list[Any]:
        return list(await asyncio.gather(*(make_user() for _ in range(n))))

    return make
