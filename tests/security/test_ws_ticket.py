"""Issue 10 (low): browsers connect to /ws with a single-use ticket, not their access token."""

from __future__ import annotations

import asyncio
import contextlib
import json

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed


async def _connect_with(url: str, ticket: str) -> tuple[dict, int | None]:
    """Connect with ``?ticket=``, ask for ``home``; the first frame and the close code, if any."""
    async with connect(f"{url.replace('http', 'ws')}/ws?ticket={ticket}", open_timeout=10) as ws:
        with contextlib.suppress(ConnectionClosed):  # a refused socket may be closed already
            await ws.send(json.dumps({"type": "subscribe", "stream": "home"}))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        try:
            async with asyncio.timeout(0.5 if frame["type"] == "subscribed" else 10):
                while True:
                    await ws.recv()
        except (ConnectionClosed, TimeoutError):
            pass
        close = ws.protocol.close_rcvd
        return frame, close.code if close else None


def test_a_ticket_works_once_on_any_process_and_never_reaches_the_log(start_murmur):
    a = start_murmur(LOG_LEVEL="INFO")
    b = start_murmur(LOG_LEVEL="INFO")
    with a.party() as http:
        pair = a.verified_user(http, "browser")
        assert http.post("/ws/ticket").status_code == 401  # only for a signed-in caller
        headers = {"Authorization": f"Bearer {pair['access_token']}"}
        r = http.post("/ws/ticket", headers=headers)
        assert r.status_code == 200 and r.json()["expires_in"] == 30, r.text
        ticket = r.json()["ticket"]

        frame, _ = asyncio.run(_connect_with(b.url, ticket))  # issued on a, used on b
        assert frame == {"type": "subscribed", "stream": "home"}, frame
        # Replayed (from a proxy log, a history entry): refused.
        frame, code = asyncio.run(_connect_with(a.url, ticket))
        assert frame["type"] == "error" and frame["code"] == "invalid_token", frame
        assert code == 4003
    for app in (a, b):
        log = app.log_path.read_text()
        assert "/ws?ticket=[redacted]" in log or "ticket=[redacted]" in log
        assert ticket not in log and pair["access_token"] not in log


def test_an_expired_ticket_is_refused(start_murmur):
    app = start_murmur(WS_TICKET_TTL_SECONDS="0")
    with app.party() as http:
        pair = app.verified_user(http, "late")
        headers = {"Authorization": f"Bearer {pair['access_token']}"}
        ticket = http.post("/ws/ticket", headers=headers).json()["ticket"]
    frame, code = asyncio.run(_connect_with(app.url, ticket))
    assert frame["type"] == "error" and frame["code"] == "invalid_token", frame
    assert code == 4003
