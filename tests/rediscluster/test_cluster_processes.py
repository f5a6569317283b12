"""Real ``murmur serve`` processes with ``REDIS_CLUSTER=true``: the per-user socket limit holds
across them, and ``/admin/stats`` and ``python -m realtime.stats`` list both (the
reports live on different masters: SCAN on every master, values read per slot)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
import pytest

from realtime import protocol
from tests.realtime.wsclient import WsClient

pytestmark = pytest.mark.live


async def test_socket_limit_and_stats_across_processes_on_the_cluster(
    live_app, redis_cluster, make_user, settings
):
    env = {"REDIS_CLUSTER": "true", "ADMIN_TOKEN": "ops", "WS_MAX_SOCKETS_PER_USER": "2",
           "WORKER_PROCESS": "true"}  # fmt: skip
    env["JWT_SECRET"] = settings.jwt_secret  # the tokens make_user got are good there too
    one = live_app(redis_url=redis_cluster.url, **env)
    two = live_app(redis_url=redis_cluster.url, **env)
    user = await make_user()
    first = await WsClient.open(one.ws_url + "/ws", user.access_token)
    second = await WsClient.open(two.ws_url + "/ws", user.access_token)
    for ws in (first, second):
        await ws.subscribe("notifications")
    third = await WsClient.open(one.ws_url + "/ws", user.access_token)  # counted on both
    await third.expect("error", code=protocol.FORBIDDEN)
    assert await third.closed() == (protocol.CLOSE_POLICY, "too many sockets")

    async with httpx.AsyncClient(base_url=two.url, headers={"Authorization": "Bearer ops"}) as http:
        async with asyncio.timeout(10):  # processes report every 2 s
            while True:
                r = await http.get("/admin/stats")
                assert r.status_code == 200, r.text
                cluster = r.json()["cluster"]
                if cluster["connections"] == 2 and cluster["processes"] == 4:
                    break
                await asyncio.sleep(0.2)
    body = r.json()
    # Two murmur serve processes, each with its outbox worker as a child process.
    assert body["cluster"]["roles"] == {"web": 2, "worker": 2}
    assert body["cluster"]["subscriptions"] == {"notifications": 2}

    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "realtime.stats", redis_cluster.url],  # it asks the node
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert "cluster: 4 processes (2 web, 2 worker), 2 connections" in out.stdout, out

    # A write on one process reaches a socket on the other (the request announces it).
    await second.subscribe("public")
    async with httpx.AsyncClient(base_url=one.url, headers=user.headers) as http:
        r = await http.post("/tweets", json={"content": "across processes"})
        assert r.status_code == 201, r.text
    event = await second.expect("event", stream="public", wait=10)
    assert event["data"]["content"] == "across processes"

    await first.close()  # its place is released: another socket fits again
    async with asyncio.timeout(5):
        while True:
            again = await WsClient.open(two.ws_url + "/ws", user.access_token)
            await again.send({"type": "ping"})
            if (await again.recv())["type"] == "pong":
                break
            await again.closed()
    await again.close()
    await second.close()
