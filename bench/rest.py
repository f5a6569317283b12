"""REST load benchmark: a closed loop of signed-in clients, one phase per request kind, held
against the database's own ceilings measured in the same run.

    .venv/bin/python bench/rest.py                      # 32 clients, 10 s per phase
    .venv/bin/python bench/rest.py --duration 3 --phases post,home,me

Starts its own SecantusDB (on disk in ``--workdir``, as ``murmur serve`` runs it; or
``--db-storage memory``), redis-server and one ``murmur serve`` on free loopback ports, with
rate limits off (or uses ``--mongodb-url`` / ``--redis-url``; its databases there,
``bench_rest`` and ``bench_rest_raw``, are dropped first). Makes ``--clients`` users, each
followed by ~5 others (``--followers``), who post ``--seed-tweets`` tweets each. Then each
phase runs ``--duration`` seconds, every client sending its next request as soon as the last
one is answered:

    post, reply, home, public, profile, single, like, follow, notifications, search, me

(``like`` likes and unlikes the same tweet in turn, ``follow`` follows and unfollows.) Each
phase reports requests/s, p50/p95/p99, errors, **database commands per request** (from the
app's ``murmur_db_commands_total`` on ``/metrics``, counted from the phase's start until the
fan-out jobs it caused are done), and the CPU of the app, the database and this benchmark
(from ``/proc``). Before the phases the same concurrency is pointed at the database directly
(PyMongo async, no app): ``insert_one``, ``find_one`` by ``_id``, an indexed
``find().sort().limit(20)`` and ``update_one $inc``; each phase is shown as a ratio to the
ceiling of the operation it resembles. Writes JSON to ``--out`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ceilings import CEILINGS, measure_ceilings  # noqa: E402
from bench.httpclient import HttpError, RawHttp  # noqa: E402
from bench.stack import SECRET, make_users, pct, proc_stats, start_app, start_redis  # noqa: E402
from server.dbmetrics import command_seconds_in, commands_in  # noqa: E402
from server.embedded import EmbeddedMongo, free_port  # noqa: E402

DB_NAME = "bench_rest"
# Which raw operation each request kind is held against.
CEILING_OF = {
    "post": "insert_one", "reply": "insert_one", "like": "update_one", "follow": "update_one",
    "home": "find_page", "public": "find_page", "profile": "find_page",
    "notifications": "find_page", "search": "find_page", "single": "find_one", "me": "find_one",
}  # fmt: skip
PHASES = list(CEILING_OF)
LABELS = {
    "post": "`POST /tweets` ({followers} followers)",
    "reply": "`POST /tweets/{{id}}/comments`",
    "home": "`GET /tweets/following`",
    "public": "`GET /tweets?sort=latest`",
    "profile": "`GET /users/{{id}}/tweets`",
    "single": "`GET /tweets/{{id}}`",
    "like": "`POST`/`DELETE /tweets/{{id}}/likes`",
    "follow": "`POST`/`DELETE /users/{{id}}/follow`",
    "notifications": "`GET /notifications`",
    "search": "`GET /search/tweets` (2 words)",
    "me": "`GET /users/me`",
}
WORDS = ["river", "garden", "coffee", "python", "music", "winter", "bridge", "market"]


class Client:
    """One signed-in user of the closed loop, and what its requests need."""

    def __init__(self, http: httpx.AsyncClient, raw: RawHttp, index: int, user_id: str) -> None:
        self.http = http  # for setting up (it parses answers)
        self.raw = raw  # for the phases (cheap: the benchmark shares the machine)
        self.index = index
        self.user_id = user_id
        self.count = itertools.count()
        self.rng = random.Random(index)
        self.toggled = False  # like/unlike, follow/unfollow: which one comes next


class Bench:
    """The users, their tweets, and one request factory per phase."""

    def __init__(self, clients: list[Client], follow_targets: dict[int, str]) -> None:
        self.clients = clients
        self.user_ids = [c.user_id for c in clients]
        self.tweet_ids: list[str] = []
        self.follow_targets = follow_targets

    async def request(self, phase: str, c: Client) -> int:
        """Send ``c``'s next request of this phase; its HTTP status."""
        n = next(c.count)
        h = c.raw.request
        if phase == "post":
            status, _ = await h("POST", "/tweets", {"content": f"post {n} from {c.index} #bench"})
        elif phase == "reply":
            tweet = c.rng.choice(self.tweet_ids)
            status, _ = await h("POST", f"/tweets/{tweet}/comments", {"content": f"reply {n}"})
        elif phase == "home":
            status, _ = await h("GET", "/tweets/following?limit=20")
        elif phase == "public":
            status, _ = await h("GET", "/tweets?sort=latest")
        elif phase == "profile":
            status, _ = await h("GET", f"/users/{c.rng.choice(self.user_ids)}/tweets")
        elif phase == "single":
            status, _ = await h("GET", f"/tweets/{c.rng.choice(self.tweet_ids)}")
        elif phase == "like":
            c.toggled = not c.toggled
            tweet = self.tweet_ids[c.index % len(self.tweet_ids)]
            status, _ = await h("POST" if c.toggled else "DELETE", f"/tweets/{tweet}/likes")
        elif phase == "follow":
            c.toggled = not c.toggled
            target = self.follow_targets[c.index]
            status, _ = await h("POST" if c.toggled else "DELETE", f"/users/{target}/follow")
        elif phase == "notifications":
            status, _ = await h("GET", "/notifications?limit=20")
        elif phase == "search":
            words = "+".join(c.rng.sample(WORDS, 2))
            status, _ = await h("GET", f"/search/tweets?q={words}")
        elif phase == "me":
            status, _ = await h("GET", "/users/me")
        else:
            raise ValueError(phase)
        return status


