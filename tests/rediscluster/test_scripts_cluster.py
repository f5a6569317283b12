"""``scripts/cluster --redis-cluster``: nginx, a web process and a worker on a 6-node Redis
Cluster it starts itself (``REDIS_CLUSTER=true``); a tweet posted through nginx reaches a
follower's home timeline, and SIGTERM stops every process it started, Redis nodes included."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import time
import uuid
from pathlib import Path

import httpx
import pymongo

from bench.stack import SECRET, make_users
from server.cluster import ROOT, Process
from server.embedded import free_port


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def wait_printed(runner: Process, out: Path, text: str, within: float = 60.0) -> str:
    """Everything ``runner`` printed, once it has printed ``text``."""
    deadline = time.monotonic() + within
    while text not in (printed := out.read_text() if out.exists() else ""):
        assert runner.alive(), printed
        assert time.monotonic() < deadline, printed
        time.sleep(0.1)
    return printed


def test_a_tweet_through_nginx_on_a_redis_cluster(mongo_url: str, tmp_path: Path) -> None:
    db_name = f"rc_{uuid.uuid4().hex[:10]}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        MONGODB_URL=mongo_url,
        MONGODB_DB=db_name,
        JWT_SECRET=SECRET,
        RATE_LIMITS_ENABLED="false",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    out = tmp_path / "cluster.out"
    runner = Process("scripts/cluster", out)
    cmd = [sys.executable, "-m", "server.cluster", "--web", "1", "--workers", "1"]
    cmd += ["--port", str(port), "--redis-cluster", "--run-dir", str(tmp_path / "run")]
    runner.spawn(cmd, env)
    redis_pids: list[int] = []
    try:
        printed = wait_printed(runner, out, "Ctrl-C stops everything")
        redis_pids = [
            int(p) for p in re.findall(r"redis cluster pids ([\d, ]+)", printed)[0].split(",")
        ]
        assert len(redis_pids) == 6 and all(alive(p) for p in redis_pids)
        (author, author_token), (fan, fan_token) = asyncio.run(make_users(mongo_url, db_name, 2))
        fan_auth = {"Authorization": f"Bearer {fan_token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            r = http.post(f"/users/{author}/follow", headers=fan_auth)
            assert r.status_code == 200, r.text
            body = {"content": "via nginx"}
            r = http.post("/tweets", json=body, headers={"Authorization": f"Bearer {author_token}"})
            assert r.status_code == 201, r.text
            tweet = r.json()["tweet_id"]
            deadline = time.monotonic() + 10  # the worker fans it out a moment later
            while True:
                page = http.get("/tweets/following", headers=fan_auth).json()
                if [t["tweet_id"] for t in page["items"]] == [tweet]:
                    break
                assert time.monotonic() < deadline, page
                time.sleep(0.05)
    finally:
        runner.stop(signal.SIGTERM, timeout=30)
        with pymongo.MongoClient(mongo_url) as client:
            client.drop_database(db_name)
    assert redis_pids and not [p for p in redis_pids if alive(p)]
