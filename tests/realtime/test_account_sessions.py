"""Account changes that end sessions do it on every process at once: a password reset, a
password change and ending one device each close the sockets held on another process and
refuse the cached session there (two Murmurs, one real Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from realtime import protocol
from server.settings import Settings
from tests.account.helpers import bearer, mailed_reset_token


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rate_limits_enabled": False})


@pytest.fixture
async def pair(apps: Any, redis_server: Any) -> list[Any]:
    return list(await apps(2, redis_url=redis_server.url))


async def sign_in_on(app: Any, user: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=app.url) as http:
        r = await http.post(
            "/auth/login", json={"user_name": user.user_name, "password": user.password}
        )
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body


async def me_on(app: Any, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=app.url, headers=bearer(token)) as http:
        return await http.get("/users/me")


async def test_a_password_reset_closes_every_socket_on_every_process(pair, make_user, settings):
    a, b = pair
    user = await make_user()
    other = await sign_in_on(b, user)
    sockets = [await b.ws(user.access_token), await b.ws(other["access_token"])]
    for ws in sockets:
        await ws.subscribe("home")
    assert (await me_on(b, other["access_token"])).status_code == 200  # b caches it
    async with httpx.AsyncClient(base_url=a.url) as http:
        r = await http.post("/auth/password/forgot", json={"user_name": user.user_name})
        assert r.status_code == 202
        token = await asyncio.to_thread(mailed_reset_token, settings.outbox_dir, user.email)
        r = await http.post(
            "/auth/password/reset", json={"token": token, "new_password": "fresh passphrase"}
        )
        assert r.status_code == 204, r.text
    for ws in sockets:
        assert (await ws.closed())[0] == protocol.CLOSE_SESSION_REVOKED
    for app in (a, b):
        for access in (user.access_token, other["access_token"]):
            r = await me_on(app, access)
            assert r.status_code == 401 and r.json()["error"]["code"] == "session_revoked"


async def test_ending_a_device_closes_its_socket_on_the_other_process(pair, make_user):
    a, b = pair
    user = await make_user()
    phone = await sign_in_on(b, user)
    phone_ws = await b.ws(phone["access_token"])
    await phone_ws.subscribe("home")
    laptop_ws = await b.ws(user.access_token)
    await laptop_ws.subscribe("home")
    async with httpx.AsyncClient(base_url=a.url, headers=user.headers) as http:
        items = (await http.get("/users/me/sessions")).json()["items"]
        target = next(i["session_id"] for i in items if not i["current"])
        assert (await http.delete(f"/users/me/sessions/{target}")).status_code == 204
    assert (await phone_ws.closed())[0] == protocol.CLOSE_SESSION_REVOKED
    assert (await me_on(b, phone["access_token"])).status_code == 401
    # The session that ended the other keeps its socket and its access.
    assert (await me_on(b, user.access_token)).status_code == 200
    await laptop_ws.subscribe("notifications")


async def test_a_password_change_ends_the_other_sessions_everywhere(pair, make_user):
    a, b = pair
    user = await make_user()
    phone = await sign_in_on(b, user)
    phone_ws = await b.ws(phone["access_token"])
    await phone_ws.subscribe("home")
    async with httpx.AsyncClient(base_url=a.url, headers=user.headers) as http:
        body = {"current_password": user.password, "new_password": "fresh passphrase"}
        assert (await http.post("/users/me/password", json=body)).status_code == 204
    assert (await phone_ws.closed())[0] == protocol.CLOSE_SESSION_REVOKED
    assert (await me_on(b, phone["access_token"])).status_code == 401
    assert (await me_on(b, user.access_token)).status_code == 200