async def closed_loop(
    bench: Bench, phase: str, seconds: float
) -> tuple[list[float], int, int, float]:
    """Every client sends its next request when the last is answered, for ``seconds``.
    (latencies in s, sorted; requests; errors; elapsed s)"""
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    stop = start + seconds

    async def one(c: Client) -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            try:
                ok = await bench.request(phase, c) < 400
            except (OSError, asyncio.IncompleteReadError, HttpError):
                ok = False
            latencies.append(time.perf_counter() - t0)
            errors += not ok

    await asyncio.gather(*(one(c) for c in bench.clients))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return latencies, len(latencies), errors, elapsed


async def scrape(http: httpx.AsyncClient) -> tuple[dict[tuple[str, str], float], float]:
    """The app's database commands so far, by (command, collection), and seconds in them."""
    text = (await http.get("/metrics")).text
    return commands_in(text), command_seconds_in(text)


async def settle(mongo_url: str, limit: float) -> tuple[float, Counter[str]]:
    """Wait (up to ``limit`` s) until the outbox is drained; seconds waited, and the queries
    it made by collection (``top`` counts them too: they are taken off the phase's count).

    Asks each outbox for one pending document rather than counting them: ``outbox`` has no
    index but ``_id``, so counting read every entry, and a count every 0.1 s of thousands
    of entries took a share of the database from the worker it was waiting for."""
    from pymongo import AsyncMongoClient

    from server.outbox import OUTBOXES

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    db = client[DB_NAME]

    asked: Counter[str] = Counter()

    async def pending() -> bool:
        for name in OUTBOXES:
            asked[name] += 1
            if await db[name].find_one({"pending": True}, {"_id": 1}) is not None:
                return True
        return False

    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < limit:
            if not await pending():
                break
            await asyncio.sleep(0.1)
    finally:
        await client.close()
    return time.monotonic() - t0, asked


