"""E-mail: real SMTP to a local aiosmtpd server, the .eml outbox, and a mail server that is down."""

from __future__ import annotations

import email
import logging
import re
from collections.abc import Iterator
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from server.app import create_app
from server.embedded import free_port
from server.mail import Mailer, MailError

from .routes.test_auth import error_code


class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content)))
        return "250 OK"


def _check_login(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any):
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"murmur",
        b"s3cret",
    )
    return AuthResult(success=ok)


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def smtp_with_login() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=_check_login,
        auth_require_tls=False,  # loopback only, in a test
    )
    controller.start()
    yield inbox, port
    controller.stop()


async def _client_for(settings, clock, **changes: Any):
    app = create_app(settings.model_copy(update=changes), clock=clock)
    return app, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://m.test")


def _code(msg: Message) -> str:
    body = msg.get_payload(decode=True)
    assert isinstance(body, bytes)
    found = re.search(r"\b(\d{6})\b", body.decode())
    assert found, body
    assert found.group(1) not in msg["Subject"]  # subjects get logged and previewed
    return found.group(1)


async def test_signup_code_arrives_by_real_smtp(smtp, settings, clock, caplog):
    caplog.set_level(logging.DEBUG, logger="murmur")
    inbox, port = smtp
    app, client = await _client_for(settings, clock, smtp_url=f"smtp://127.0.0.1:{port}")
    async with app.router.lifespan_context(app), client:
        body = {"user_name": "mailee", "email": "mailee@example.com", "password": "correct horse"}
        r = await client.post("/auth/user/signup", json=body)
        assert r.status_code == 201, r.text
        assert len(inbox.messages) == 1
        rcpt, msg = inbox.messages[0]
        assert rcpt == ["mailee@example.com"]
        assert msg["To"] == "mailee@example.com"
        assert msg["From"] == settings.mail_from
        code = _code(msg)
        r = await client.post("/auth/verify-otp", json={"user_name": "mailee", "otp": code})
        assert r.status_code == 200, r.text
    # Nothing went to the outbox folder when SMTP is configured.
    assert not list(settings.outbox_dir.glob("*.eml"))
    # The log says the mail went, never the code it carried.
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("murmur"))
    assert "mail sent via SMTP to mailee@example.com" in ours
    assert code not in ours


async def test_smtp_with_a_login(smtp_with_login, tmp_path):
    inbox, port = smtp_with_login
    url = f"smtp://murmur:s3cret@127.0.0.1:{port}"
    mailer = Mailer("Murmur <m@murmur.test>", url, tmp_path)
    await mailer.send("x@example.com", "Your Murmur code: 123456", "code 123456")
    assert [m["Subject"] for _, m in inbox.messages] == ["Your Murmur code: 123456"]


async def test_an_unreachable_mail_server_is_a_mail_error(tmp_path):
    mailer = Mailer("m@murmur.test", f"smtp://127.0.0.1:{free_port()}", tmp_path)
    with pytest.raises(MailError):
        await mailer.send("x@example.com", "nope", "nope")
    assert not list(tmp_path.iterdir())


async def test_outbox_writes_one_eml_per_message(tmp_path):
    mailer = Mailer("Murmur <m@murmur.test>", None, tmp_path / "out")
    await mailer.send("a@example.com", "Your Murmur code", "Your code is 111111.")
    await mailer.send("b@example.com", "Your Murmur code", "Your code is 222222.")
    files = sorted((tmp_path / "out").glob("*.eml"))
    assert len(files) == 2
    messages = [email.message_from_bytes(f.read_bytes()) for f in files]
    assert {m["To"] for m in messages} == {"a@example.com", "b@example.com"}
    for m in messages:
        assert m["From"] == "Murmur <m@murmur.test>"
        assert m["Message-ID"]
        assert _code(m) in ("111111", "222222")


async def test_signup_when_the_mail_server_is_down_leaves_no_account(settings, clock):
    closed = free_port()
    app, client = await _client_for(settings, clock, smtp_url=f"smtp://127.0.0.1:{closed}")
    async with app.router.lifespan_context(app), client:
        body = {"user_name": "lonely", "email": "lonely@example.com", "password": "correct horse"}
        r = await client.post("/auth/user/signup", json=body)
        assert r.status_code == 503
        assert error_code(r) == "mail_unavailable"
        r = await client.get("/auth/username-availability", params={"username": "lonely"})
        assert r.json()["available"] is True
        r = await client.post("/auth/resend-otp", json={"user_name": "lonely"})
        assert r.status_code == 202  # answered like any resend; there is nothing to send
        assert not list(settings.outbox_dir.glob("*.eml"))


async def test_resend_when_the_mail_server_went_down(settings, clock):
    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    app, client = await _client_for(settings, clock, smtp_url=f"smtp://127.0.0.1:{port}")
    async with app.router.lifespan_context(app), client:
        body = {"user_name": "later", "email": "later@example.com", "password": "correct horse"}
        assert (await client.post("/auth/user/signup", json=body)).status_code == 201
        controller.stop()
        r = await client.post("/auth/resend-otp", json={"user_name": "later"})
        assert r.status_code == 503
        assert error_code(r) == "mail_unavailable"
