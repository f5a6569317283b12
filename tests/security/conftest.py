"""Attack tests: each one runs against real ``murmur serve`` processes over real sockets.

``murmur`` starts one app process (a local fake GitHub configured, Redis for shared limits);
``Attack`` wraps an ``httpx.Client`` per party (victim, attacker), each with its own cookies
and, through ``X-Forwarded-For`` (trusted from loopback, as from a proxy), its own address.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from server.embedded import free_port
from tests.conftest import read_otp
from tests.oauth_provider import CLIENT_ID, CLIENT_SECRET, FakeGitHub

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def github() -> Iterator[FakeGitHub]:
    provider = FakeGitHub().start()
    yield provider
    provider.stop()


def github_env(github: FakeGitHub, base_url: str) -> dict[str, str]:
    return {
        "PUBLIC_BASE_URL": base_url,
        "GITHUB_CLIENT_ID": CLIENT_ID,
        "GITHUB_CLIENT_SECRET": CLIENT_SECRET,
        "GITHUB_AUTHORIZE_URL": f"{github.base}/login/oauth/authorize",
        "GITHUB_TOKEN_URL": f"{github.base}/login/oauth/access_token",
        "GITHUB_API_URL": f"{github.base}/api",
    }


@dataclass
class Murmur:
    """One running app process and where its mail goes."""

    url: str
    outbox: Path
    log_path: Path
    app: Any

    def party(self, address: str = "10.0.0.1") -> httpx.Client:
        """A client of its own (cookies, connection) appearing to come from ``address``."""
        return httpx.Client(base_url=self.url, timeout=30, headers={"X-Forwarded-For": address})

    def code(self, email: str) -> str:
        return read_otp(self.outbox, email)

    def sign_up(self, client: httpx.Client, name: str, email: str | None = None) -> str:
        """Sign up (unverified); the e-mail address used."""
        email = email or f"{name}@example.com"
        body = {"user_name": name, "email": email, "password": PASSWORD}
        r = client.post("/auth/user/signup", json=body)
        assert r.status_code == 201, r.text
        return email

    def verified_user(
        self, client: httpx.Client, name: str, email: str | None = None
    ) -> dict[str, Any]:
        """Sign up and confirm the code; the token pair."""
        email = self.sign_up(client, name, email)
        r = client.post("/auth/verify-otp", json={"user_name": name, "otp": self.code(email)})
        assert r.status_code == 200, r.text
        pair: dict[str, Any] = r.json()
        return pair


@pytest.fixture
def start_murmur(live_app: Any, redis_server: Any, tmp_path: Path, github: FakeGitHub) -> Any:
    """``start_murmur(**env)``: a `murmur serve` with GitHub sign-in and Redis configured."""
    github.deny = False
    github.profile = {"id": 4242, "login": "octo-cat", "name": "Octo Cat"}
    github.emails = [{"email": "octo@example.com", "primary": True, "verified": True}]

    def start(**env: str) -> Murmur:
        port = free_port()
        full = {**github_env(github, f"http://127.0.0.1:{port}"), **env}
        full = {k: v for k, v in full.items() if v is not None}
        app = live_app(redis_url=redis_server.url, port=port, **full)
        return Murmur(app.url, tmp_path / "outbox", app.log_path, app)

    return start


@pytest.fixture
def murmur(start_murmur: Any) -> Murmur:
    return start_murmur()


def github_redirect(client: httpx.Client, mode: str = "json", **params: str) -> dict[str, str]:
    """Start sign-in with ``client`` and follow it to the fake GitHub; the callback's query."""
    r = client.get("/auth/oauth/github/start", params={"mode": mode, **params})
    assert r.status_code == 302, r.text
    with httpx.Client(timeout=10) as browser:
        back = browser.get(r.headers["location"])
    assert back.status_code in (302, 307), back.text
    location = urlsplit(back.headers["location"])
    assert location.path == "/auth/oauth/github/callback"
    return {k: v[0] for k, v in parse_qs(location.query).items()}
