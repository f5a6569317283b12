"""Realtime fixtures: the app served by a real uvicorn inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from pymongo import AsyncMongoClient

from server.app import create_app
from server.embedded import free_port
from server.settings import Settings
from tests.realtime.wsclient import WsClient


class Served:
    """A running app (lifespan started) behind a real uvicorn on a free port."""

    def __init__(self, app: Any, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}/ws"

    @property
    def hub(self) -> Any:
        return self.app.state.hub

    async def ws(self, token: str | None = None, **kwargs: Any) -> WsClient:
        return await WsClient.open(self.ws_url, token, **kwargs)

    async def settle(self) -> None:
        """Wait until this app's outbox worker (if it holds the lease) applied every write."""
        outbox = self.app.state.services.outbox
        if outbox is not None:
            await outbox.drain()


# Every app ``apps`` started: a write's effects come from whichever holds the outbox lease.
STARTED: list[Served] = []


async def settle_all() -> None:
    """Wait until the effects of every write so far are applied (and announced)."""
    for served in list(STARTED):
        await served.settle()


@contextlib.asynccontextmanager
async def serve(app: Any, **config: Any) -> AsyncIterator[Served]:
    """Serve an app whose lifespan is already running, with uvicorn's sansio WebSockets."""
    port = free_port()
    cfg = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        ws="websockets-sansio",
        lifespan="off",
        log_level="warning",
        **config,
    )
    server = uvicorn.Server(cfg)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield Served(app, port)
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def served(app: Any) -> AsyncIterator[Served]:
    """The test's app (memory broadcaster) on a real socket."""
    async with serve(app) as s:
        yield s


@pytest.fixture
async def apps(settings: Settings, clock: Any, mongo_url: str, app: Any) -> AsyncIterator[Any]:
    """``await apps(n, redis_url=...)``: n more Murmurs on the test's database, each with its
    own hub and uvicorn, as separate processes would have (in this event loop, for speed).

    The test's own ``app`` (which ``make_user`` signs up through) stops its outbox worker:
    its events would go to its own in-memory hub, which no socket here listens to."""
    if app.state.services.outbox is not None:
        await app.state.services.outbox.stop()
        app.state.services.outbox = None
    async with contextlib.AsyncExitStack() as stack:

        async def make(n: int, **overrides: Any) -> list[Served]:
            started = []
            for _ in range(n):
                application = create_app(settings.model_copy(update=overrides), clock=clock)
                await stack.enter_async_context(application.router.lifespan_context(application))
                started.append(await stack.enter_async_context(serve(application)))
            STARTED.extend(started)
            return started

        try:
            yield make
        finally:
            STARTED.clear()
    cleaner: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    await cleaner.drop_database(settings.mongodb_db)
    await cleaner.close()
