"""Real `murmur serve` processes: operator endpoints, `murmur stats`, heartbeats, SIGTERM."""

from __future__ import annotations

import asyncio
import os
import sys

import httpx
import pytest

from realtime import protocol
from tests.realtime.wsclient import RawSocket, WsClient

pytestmark = pytest.mark.live


async def test_metrics_admin_stats_cluster_and_graceful_shutdown(live_app, redis_server):
    env = {"ADMIN_TOKEN": "ops-secret", "WORKER_PROCESS": "true"}
    one = live_app(redis_url=redis_server.url, **env)
    two = live_app(redis_url=redis_server.url, **env)
    sockets = [await WsClient.open(one.ws_url + "/ws") for _ in range(2)]
    sockets.append(await WsClient.open(two.ws_url + "/ws"))
    for ws in sockets:
        await ws.subscribe("public")

    async with httpx.AsyncClient(base_url=one.url) as http:
        assert (await http.get("/admin/stats")).status_code == 401
        r = await http.get("/admin/stats", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401
        for _ in range(50):  # processes report every 2 s
            r = await http.get("/admin/stats", headers={"Authorization": "Bearer ops-secret"})
            assert r.status_code == 200, r.text
            if r.json()["cluster"]["connections"] == 3 and r.json()["cluster"]["processes"] == 4:
                break
            await asyncio.sleep(0.2)
        body = r.json()
        assert body["process"]["connections"] == 2
        # Each murmur serve runs its outbox worker as a child process, which reports too.
        assert body["cluster"]["processes"] == 4 and body["cluster"]["connections"] == 3
        assert body["cluster"]["roles"] == {"web": 2, "worker": 2}
        assert body["cluster"]["subscriptions"] == {"public": 3}
        metrics = (await http.get("/metrics")).text
        assert "murmur_ws_open_sockets 2.0" in metrics
        assert 'murmur_ws_subscriptions{kind="public"} 2.0' in metrics

    cli = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "stats",
        env={**os.environ, "REDIS_URL": redis_server.url},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(cli.communicate(), 30)
    assert cli.returncode == 0
    assert "cluster: 4 processes (2 web, 2 worker), 3 connections" in out.decode()

    one.stop()  # SIGTERM
    for ws in sockets[:2]:
        assert (await ws.closed())[0] == protocol.CLOSE_GOING_AWAY
    await sockets[2].close()


async def test_server_heartbeat_closes_a_dead_socket(live_app):
    app = live_app(WS_HEARTBEAT_SECONDS="0.3")
    dead = await RawSocket.open(app.port)  # never answers the server's pings
    received = await dead.read_all(idle=3)  # pings, then a close frame (1011), then EOF
    assert "keepalive ping timeout" in received
    dead.close()
