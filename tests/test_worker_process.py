"""`murmur serve` with Redis runs the outbox worker as a child process of its own
(``server/workerprocess.py``): the web process's writes wake it through the hub, it is started
again when it dies, and it dies with its parent."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.realtime.test_rest_auth_live import sign_up

pytestmark = pytest.mark.live


def workers_of(pid: int) -> list[int]:
    """The ``murmur worker`` children of ``pid``."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(k) for k in (task / "children").read_text().split()]
    return [k for k in kids if b"worker" in _cmdline(k)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie no longer runs either)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state == "Z"


async def until(check: Callable[[], Any], seconds: float = 15.0) -> Any:
    """``check()``'s first truthy value, polled until a deadline."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {seconds} s")


async def home_ids(http: httpx.AsyncClient, token: str) -> list[str]:
    r = await http.get("/tweets/following", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    return [t["tweet_id"] for t in r.json()["items"]]


async def post(http: httpx.AsyncClient, token: str, content: str) -> str:
    r = await http.post(
        "/tweets", json={"content": content}, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 201, r.text
    return str(r.json()["tweet_id"])


async def until_home_has(
    http: httpx.AsyncClient, token: str, tweet_id: str, seconds: float, why: str
) -> None:
    """Wait (up to ``seconds``) until the worker stored ``tweet_id`` in the reader's home."""
    deadline = time.monotonic() + seconds
    while tweet_id not in await home_ids(http, token):
        assert time.monotonic() < deadline, why
        await asyncio.sleep(0.05)


async def test_the_worker_runs_apart_woken_by_writes_restarted_and_killed_with_serve(
    live_app, redis_server, tmp_path
):
    # An idle worker that only polled would not look again for a minute: anything applied
    # sooner was woken by the web process's write, through the hub.
    app = live_app(
        redis_url=redis_server.url,
        WORKER_PROCESS="true",  # the default (the tests' own default is off)
        OUTBOX_POLL_SECONDS="60",
        OUTBOX_LEASE_SECONDS="2",
    )
    [worker] = await until(lambda: workers_of(app.pid))
    ann = await sign_up(app, tmp_path / "outbox", "ann")
    bob = await sign_up(app, tmp_path / "outbox", "bob")
    async with httpx.AsyncClient(base_url=app.url, timeout=10) as http:
        r = await http.post(
            f"/users/{ann['user']['user_id']}/follow",
            headers={"Authorization": f"Bearer {bob['access_token']}"},
        )
        assert r.status_code in (200, 201), r.text
        first = await post(http, ann["access_token"], "from the web process")
        # Stored in bob's timeline by the worker (the pushed path), well before its poll.
        await until_home_has(http, bob["access_token"], first, 10, "the worker was not woken")

        # A worker that dies is started again, and applies what came meanwhile.
        os.kill(worker, signal.SIGKILL)
        await until(lambda: gone(worker))
        second = await post(http, ann["access_token"], "while the worker was down")
        [again] = await until(lambda: [w for w in workers_of(app.pid) if w != worker])
        # The dead worker's lease runs out first.
        why = "the restarted worker applied nothing"
        await until_home_has(http, bob["access_token"], second, 30, why)

    # SIGKILL leaves murmur serve no chance to stop its worker: the kernel does.
    os.kill(app.pid, signal.SIGKILL)
    await until(lambda: gone(again))


async def test_sigterm_stops_the_worker_with_serve(live_app, redis_server):
    app = live_app(redis_url=redis_server.url, WORKER_PROCESS="true")
    [worker] = await until(lambda: workers_of(app.pid))
    app.stop()  # SIGTERM, and waits for murmur serve to exit
    assert gone(worker)


async def test_without_redis_the_worker_stays_in_the_web_process(live_app):
    app = live_app(WORKER_PROCESS="true")
    async with httpx.AsyncClient(base_url=app.url) as http:
        assert (await http.get("/readyz")).status_code == 200
    assert workers_of(app.pid) == []
