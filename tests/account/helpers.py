"""Reading account mails from the outbox, and small API steps the account tests share."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import mails_to


def reset_token(outbox: Path, to: str) -> str:
    """The token of the newest reset link e-mailed to ``to``."""
    for _, body in mails_to(outbox, to) if outbox.exists() else []:
        found = re.search(r"/reset#token=([A-Za-z0-9_-]+)", body)
        if found:
            return found.group(1)
    raise AssertionError(f"no reset link mailed to {to}")


def mailed_reset_token(outbox: Path, to: str, wait: float = 10) -> str:
    """``reset_token`` once the link has arrived: a real server mails it after answering.

    Blocking: async tests run it with ``asyncio.to_thread`` (their servers share the loop).
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            return reset_token(outbox, to)
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.02)


def subjects(outbox: Path, to: str) -> list[str]:
    return [subject for subject, _ in mails_to(outbox, to)] if outbox.exists() else []


async def sign_in(
    client: httpx.AsyncClient, user: Any, password: str | None = None
) -> httpx.Response:
    body = {"user_name": user.user_name, "password": password or user.password}
    return await client.post("/auth/login", json=body)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
