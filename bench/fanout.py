"""Fan-out benchmark: real Redis, database and app processes, thousands of real WebSockets.

    .venv/bin/python bench/fanout.py --sockets 2000 --apps 1 --rate 2 --seconds 15

Starts redis-server, an embedded database and N `murmur serve` processes; creates C signed-in
users (sessions and access tokens as sign-in makes them); opens C authenticated sockets from
separate load processes, each subscribed to ``user:<author>`` — the channel a big author's
followers' ``home`` subscriptions listen on — then the author posts tweets through the REST
API at a set rate. Reports sockets held, events delivered vs expected (loss), delivery rate,
publish-to-receive latency percentiles, server RSS per 1,000 sockets and CPU. Writes JSON
(and a PNG if matplotlib is installed: ``pip install '.[bench]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.embedded import EmbeddedMongo, free_port  # noqa: E402

SECRET = "bench-secret-" + "z" * 32


def raise_fd_limit() -> None:
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


async def make_users(mongo_url: str, db_name: str, count: int) -> list[tuple[str, str]]:
    """(user_id, access token) for ``count`` verified users, made as sign-in makes them."""
    from pymongo import AsyncMongoClient

    from server.security import AccessTokens

    now = datetime.now(UTC)
    tokens = AccessTokens(SECRET, "murmur", "murmur-api", 3600)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    db = client[db_name]
    users = [  # the document server/store/users.py:create writes
        {
            "user_name": f"bench{i}",
            "user_name_lower": f"bench{i}",
            "email": f"bench{i}@example.com",
            "email_lower": f"bench{i}@example.com",
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


def load_worker(urls: list[str], tokens: list[str], stream: str, out: Any, go: Any) -> None:
    """One load process: open sockets, subscribe, count events and their latency."""
    raise_fd_limit()
    asyncio.run(_load(urls, tokens, stream, out, go))


async def _load(urls: list[str], tokens: list[str], stream: str, out: Any, go: Any) -> None:
    from websockets.asyncio.client import connect

    latencies: list[float] = []
    received = 0
    conns = []
    sem = asyncio.Semaphore(100)

    async def open_one(url: str, token: str) -> Any:
        async with sem:
            ws = await connect(
                url,
                additional_headers={"Authorization": f"Bearer {token}"},
                open_timeout=60,
                ping_interval=None,
                max_queue=None,
            )
            await ws.send(json.dumps({"type": "subscribe", "stream": stream}))
            assert json.loads(await ws.recv())["type"] == "subscribed"
            return ws

    conns = await asyncio.gather(*(open_one(u, t) for u, t in zip(urls, tokens, strict=True)))
    out.put(("connected", len(conns)))

    async def reader(ws: Any) -> None:
        nonlocal received
        async for raw in ws:
            now = time.time()
            frame = json.loads(raw)
            if frame.get("type") == "event":
                received += 1
                sent = float(frame["data"]["content"].split()[1])
                latencies.append(now - sent)

    tasks = [asyncio.create_task(reader(ws)) for ws in conns]
    # Wait (in a thread: it is a multiprocessing Event) until the driver's last tweet is out.
    await asyncio.to_thread(go.wait)
    await asyncio.sleep(2.0)  # let the tail arrive
    out.put(("done", received, latencies))
    for t in tasks:
        t.cancel()
    for ws in conns:
        await ws.close()


def start_app(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
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


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    raise_fd_limit()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    redis_port = free_port()
    redis = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(redis_port), "--save", "",
         "--appendonly", "no", "--bind", "127.0.0.1", "--maxclients", "100000"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    mongo = EmbeddedMongo(":memory:")
    mongo_url = mongo.start()
    apps: list[subprocess.Popen[bytes]] = []
    try:
        env = {
            "ENVIRONMENT": "test", "MONGODB_URL": mongo_url, "MONGODB_DB": "bench",
            "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "JWT_SECRET": SECRET,
            "ACCESS_TOKEN_TTL_SECONDS": "3600", "DATA_DIR": str(work), "LOG_LEVEL": "WARNING",
            "RATE_LIMITS_ENABLED": "false", "WS_MAX_SOCKETS_PER_USER": "5",
        }  # fmt: skip
        ports = [free_port() for _ in range(args.apps)]
        apps = [start_app(env, p, work / f"app{i}.log") for i, p in enumerate(ports)]
        users = asyncio.run(make_users(mongo_url, "bench", args.sockets + 1))
        author_id, author_token = users[0]
        followers = users[1:]
        stream = f"user:{author_id}"
        base = [proc_stats(p.pid) for p in apps]

        out: Any = mp.Queue()
        go = mp.Event()
        workers = []
        for w in range(args.load_procs):
            mine = followers[w :: args.load_procs]
            urls = [f"ws://127.0.0.1:{ports[i % len(ports)]}/ws" for i in range(len(mine))]
            proc = mp.Process(
                target=load_worker, args=(urls, [t for _, t in mine], stream, out, go)
            )
            proc.start()
            workers.append(proc)
        t0 = time.monotonic()
        held = sum(out.get(timeout=600)[1] for _ in workers)
        connect_seconds = time.monotonic() - t0
        held_stats = [proc_stats(p.pid) for p in apps]

        # Post at the set rate through the REST API.
        posted = 0
        start = time.monotonic()
        headers = {"Authorization": f"Bearer {author_token}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}", headers=headers) as http:
            while time.monotonic() - start < args.seconds:
                due = start + posted / args.rate
                time.sleep(max(0.0, due - time.monotonic()))
                r = http.post("/tweets", json={"content": f"t {time.time():.6f} #bench"})
                r.raise_for_status()
                posted += 1
        elapsed = time.monotonic() - start
        go.set()
        received, latencies = 0, []
        for _ in workers:
            _, got, lat = out.get(timeout=120)
            received += got
            latencies += lat
        end_stats = [proc_stats(p.pid) for p in apps]
        for w in workers:
            w.join(timeout=30)
    finally:
        for p in apps:
            p.terminate()
            p.wait(timeout=20)
        mongo.stop()
        redis.terminate()

    expected = posted * held
    rss_per_k = sum((h[0] - b[0]) for h, b in zip(held_stats, base, strict=True)) / held * 1000
    cpu = sum(e[1] - h[1] for e, h in zip(end_stats, held_stats, strict=True))
    return {
        "apps": args.apps,
        "sockets_held": held,
        "connect_seconds": round(connect_seconds, 1),
        "tweets": posted,
        "tweets_per_second": round(posted / elapsed, 2),
        "expected": expected,
        "delivered": received,
        "lost": expected - received,
        "delivered_per_second": round(received / elapsed),
        "latency_ms": {p: round(pct(latencies, p) * 1000, 1) for p in (50, 95, 99)},
        "server_rss_kb_per_1000_sockets": round(rss_per_k / 1024),
        "server_cpu_seconds_per_second": round(cpu / elapsed, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--apps", type=int, default=1)
    parser.add_argument("--load-procs", type=int, default=2)
    parser.add_argument("--rate", type=float, default=2.0, help="tweets per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workdir", default="/tmp/murmur-bench")
    parser.add_argument("--out", default="bench/results.json")
    args = parser.parse_args()
    result = run(args)
    print(json.dumps(result, indent=2))
    path = Path(args.out)
    runs = json.loads(path.read_text()) if path.exists() else []
    runs.append(result)
    path.write_text(json.dumps(runs, indent=2) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    runs.sort(key=lambda r: r["sockets_held"])
    xs = [r["sockets_held"] for r in runs]
    fig, ax = plt.subplots()
    for p in ("50", "95", "99"):
        ax.plot(xs, [r["latency_ms"][p] if p in r["latency_ms"] else r["latency_ms"][int(p)]
                     for r in runs], marker="o", label=f"p{p}")  # fmt: skip
    ax.set_xlabel("sockets")
    ax.set_ylabel("publish-to-receive latency (ms)")
    ax.legend()
    fig.savefig(path.with_suffix(".png"))


if __name__ == "__main__":
    main()
