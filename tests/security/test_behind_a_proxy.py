"""Issue 10 (low): behind a proxy — real client addresses, HSTS over https, slow headers."""

from __future__ import annotations

import socket
import time


def test_x_forwarded_for_is_believed_only_from_a_configured_proxy(start_murmur):
    # Loopback is not a configured proxy here: a client cannot pick its address by header.
    murmur = start_murmur(FORWARDED_ALLOW_IPS="10.255.255.1", RATE_LIMIT_LOGIN_ADDRESS="3/minute")
    statuses = []
    for i in range(4):
        with murmur.party(f"10.3.0.{i}") as client:  # a new spoofed address each time
            body = {"user_name": f"spray{i}", "password": "guess"}
            statuses.append(client.post("/auth/login", json=body).status_code)
    assert statuses == [401, 401, 401, 429], statuses


def test_a_trusted_proxy_gives_each_client_its_own_limit(start_murmur):
    murmur = start_murmur(FORWARDED_ALLOW_IPS="127.0.0.1", RATE_LIMIT_LOGIN_ADDRESS="3/minute")
    statuses = []
    for i in range(4):
        with murmur.party(f"10.4.0.{i}") as client:
            body = {"user_name": f"spray{i}", "password": "guess"}
            statuses.append(client.post("/auth/login", json=body).status_code)
    assert statuses == [401] * 4, statuses


def test_hsts_only_when_served_over_https(start_murmur):
    plain = start_murmur()
    with plain.party() as client:
        assert "strict-transport-security" not in client.get("/healthz").headers
    secure = start_murmur(PUBLIC_BASE_URL="https://murmur.example")
    with secure.party() as client:
        hsts = client.get("/healthz").headers["strict-transport-security"]
        assert hsts.startswith("max-age=31536000")


def test_a_client_dribbling_its_headers_is_cut_off(start_murmur):
    murmur = start_murmur(HTTP_HEADER_TIMEOUT_SECONDS="1")
    port = int(murmur.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as slow:
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: murmur\r\n")
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 5:  # one header line every 0.2 s, never finishing
            try:
                slow.sendall(b"X-Slow: 1\r\n")
            except OSError:
                closed = True
                break
            slow.settimeout(0.2)
            try:
                if slow.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed, "the server kept a connection whose headers never ended"
        assert time.monotonic() - started < 3
    # A normal request on a fresh connection is served.
    with murmur.party() as client:
        assert client.get("/healthz").status_code == 200
