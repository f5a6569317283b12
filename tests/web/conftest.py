"""Browser fixtures: Debian's Chromium driven by Playwright (sync API), one per module.

The pages run against real ``murmur serve`` processes (``live_app``) with the session's real
SecantusDB and redis-server. Every page collects uncaught script errors and dialogs; a test
fails if either happened unless it says otherwise.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.conftest import read_otp

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@dataclass
class Murmur:
    """A running Murmur for one test: its URL, its mail outbox, and an API helper."""

    url: str
    outbox: Path
    app: Any
    users: dict[str, dict[str, Any]] = field(default_factory=dict)

    def api(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(method, self.url + path, headers=headers, timeout=10, **kw)

    def make_user(self, name: str | None = None, **metadata: str) -> dict[str, Any]:
        """Sign up and verify over the API; returns the token pair (with ``user``)."""
        name = name or f"u_{uuid.uuid4().hex[:8]}"
        mail = f"{name.lower()}@example.com"
        body: dict[str, Any] = {"user_name": name, "email": mail, "password": PASSWORD}
        if metadata:
            body["user_metadata"] = metadata
        r = self.api("POST", "/auth/user/signup", json=body)
        assert r.status_code == 201, r.text
        otp = read_otp(self.outbox, mail)
        r = self.api("POST", "/auth/verify-otp", json={"user_name": name, "otp": otp})
        assert r.status_code == 200, r.text
        pair: dict[str, Any] = r.json()
        self.users[name] = pair
        return pair

    def tweet(
        self, pair: dict[str, Any], content: str, quote_of: str | None = None
    ) -> dict[str, Any]:
        body = {"content": content} | ({"quote_of": quote_of} if quote_of else {})
        r = self.api("POST", "/tweets", pair["access_token"], json=body)
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body


@pytest.fixture
def murmur(live_app: Any, redis_server: Any, tmp_path: Path) -> Murmur:
    app = live_app(
        redis_url=redis_server.url,
        RATE_LIMITS_ENABLED="false",
        ADMIN_EMAILS=json.dumps(["operator@example.com"]),
    )
    return Murmur(url=app.url, outbox=tmp_path / "outbox", app=app)


class Tab:
    """A page plus what went wrong in it (uncaught errors, dialogs)."""

    def __init__(self, context: BrowserContext, base_url: str) -> None:
        self.context = context
        self.base_url = base_url
        self.page: Page = context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("dialog", self._on_dialog)

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def goto(self, path: str) -> Page:
        self.page.goto(self.base_url + path)
        return self.page

    def sign_in_with(self, pair: dict[str, Any]) -> None:
        """Start signed in, as the client would after a sign-in: the session in localStorage."""
        session = {
            "access": pair["access_token"],
            "refresh": pair["refresh_token"],
            "expiresAt": 0,  # makes the client refresh at once, exercising rotation too
            "user": pair["user"],
        }
        self.page.goto(self.base_url + "/static/style.css")
        self.page.evaluate(
            "s => localStorage.setItem('murmur.session', JSON.stringify(s))", session
        )

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs


@pytest.fixture
def tabs(browser: Browser, murmur: Murmur) -> Iterator[Any]:
    """``tabs()`` opens a new browser context (a separate person) and returns its Tab."""
    opened: list[Tab] = []

    def open_tab(width: int = 1100, height: int = 800, **options: Any) -> Tab:
        # ``options`` go to ``new_context`` (the accessibility audit's ``bypass_csp``).
        context = browser.new_context(viewport={"width": width, "height": height}, **options)
        context.set_default_timeout(10_000)
        tab = Tab(context, murmur.url)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.context.close()