async def server_top(mongo_url: str) -> dict[tuple[str, str], tuple[int, int]]:
    """The database's own count and microseconds of every operation on the benchmark's
    collections, whichever process sent it (web, worker): ``top``, by (operation,
    collection)."""
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        totals = (await client.admin.command("top"))["totals"]
    finally:
        await client.close()
    ops = {"queries": "find", "getmore": "getMore", "insert": "insert", "update": "update",
           "remove": "delete", "commands": "command"}  # fmt: skip
    found = {}
    for ns, stats in totals.items():
        db, _, coll = ns.partition(".")
        if db != DB_NAME or not isinstance(stats, dict):
            continue
        for key, op in ops.items():
            if stats.get(key, {}).get("count"):
                found[op, coll] = (stats[key]["count"], stats[key]["time"])
    return found


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (``murmur serve``'s outbox worker)."""
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


async def drop_database(mongo_url: str, name: str) -> None:
    """Drop the benchmark's own database (on a server given with --mongodb-url too)."""
    from pymongo import AsyncMongoClient

    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    try:
        await client.drop_database(name)
    finally:
        await client.close()


def cpu(pid: int | None) -> float:
    """CPU seconds a process used so far (nan when it is not ours to read)."""
    if pid is None:
        return float("nan")
    with contextlib.suppress(OSError):
        return proc_stats(pid)[1]
    return float("nan")


async def run_phase(
    bench: Bench, phase: str, args: argparse.Namespace, metrics: httpx.AsyncClient,
    app_pid: int, db_pid: int | None, mongo_url: str,
) -> dict[str, Any]:  # fmt: skip
    """One phase, from a quiet app (no fan-out pending) to the end of the fan-out it caused.

    Database commands are counted twice: by the database (``top``: every process's, the
    outbox worker's too, until it has drained what the phase wrote) and by the web process
    (``/metrics``: what requests wait for)."""
    await settle(mongo_url, 30)
    # Announced once quiet, so a profiler can be attached to exactly one phase's load.
    print(f"phase {phase}: starting", file=sys.stderr, flush=True)
    worker_pids = children(app_pid)
    before, web_seconds0 = await scrape(metrics)
    top0 = await server_top(mongo_url)
    cpu0 = (cpu(app_pid), cpu(db_pid), time.process_time(), sum(map(cpu, worker_pids)))
    latencies, requests, errors, elapsed = await closed_loop(bench, phase, args.duration)
    cpu1 = (cpu(app_pid), cpu(db_pid), time.process_time(), sum(map(cpu, worker_pids)))
    drained, asked = await settle(mongo_url, 30)  # the fan-out the phase caused counts too
    db_cpu_drained = cpu(db_pid) - cpu0[1]  # the database's CPU for the phase's work, all of it
    top1 = await server_top(mongo_url)
    after, web_seconds1 = await scrape(metrics)
    web_moved = {k: v - before.get(k, 0) for k, v in after.items()}
    web = sum(web_moved.values())
    moved = {k: (c - top0.get(k, (0, 0))[0], us - top0.get(k, (0, 0))[1])
             for k, (c, us) in top1.items()}  # fmt: skip
    for coll, asks in asked.items():  # this benchmark's own polling of the outboxes
        count, us = moved.get(("find", coll), (asks, 0))
        moved["find", coll] = (count - asks, us)
    moved = {k: v for k, v in moved.items() if v[0] > 0}
    commands = sum(c for c, _ in moved.values())
    top = sorted(moved.items(), key=lambda kv: -kv[1][0])[:8]
    slowest = sorted(moved.items(), key=lambda kv: -kv[1][1])[:12]
    n = max(1, requests)
    return {
        "phase": phase,
        "requests": requests,
        "errors": errors,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(requests / elapsed, 1),
        "latency_ms": {f"p{p}": round(pct(latencies, p) * 1000, 1) for p in (50, 95, 99)},
        "db_commands_per_request": round(commands / n, 2),
        "db_ms_per_request": round(sum(us for _, us in moved.values()) / 1000 / n, 2),
        "db_commands_top": {f"{c} {coll}": round(k / n, 2) for (c, coll), (k, _) in top},
        # The database's time in them, by (command, collection): wall time in the server,
        # with commands overlapping, so a ranking of where it goes rather than CPU.
        "db_ms_top": {f"{c} {coll}": round(us / 1000 / n, 3) for (c, coll), (_, us) in slowest},
        "web_db_commands_per_request": round(web / n, 2),
        "web_db_commands_top": {
            f"{c} {coll}": round(k / n, 2)
            for (c, coll), k in sorted(web_moved.items(), key=lambda kv: -kv[1])[:8]
            if k > 0
        },
        "web_db_ms_per_request": round((web_seconds1 - web_seconds0) * 1000 / n, 2),
        "fanout_drained_seconds": round(drained, 2),
        "db_cpu_ms_per_request": round(db_cpu_drained * 1000 / n, 2),
        "cpu_cores": {
            "app": round((cpu1[0] - cpu0[0]) / elapsed, 2),
            "worker": round((cpu1[3] - cpu0[3]) / elapsed, 2),
            "database": round((cpu1[1] - cpu0[1]) / elapsed, 2),
            "bench": round((cpu1[2] - cpu0[2]) / elapsed, 2),
        },
    }


async def prepare(
    base_url: str, users: list[tuple[str, str]], followers: int, seed_tweets: int
) -> Bench:
    """Clients, the follow graph (user i is followed by the next ``followers`` users) and the
    seed tweets, all through the API (so counters, timelines and search are as in use)."""
    clients = []
    for i, (uid, token) in enumerate(users):
        auth = {"Authorization": f"Bearer {token}"}
        http = httpx.AsyncClient(base_url=base_url, headers=auth, timeout=60)
        raw = RawHttp("127.0.0.1", int(base_url.rsplit(":", 1)[1]), auth)
        clients.append(Client(http, raw, i, uid))
    n = len(clients)
    follows = {i: {(i - k) % n for k in range(1, followers + 1)} - {i} for i in range(n)}
    targets: dict[int, str] = {}
    for i in range(n):  # follow/unfollow toggles someone outside the graph, so it stays put
        free = [j for j in range(n) if j != i and j not in follows[i]]
        targets[i] = users[free[len(free) // 2] if free else (i + 1) % n][0]

    async def follow_all(c: Client) -> None:
        for j in sorted(follows[c.index]):
            (await c.http.post(f"/users/{users[j][0]}/follow")).raise_for_status()

    await asyncio.gather(*(follow_all(c) for c in clients))
    bench = Bench(clients, targets)

    async def seed(c: Client) -> None:
        for k in range(seed_tweets):
            words = " ".join(c.rng.sample(WORDS, 3))
            r = await c.http.post("/tweets", json={"content": f"seed {k}: {words} #bench"})
            r.raise_for_status()
            bench.tweet_ids.append(r.json()["tweet_id"])

    await asyncio.gather(*(seed(c) for c in clients))
    return bench


def ratio(phase: dict[str, Any], ceilings: dict[str, float]) -> float | None:
    """The phase's requests/s over its matching raw ceiling's ops/s."""
    base = ceilings.get(CEILING_OF[phase["phase"]])
    return round(phase["requests_per_second"] / base, 2) if base else None


def table(result: dict[str, Any]) -> str:
    """The README's tables: the phases, then the raw ceilings."""
    ceilings = {k: v["ops_per_second"] for k, v in result["ceilings"].items()}
    rows = [
        "| request | req/s | p50 / p95 / p99 ms | errors | DB commands / request: all "
        "(web) | DB ms / request | drained after | CPU cores: web / worker / DB "
        "| ratio to raw ceiling |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for ph in result["phases"]:
        lat = ph["latency_ms"]
        r = ratio(ph, ceilings)
        label = LABELS[ph["phase"]].format(followers=result["followers"])
        against = "" if r is None else f"{r} × {CEILING_OF[ph['phase']]}"
        rows.append(
            f"| {label} | {ph['requests_per_second']:,} | {lat['p50']:,} / {lat['p95']:,} / "
            f"{lat['p99']:,} | {ph['errors']} | {ph['db_commands_per_request']} "
            f"({ph['web_db_commands_per_request']}) | {ph['db_ms_per_request']} | "
            f"{ph['fanout_drained_seconds']} s | {ph['cpu_cores']['app']} / "
            f"{ph['cpu_cores']['worker']} / {ph['cpu_cores']['database']} | {against} |"
        )
    rows += ["", "| raw database ceiling (same concurrency) | ops/s | p50 ms |", "|---|---|---|"]
    for name, c in result["ceilings"].items():
        rows.append(f"| {CEILINGS[name]} | {c['ops_per_second']:,} | {c['p50_ms']} |")
    return "\n".join(rows)


async def bench_main(args: argparse.Namespace) -> dict[str, Any]:
    """Start the stack, measure the ceilings, prepare the users, run the phases, stop it all."""
    work = Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)  # a fresh database and log every run
    work.mkdir(parents=True)  # noqa: ASYNC240 (before anything runs)
    procs: list[subprocess.Popen[bytes]] = []
    mongo: EmbeddedMongo | None = None
    redis_url = args.redis_url
    mongo_url = args.mongodb_url
    try:
        if not redis_url:
            port = free_port()
            procs.append(start_redis(port))
            redis_url = f"redis://127.0.0.1:{port}/0"
        if not mongo_url:
            mongo = EmbeddedMongo(":memory:" if args.db_storage == "memory" else work / "db")
            mongo_url = mongo.start()
        db_pid = mongo.process.pid if mongo and mongo.process else None
        await drop_database(mongo_url, DB_NAME)  # an earlier run's users would clash
        ceilings = await measure_ceilings(
            mongo_url, f"{DB_NAME}_raw", args.clients, args.ceiling_duration
        )
        env = {
            "ENVIRONMENT": "test", "MONGODB_URL": mongo_url, "MONGODB_DB": DB_NAME,
            "REDIS_URL": redis_url, "JWT_SECRET": SECRET, "ACCESS_TOKEN_TTL_SECONDS": "3600",
            "DATA_DIR": str(work), "LOG_LEVEL": "WARNING", "RATE_LIMITS_ENABLED": "false",
            **dict(kv.split("=", 1) for kv in args.env),
        }  # fmt: skip
        app_port = free_port()
        if args.worker_in_app:  # not murmur serve's child process (server/workerprocess.py)
            env["WORKER_PROCESS"] = "false"
        app = start_app(env, app_port, work / "app.log")
        procs.append(app)
        base_url = f"http://127.0.0.1:{app_port}"
        users = await make_users(mongo_url, DB_NAME, args.clients)
        t0 = time.monotonic()
        bench = await prepare(base_url, users, args.followers, args.seed_tweets)
        prepared = time.monotonic() - t0
        phases = []
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as metrics:
            for phase in args.phases:
                phases.append(
                    await run_phase(bench, phase, args, metrics, app.pid, db_pid, mongo_url)
                )
                print(json.dumps(phases[-1]), file=sys.stderr)
        for c in bench.clients:
            await c.http.aclose()
            await c.raw.close()
    finally:
        for p in reversed(procs):
            p.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=20)
        if mongo:
            mongo.stop()
    return {
        "command": " ".join([".venv/bin/python", *sys.argv]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "label": args.label,
        "clients": args.clients,
        "followers": args.followers,
        "seed_tweets": args.seed_tweets * args.clients,
        "duration": args.duration,
        "db_storage": "external" if args.mongodb_url else args.db_storage,
        "prepare_seconds": round(prepared, 1),
        "load_average": os.getloadavg(),
        "ceilings": ceilings,
        "phases": phases,
    }


def parse_phases(text: str) -> list[str]:
    """``--phases post,home`` into a list, refusing unknown names."""
    phases = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in phases if p not in CEILING_OF]
    if unknown or not phases:
        raise argparse.ArgumentTypeError(f"unknown phases {unknown}; choose from {PHASES}")
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--phases", type=parse_phases, default=PHASES, help=",".join(PHASES))
    parser.add_argument("--followers", type=int, default=5, help="followers per user")
    parser.add_argument("--seed-tweets", type=int, default=10, help="per user, before phases")
    parser.add_argument(
        "--ceiling-duration", type=float, help="s per raw ceiling (default: --duration, max 5)"
    )
    parser.add_argument("--mongodb-url", help="use this database server instead of our own")
    parser.add_argument("--redis-url", help="use this Redis instead of our own")
    parser.add_argument("--db-storage", choices=["disk", "memory"], default="disk")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the app")
    parser.add_argument(
        "--worker-in-app", action="store_true",
        help="the outbox worker in the web process (WORKER_PROCESS=false), not its child",
    )  # fmt: skip
    parser.add_argument("--label", default="")
    parser.add_argument("--workdir", default="/tmp/murmur-bench-rest")
    parser.add_argument("--out", default="bench/rest-results.json")
    args = parser.parse_args()
    if args.ceiling_duration is None:
        args.ceiling_duration = min(args.duration, 5.0)
    result = asyncio.run(bench_main(args))
    path = Path(args.out)
    runs = json.loads(path.read_text()) if path.exists() else []
    runs.append(result)
    path.write_text(json.dumps(runs, indent=2) + "\n")
    print(f"\n{result['command']}\n")
    print(table(result))


if __name__ == "__main__":
    main()
