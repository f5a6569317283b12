"""Fixtures for the social-graph tests: many users, and a deterministic fan-out wait."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from server.services import Services
from server.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # These tests sign up dozens of users from one address.
    return settings.model_copy(update={"rate_limit_signup": "100000/hour"})


@pytest.fixture
def svc(app: Any) -> Services:
    services: Services = app.state.services
    return services


@pytest.fixture
def drain(svc: Services) -> Callable[[], Awaitable[None]]:
    """Wait until the fan-out worker has run every due job (no sleeps)."""

    async def run() -> None:
        assert svc.fanout is not None
        await svc.fanout.drain()

    return run


@pytest.fixture
def make_users(make_user: Any) -> Callable[[int], Awaitable[list[Any]]]:
    async def make(n: int) -> list[Any]:
        return list(await asyncio.gather(*(make_user() for _ in range(n))))

    return make
