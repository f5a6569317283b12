"""Two real `murmur serve` processes and one Redis: a sign-out or a role change made on one
(or by `murmur make-admin`) reaches the other's REST auth cache at once."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import httpx
import pytest

from server.dbmetrics import commands_in
from tests.conftest import read_otp

pytestmark = pytest.mark.live


async def sign_up(app: Any, outbox: Any, name: str) -> dict[str, Any]:
    """A verified user, through the API of a live process: its token pair."""
    async with httpx.AsyncClient(base_url=app.url) as http:
        body = {"user_name": name, "email": f"{name}@example.com", "password": "correct horse"}
        assert (await http.post("/auth/user/signup", json=body)).status_code == 201
        code = read_otp(outbox, f"{name}@example.com")
        r = await http.post("/auth/verify-otp", json={"user_name": name, "otp": code})
        assert r.status_code == 200, r.text
        pair: dict[str, Any] = r.json()
        return pair


async def user_reads(http: httpx.AsyncClient) -> float:
    """Commands the process sent to the sessions and users collections so far."""
    counts = commands_in((await http.get("/metrics")).text)
    return sum(n for (_, coll), n in counts.items() if coll in ("sessions", "users"))


async def test_sign_out_on_a_is_refused_at_once_by_b_over_rest(live_app, redis_server, tmp_path):
    a = live_app(redis_url=redis_server.url)
    b = live_app(redis_url=redis_server.url)
    pair = await sign_up(a, tmp_path / "outbox", "lena")
    auth = {"Authorization": f"Bearer {pair['access_token']}"}
    async with httpx.AsyncClient(base_url=b.url) as on_b, httpx.AsyncClient(base_url=a.url) as on_a:
        assert (await on_b.get("/users/me", headers=auth)).status_code == 200  # b caches it
        reads = await user_reads(on_b)
        assert (await on_b.get("/users/me", headers=auth)).status_code == 200
        assert await user_reads(on_b) == reads  # warm: no database round trip

        r = await on_a.post(
            "/auth/logout", headers=auth, json={"refresh_token": pair["refresh_token"]}
        )
        assert r.status_code in (200, 204), r.text
        # a broadcast the revocation before it answered; b applies it as the message arrives
        # (pub/sub: a request already on its way to b may just beat it), not after its
        # cache's 5 minutes.
        deadline = asyncio.get_running_loop().time() + 2
        while (r := await on_b.get("/users/me", headers=auth)).status_code == 200:
            assert asyncio.get_running_loop().time() < deadline, "b still serves the session"
            await asyncio.sleep(0.01)
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "session_revoked"


async def test_make_admin_reaches_a_running_process(live_app, redis_server, tmp_path):
    a = live_app(redis_url=redis_server.url)
    pair = await sign_up(a, tmp_path / "outbox", "omar")
    auth = {"Authorization": f"Bearer {pair['access_token']}"}
    async with httpx.AsyncClient(base_url=a.url, headers=auth) as http:
        assert (await http.get("/users/me")).json()["role"] == "user"  # cached now
        env = {**os.environ, **a.env, "REDIS_URL": redis_server.url}
        cli = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "server", "make-admin", "omar", "--role", "moderator", env=env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        assert await asyncio.wait_for(cli.wait(), 30) == 0
        assert (await http.get("/users/me")).json()["role"] == "moderator"
