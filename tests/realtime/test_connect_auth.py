"""Connect-time authentication: cached per process, batched, and revocations still win."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from realtime import protocol


async def test_a_revoked_sessions_cached_auth_is_refused_at_once_on_another_process(
    apps: Any, redis_server: Any, make_user: Any
) -> None:
    a, b = await apps(2, redis_url=redis_server.url)
    user = await make_user()
    first = await b.ws(user.access_token)  # b now has the session cached as active
    await first.subscribe("home")
    loads = b.hub.authenticate.loads
    second = await b.ws(user.access_token)  # served from the cache: no database read
    await second.subscribe("home")
    assert b.hub.authenticate.loads == loads

    async with httpx.AsyncClient(base_url=a.url, headers=user.headers) as http:
        r = await http.post("/auth/logout", json={"refresh_token": user.refresh_token})
        assert r.status_code in (200, 204), r.text
    # b heard the revocation (its sockets close) ...
    assert await first.closed() == (protocol.CLOSE_SESSION_REVOKED, "session revoked")
    assert (await second.closed())[0] == protocol.CLOSE_SESSION_REVOKED
    # ... and its cache no longer lets the session in.
    again = await b.ws(user.access_token)
    await again.expect("error", code="session_revoked")
    assert (await again.closed())[0] == protocol.CLOSE_UNAUTHORIZED


async def test_concurrent_connects_read_each_session_once(served: Any, make_user: Any) -> None:
    users = [await make_user() for _ in range(3)]
    auth = served.hub.authenticate
    loads = auth.loads
    sockets = await asyncio.gather(*(served.ws(u.access_token) for u in users for _ in range(4)))
    for ws in sockets:
        await ws.subscribe("home")
    assert auth.loads - loads == len(users)
    for ws in sockets:
        await ws.close()
