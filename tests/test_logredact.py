"""Bearer tokens sent in query strings never reach the logs of `murmur serve`."""

import httpx
import pytest
import websockets

from server.logredact import redact
from tests.conftest import read_otp

pytestmark = pytest.mark.live


def test_redact_masks_tokens_in_query_strings():
    line = '127.0.0.1:5 - "WebSocket /ws?stream=x&access_token=eyJ.a-b_c" [accepted]'
    assert (
        redact(line) == '127.0.0.1:5 - "WebSocket /ws?stream=x&access_token=[redacted]" [accepted]'
    )
    assert redact("/auth?refresh_token=abc def") == "/auth?refresh_token=[redacted] def"
    assert redact("/tweets?limit=5") == "/tweets?limit=5"


async def test_served_logs_hold_no_token(live_app, tmp_path):
    app = live_app(LOG_LEVEL="INFO")
    email = "logs@example.com"
    async with httpx.AsyncClient(base_url=app.url) as http:
        body = {"user_name": "logcheck", "email": email, "password": "correct horse"}
        assert (await http.post("/auth/user/signup", json=body)).status_code == 201
        otp = read_otp(tmp_path / "outbox", email)
        r = await http.post("/auth/verify-otp", json={"user_name": "logcheck", "otp": otp})
        token = r.json()["access_token"]
        assert (await http.get("/healthz", params={"access_token": token})).status_code == 200
    async with websockets.connect(f"{app.ws_url}/ws?access_token={token}") as ws:
        await ws.send('{"type": "ping"}')
        assert "pong" in await ws.recv()
    app.stop()
    log = app.log_path.read_text()
    assert "WebSocket /ws?access_token=[redacted]" in log
    assert "/healthz?access_token=[redacted]" in log
    assert token not in log
    assert token.split(".")[2] not in log  # not even the signature
