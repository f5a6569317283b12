"""What every benchmark needs: its own redis-server and app processes on free loopback ports,
users made as sign-in makes them, /proc readings and percentiles.

``bench/fanout.py`` and ``bench/rest.py`` import it (they put the repository on ``sys.path``).
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

SECRET = "bench-secret-" + "z" * 32


def raise_fd_limit() -> None:
    """Let this process open as many sockets as the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def proc_stats(pid: int) -> tuple[int, float]:
    """(RSS bytes, CPU seconds) of a process, from /proc."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) * 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss, cpu


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile of already sorted ``values`` (nan when empty)."""
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def start_redis(port: int) -> subprocess.Popen[bytes]:
    """A throwaway redis-server on loopback (no persistence)."""
    return subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--save", "",
         "--appendonly", "no", "--bind", "127.0.0.1", "--maxclients", "100000"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def start_app(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """One ``murmur serve`` on ``port``, returned once ``/readyz`` answers."""
    with log.open("ab") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server", "serve"],
            env={**os.environ, **env, "PORT": str(port)},
            stdout=fh,
            stderr=fh,
        )
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"app did not start; see {log}")


async def make_users(
    mongo_url: str, db_name: str, count: int, prefix: str = "bench"
) -> list[tuple[str, str]]:
    """(user_id, access token) for ``count`` verified users, made as sign-in makes them."""
    from pymongo import AsyncMongoClient

    from server.keys import Keys
    from server.security import AccessTokens

    now = datetime.now(UTC)
    tokens = AccessTokens(Keys.derive(SECRET).jwt, "murmur", "murmur-api", 3600)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    db = client[db_name]
    users: list[dict[str, Any]] = [  # the document server/store/users.py:create writes
        {
            "user_name": f"{prefix}{i}",
            "user_name_lower": f"{prefix}{i}",
            "email": f"{prefix}{i}@example.com",
            "email_lower": f"{prefix}{i}@example.com",
            "password_hash": None,
            "email_verified": True,
            "user_metadata": {},
            "created_at": now,
            "follower_count": 0,
            "following_count": 0,
            "tweet_count": 0,
            "role": "user",
            "suspended": False,
        }
        for i in range(count)
    ]
    ids = (await db.users.insert_many(users)).inserted_ids
    sessions = [{"user_id": str(i), "created_at": now, "revoked_at": None} for i in ids]
    sids = (await db.sessions.insert_many(sessions)).inserted_ids
    await client.close()
    return [(str(u), tokens.issue(str(u), str(s), now)) for u, s in zip(ids, sids, strict=True)]


async def add_followers(mongo_url: str, db_name: str, followee: str, followers: list[str]) -> None:
    """``followers`` follow ``followee``: the edges and counters the follow effect leaves."""
    from bson import ObjectId
    from pymongo import AsyncMongoClient

    from server.store import follows as follow_store

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    db = client[db_name]
    now = datetime.now(UTC)
    await follow_store.add_many(db, edges=[(f, followee) for f in followers], now=now)
    await db.users.update_one(
        {"_id": ObjectId(followee)}, {"$inc": {"follower_count": len(followers)}}
    )
    await db.users.update_many(
        {"_id": {"$in": [ObjectId(f) for f in followers]}}, {"$inc": {"following_count": 1}}
    )
    await client.close()
