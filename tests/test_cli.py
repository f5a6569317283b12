"""`murmur serve` with no MONGODB_URL: an embedded database whose data outlives restarts,
a JWT secret generated once, and nothing left running after SIGTERM."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import read_otp
from tests.servers import AppProcess

pytestmark = pytest.mark.live


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            found += [int(child), *_descendants(int(child))]
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.timeout(180)
def test_serve_with_the_embedded_database(tmp_path):
    data = tmp_path / "data"
    env = {
        "ENVIRONMENT": "development",
        "MONGODB_URL": "",  # unset: start the embedded database
        "DATA_DIR": str(data),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST_KIB": "64",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
    }
    first = AppProcess(env, tmp_path / "first.log").start()
    assert first.process is not None
    children = _descendants(first.process.pid)
    databases = [p for p in children if b"secantusd" in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert len(databases) == 1, children
    body = {"user_name": "kept", "email": "kept@example.com", "password": "correct horse"}
    assert httpx.post(first.url + "/auth/user/signup", json=body).status_code == 201
    code = read_otp(data / "outbox", "kept@example.com")
    r = httpx.post(first.url + "/auth/verify-otp", json={"user_name": "kept", "otp": code})
    token = r.json()["access_token"]
    secret = (data / "jwt_secret").read_text()
    first.stop()

    deadline = time.monotonic() + 15
    while _alive(databases[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(databases[0]), "the embedded database outlived `murmur serve`"

    second = AppProcess(env, tmp_path / "second.log").start()
    try:
        r = httpx.get(second.url + "/auth/username-availability", params={"username": "kept"})
        assert r.json()["available"] is False
        # The generated secret was kept, so a token from before the restart still works.
        assert (data / "jwt_secret").read_text() == secret
        r = httpx.get(second.url + "/users/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        assert r.json()["user_name"] == "kept"
    finally:
        second.stop()
