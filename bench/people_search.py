"""People-search benchmark: ``GET /users/search`` over many users, by prefix length.

    .venv/bin/python bench/people_search.py                  # 100,000 users, 5 s per phase
    .venv/bin/python bench/people_search.py --users 20000 --duration 3

Starts its own SecantusDB on disk (in ``--workdir``, as ``murmur serve`` runs it) and one
``murmur serve`` on free loopback ports, rate limits off, no Redis. Users are written straight
into the database with ``insert_many`` (batches of 1,000, each document as
``server/store/users.py:create`` writes it, ``search_prefixes`` included): names from
syllables, half of them with a two-word display name (some accented), follower counts from a
heavy-tailed curve (most have a handful, a few thousands). SecantusDB writes about 5,000
index entries a second and a user has ~15 prefixes, so loading runs at ~300 users/s: it
stops after ``--load-seconds`` whatever ``--users`` says (the count is reported), keeping a
run within about three minutes. With ``--workdir DIR`` the database is kept, and the next
run with the same DIR continues loading where the last one stopped (so two or three runs
reach 100,000).

Then, for prefixes of 1, 2 and 3 letters (each query the start of a random user's name, so
common prefixes come up as often as people have them), ``--clients`` closed-loop clients
send ``GET /users/search?q=<prefix>&limit=10`` for ``--duration`` seconds, signed out and
then signed in as a user who follows 200 others (the followed-first path); reported:
requests/s, p50 and p99. Last, the database side: for a few prefixes of each length, the
winning plan of every band query the app sends (``store/prefixed.py``), which must be an
index scan of ``search`` (never ``COLLSCAN``), the documents it read, and the time the
whole band-by-band look-up took. Writes JSON to ``--out`` and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.httpclient import RawHttp  # noqa: E402
from bench.stack import SECRET, make_users, pct, start_app  # noqa: E402
from server.db import connect, ensure_indexes  # noqa: E402
from server.embedded import EmbeddedMongo, free_port  # noqa: E402
from server.store import prefixed  # noqa: E402
from server.store import users as user_store  # noqa: E402

DB_NAME = "bench_people"
SYLLABLES = "ka lo mi ra sen tu vo ze an el is or ul ba de fi go hu ja ki na pe qu ri so ti".split()
FIRST = ["José", "Zoë", "Ana", "Björn", "Chloé", "Léa", "Marta", "Noé", "Omar", "Renée", "Sam"]
LAST = ["García", "Núñez", "Smith", "Østergaard", "Dubois", "Kowalski", "Lee", "Müller"]


def user_doc(rng: random.Random, i: int, now: datetime) -> dict[str, Any]:
    """One user as ``store/users.py:create`` stores it, with a random name and follower count."""
    name = "".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) + str(i)
    display = f"{rng.choice(FIRST)} {rng.choice(LAST)}" if rng.random() < 0.5 else None
    followers = int(rng.paretovariate(1.1)) - 1  # most 0-3, a few in the thousands
    return {
        "user_name": name,
        "user_name_lower": name.lower(),
        "email": f"{name}@example.com",
        "email_lower": f"{name}@example.com",
        "password_hash": None,
        "email_verified": True,
        "user_metadata": {"display_name": display} if display else {},
        "created_at": now,
        "follower_count": min(followers, 1_000_000),
        "following_count": 0,
        "tweet_count": 0,
        "role": "user",
        "suspended": False,
        prefixed.FIELD: user_store.search_prefixes(name, display),
    }


async def load(url: str, users: int, seconds: float) -> tuple[list[str], float]:
    """Insert users until there are ``users`` or ``seconds`` have passed, after those a
    kept ``--workdir`` already holds; (every loaded user's lower-cased name, seconds)."""
    client = connect(url)
    db = client[DB_NAME]
    await ensure_indexes(db)
    # Every document carries its prefixes: the start-up backfill has nothing to look for.
    await db.migrations.update_one({"_id": "users.search_prefixes"}, {"$set": {"done": True}},
                                   upsert=True)  # fmt: skip
    query = {"email_lower": {"$regex": "@example.com$"}, prefixed.FIELD: {"$exists": True}}
    names = [d["user_name_lower"] async for d in db.users.find(query, {"user_name_lower": 1})]
    rng, now = random.Random(7 + len(names)), datetime.now(UTC)
    start = time.monotonic()
    for first in range(len(names), users, 1000):
        if time.monotonic() - start > seconds:
            break
        docs = [user_doc(rng, i, now) for i in range(first, min(first + 1000, users))]
        await db.users.insert_many(docs, ordered=False)
        names += [d["user_name_lower"] for d in docs]
    took = time.monotonic() - start
    await client.close()
    return names, took


async def follow_some(url: str, follower: str, names: list[str], n: int) -> None:
    """``follower`` follows ``n`` of the loaded users (edges as the worker leaves them)."""
    client = connect(url)
    db = client[DB_NAME]
    picked = random.Random(3).sample(names, n)
    ids = [d["_id"] async for d in db.users.find({"user_name_lower": {"$in": picked}}, {"_id": 1})]
    now = datetime.now(UTC)
    edges = [{"follower": follower, "followee": str(i), "created_at": now} for i in ids]
    await db.follows.insert_many(edges)
    await client.close()


async def phase(
    port: int, token: str | None, prefixes: list[str], clients: int, duration: float
) -> dict[str, Any]:
    """Closed-loop searches for ``duration`` seconds: requests/s, p50, p99 (ms), errors."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    conns = [RawHttp("127.0.0.1", port, headers) for _ in range(clients)]
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + duration

    async def loop(conn: RawHttp, rng: random.Random) -> None:
        nonlocal errors
        while time.monotonic() < deadline:
            path = f"/users/search?q={quote(rng.choice(prefixes))}&limit=10"
            t0 = time.perf_counter()
            status, _ = await conn.request("GET", path)
            latencies.append(time.perf_counter() - t0)
            errors += status != 200

    start = time.monotonic()
    await asyncio.gather(*(loop(c, random.Random(i)) for i, c in enumerate(conns)))
    took = time.monotonic() - start
    for c in conns:
        await c.close()
    latencies.sort()
    return {
        "requests_per_s": round(len(latencies) / took, 1),
        "p50_ms": round(pct(latencies, 50) * 1000, 2),
        "p99_ms": round(pct(latencies, 99) * 1000, 2),
        "errors": errors,
    }


async def explain(url: str, prefixes: list[str]) -> dict[str, Any]:
    """The database side of look-ups of these prefixes: plans, documents read, time."""
    client = connect(url)
    db = client[DB_NAME]
    plans: set[str] = set()
    examined, times = [], []
    for p in prefixes:
        # The bands this look-up reads (as the app's would, from the same start).
        low, upper, read = prefixed.start_of(db.users, p), None, 0
        while True:
            bounds: dict[str, int] = {"$gte": low} | ({"$lt": upper} if upper is not None else {})
            cmd = {"find": "users", "filter": {prefixed.FIELD: p, "follower_count": bounds}}
            out = await db.command("explain", cmd, verbosity="executionStats")
            plan = out["queryPlanner"]["winningPlan"]
            inner = plan.get("inputStage", {})
            plans.add(f"{plan.get('stage')}<{inner.get('stage')} {inner.get('indexName', '')}>")
            stats = out.get("executionStats", {})
            read += stats.get("totalDocsExamined", 0)
            if read >= 10 or low <= 0:
                break
            upper, low = low, next((b for b in prefixed.BANDS if b < low), 0)
        examined.append(read)
        t0 = time.perf_counter()
        await prefixed.ranked(
            db.users, prefix=p, rank="follower_count", enough=10, keep=lambda d: True,
            order=lambda d: -d["follower_count"], projection={prefixed.FIELD: 0},
        )  # fmt: skip
        times.append(time.perf_counter() - t0)
    await client.close()
    times.sort()
    return {
        "plans": sorted(plans),
        "collection_scan": any("COLLSCAN" in p for p in plans),
        "docs_read_p50": sorted(examined)[len(examined) // 2] if examined else None,
        "docs_read_max": max(examined, default=None),
        "db_p50_ms": round(pct(times, 50) * 1000, 2),
        "db_max_ms": round(times[-1] * 1000, 2),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="murmur-people-"))
    db_server = EmbeddedMongo(workdir / "db")
    url = db_server.start()
    app = None
    try:
        names, took = await load(url, args.users, args.load_seconds)
        print(f"{len(names):,} users ({took:.1f} s of loading this run)")
        prefix = f"benchcaller{int(time.time())}_"  # a kept workdir already has earlier ones
        (caller, token), = await make_users(url, DB_NAME, 1, prefix=prefix)  # fmt: skip
        await follow_some(url, caller, names, 200)
        port = free_port()
        env = {
            "MONGODB_URL": url, "MONGODB_DB": DB_NAME, "JWT_SECRET": SECRET,
            "RATE_LIMITS_ENABLED": "false", "LOG_LEVEL": "WARNING", "DATA_DIR": str(workdir),
        }  # fmt: skip
        app = start_app(env, port, workdir / "app.log")
        rng = random.Random(11)
        result: dict[str, Any] = {"users": len(names), "load_s": round(took, 1), "lengths": {}}
        for length in (1, 2, 3):
            prefixes = [n[:length] for n in rng.sample(names, 200)]
            row = {
                "signed_out": await phase(port, None, prefixes, args.clients, args.duration),
                "signed_in": await phase(port, token, prefixes, args.clients, args.duration),
                "database": await explain(url, prefixes[:20]),
            }
            result["lengths"][length] = row
            print(f"prefix length {length}: {json.dumps(row)}")
        return result
    finally:
        if app is not None:
            app.terminate()
            app.wait(10)
        db_server.stop()
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def table(result: dict[str, Any], clients: int) -> str:
    lines = [
        f"{result['users']:,} users (loaded in {result['load_s']} s), {clients} clients",
        "",
        "| prefix | signed out req/s | p50 | p99 | signed in req/s | p50 | p99 | database: plan | "
        "docs read p50 / max | look-up p50 / max |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for length, row in result["lengths"].items():
        out, inn, db = row["signed_out"], row["signed_in"], row["database"]
        lines.append(
            f"| {length} letter{'s' if int(length) > 1 else ''} | {out['requests_per_s']} | "
            f"{out['p50_ms']} ms | {out['p99_ms']} ms | {inn['requests_per_s']} | "
            f"{inn['p50_ms']} ms | {inn['p99_ms']} ms | {', '.join(db['plans'])} | "
            f"{db['docs_read_p50']} / {db['docs_read_max']} | "
            f"{db['db_p50_ms']} / {db['db_max_ms']} ms |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--load-seconds", type=float, default=120.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--out", default=str(Path(__file__).with_name("people-search.json")))
    args = parser.parse_args()
    result = asyncio.run(run(args))
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(table(result, args.clients))
    if any(row["database"]["collection_scan"] for row in result["lengths"].values()):
        raise SystemExit("a look-up scanned the collection")


if __name__ == "__main__":
    main()
