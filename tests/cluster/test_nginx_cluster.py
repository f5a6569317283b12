"""The cluster scripts/cluster starts, through the nginx configuration operators copy
(deploy/nginx/murmur.conf): two web processes and a separate outbox worker on one Redis and
one database, a tweet's trip across all of them, and a web process killed under GETs."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from bench.stack import make_users
from server.cluster import Cluster
from tests.cluster.conftest import running
from tests.realtime.wsclient import WsClient

ADMIN = "cluster-ops-" + "x" * 20


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running(tmp_path_factory, web=2, workers=1, ADMIN_TOKEN=ADMIN) as started:
        yield started


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_tweet_crosses_nginx_web_processes_and_the_worker(cluster: Cluster) -> None:
    assert cluster.mongodb_url
    (author, author_token), (fan, fan_token) = await make_users(
        cluster.mongodb_url, "murmur", 2, prefix=f"c{uuid.uuid4().hex[:6]}"
    )
    ws_url = cluster.url.replace("http", "ws") + "/ws"
    async with httpx.AsyncClient(base_url=cluster.url, timeout=10) as http:
        r = await http.post(f"/users/{author}/follow", headers=_auth(fan_token))
        assert r.status_code == 200, r.text
        ws = await WsClient.open(ws_url, fan_token)
        try:
            await ws.subscribe("home")
            key = {"Idempotency-Key": uuid.uuid4().hex, **_auth(author_token)}
            body = {"content": "through #nginx"}
            first, again = [await http.post("/tweets", json=body, headers=key) for _ in range(2)]
            assert first.status_code == 201, first.text
            assert again.json()["tweet_id"] == first.json()["tweet_id"]  # landed once
            # The fan's home event comes from the worker process, whichever web process the
            # socket landed on.
            event = await ws.expect("event", wait=10, stream="home", event="tweet.created")
            assert event["data"]["tweet_id"] == first.json()["tweet_id"]
            await ws.quiet()  # and only once
        finally:
            await ws.close()
        assert (await http.get("/readyz")).status_code == 200


async def _processes(http: httpx.AsyncClient, count: int) -> list[dict[str, object]]:
    """/admin/stats' process list once it has ``count`` entries (processes report every 2 s)."""
    deadline = time.monotonic() + 15
    while True:
        r = await http.get("/admin/stats", headers=_auth(ADMIN))
        assert r.status_code == 200, r.text
        processes: list[dict[str, object]] = r.json()["processes"]
        if len(processes) == count or time.monotonic() > deadline:
            return processes
        await asyncio.sleep(0.2)


async def test_admin_stats_lists_every_process_with_its_role(cluster: Cluster) -> None:
    async with httpx.AsyncClient(base_url=cluster.url, timeout=10) as http:
        processes = await _processes(http, 3)
    assert sorted(str(p["role"]) for p in processes) == ["web", "web", "worker"]
    pids = {p.pid for p in [*cluster.web, *cluster.workers]}
    assert {p["pid"] for p in processes} == pids


async def test_gets_survive_a_killed_web_process(cluster: Cluster) -> None:
    victim = cluster.web[0]
    async with httpx.AsyncClient(base_url=cluster.url, timeout=10) as http:

        async def get() -> int:
            # A process killed after nginx passed on its headers but before its body leaves
            # nothing nginx may retry (the client has the start of an answer): the client
            # sees a cut-off body and asks again, as any client does for a GET. Never a 502.
            for _ in range(3):
                with contextlib.suppress(httpx.RemoteProtocolError):
                    return (await http.get("/tweets", params={"limit": 5})).status_code
            raise AssertionError("three cut-off answers in a row")

        async def reads(seconds: float) -> list[int]:
            codes, deadline = [], time.monotonic() + seconds
            while time.monotonic() < deadline:
                codes.append(await get())
            return codes

        during = asyncio.create_task(reads(2.0))
        await asyncio.sleep(0.3)  # reads are flowing through both processes
        victim.kill()
        codes = await during
        assert codes and set(codes) == {200}, codes  # nginx retried what hit the dead one
        assert len(await _processes(http, 2)) == 2  # its report expires
        cluster.replace(victim)  # back on its port
        assert set(await reads(1.0)) == {200}
        assert len(await _processes(http, 3)) == 3
