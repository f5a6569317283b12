#!/usr/bin/env python3
"""Benchmark: from posting a tweet to the last follower's stored home timeline.

    .venv/bin/python bench/fanout_timeline.py            # both stores, N = 1,000 5,000 10,000
    .venv/bin/python bench/fanout_timeline.py --stores redis --followers 2000 --batch 500

Starts its own SecantusDB (in memory) and, for the Redis store, its own redis-server (no
persistence) on a free port; creates an author with N followers (bulk set-up, not
measured), then posts through Murmur's compose path with the fan-out worker running as in
the app, and reports: how long the post itself took (what the client waits for), and how
long until every follower's stored timeline held the tweet. Each store runs as deployed:
``mongodb`` without REDIS_URL, ``redis`` with it (so the realtime hub publishes through
Redis too). Prints a table and JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bson import ObjectId  # noqa: E402

from server import tweets  # noqa: E402
from server.accounts import Caller  # noqa: E402
from server.app import create_app  # noqa: E402
from server.effects import timelines  # noqa: E402
from server.embedded import EmbeddedMongo  # noqa: E402
from server.models import UserMetadata  # noqa: E402
from server.services import Services  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store import users as user_store  # noqa: E402
from tests.servers import RedisServer  # noqa: E402


async def make_author(svc: Services, followers: int, tag: str) -> Caller:
    """An author with ``followers`` followers, written in bulk (set-up, not measured)."""
    now = datetime.now(UTC)
    author = await user_store.create(
        svc.db, user_name=f"author_{tag}", email=f"author_{tag}@bench.local",
        password_hash=None, metadata=UserMetadata(), now=now, email_verified=True,
    )  # fmt: skip
    ids = [ObjectId() for _ in range(followers)]
    for start in range(0, followers, 5000):
        chunk = ids[start : start + 5000]
        await svc.db.users.insert_many([
            {"_id": i, "user_name": f"f{tag}_{i}", "user_name_lower": f"f{tag}_{i}",
             "email": f"{i}@bench.local", "email_lower": f"{i}@bench.local",
             "password_hash": None, "email_verified": True, "user_metadata": {},
             "created_at": now, "follower_count": 0, "following_count": 1, "tweet_count": 0}
            for i in chunk
        ])  # fmt: skip
        await svc.db.follows.insert_many([
            {"follower": str(i), "followee": author.id, "created_at": now} for i in chunk
        ])  # fmt: skip
    await user_store.add_to_counter(
        svc.db, user_id=author.id, field="follower_count", delta=followers
    )
    return Caller(author, "bench")


async def measure(svc: Services, followers: int, runs: int) -> dict[str, Any]:
    caller = await make_author(svc, followers, f"{followers}_{time.monotonic_ns()}")
    posts, totals = [], []
    for run in range(runs):
        start = time.perf_counter()
        tweet, _ = await tweets.compose(svc, caller, f"benchmark post {run} #bench")
        posted = time.perf_counter()
        assert svc.outbox is not None
        await svc.outbox.drain()  # waits for the background worker's batch, runs any left
        done = time.perf_counter()
        stored = len(await svc.timelines.owners_of(tweet_id=ObjectId(tweet.tweet_id)))
        assert stored == followers + 1, (stored, followers)  # and the author's own
        posts.append((posted - start) * 1000)
        totals.append((done - start) * 1000)
    return {
        "store": svc.timelines.name,
        "followers": followers,
        "post_ms": round(min(posts), 1),
        "to_last_follower_ms": round(min(totals), 1),
        "to_last_follower_ms_max": round(max(totals), 1),
        "entries_per_s": round(followers / (min(totals) / 1000)),
    }


async def run_store(args: argparse.Namespace, mongo_url: str, store: str) -> list[dict[str, Any]]:
    redis = RedisServer().start() if store == "redis" else None
    try:
        settings = Settings(
            environment="test", mongodb_url=mongo_url, mongodb_db=f"bench_{store}",
            data_dir=Path("/tmp"), jwt_secret="bench-" + "x" * 40, rate_limits_enabled=False,
            fanout_max_followers=max(args.followers) + 1, log_level="WARNING",
            redis_url=redis.url if redis else None, timeline_store=store,
        )  # fmt: skip
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            svc: Services = app.state.services
            timelines.BATCH = args.batch  # followers per timeline write and per event
            return [await measure(svc, n, args.runs) for n in args.followers]
    finally:
        if redis is not None:
            redis.kill()


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    server = EmbeddedMongo(":memory:")
    url = server.start()
    try:
        return [r for store in args.stores for r in await run_store(args, url, store)]
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="POST → last follower's timeline latency")
    parser.add_argument("--followers", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1000, help="fan-out batch size")
    stores = ["mongodb", "redis"]
    parser.add_argument("--stores", nargs="+", choices=stores, default=stores)
    results = asyncio.run(main_async(parser.parse_args()))
    print(f"{'store':>8} {'followers':>10} {'post ms':>9} {'→ last follower ms':>19} "
          f"{'entries/s':>10}")  # fmt: skip
    for r in results:
        print(f"{r['store']:>8} {r['followers']:>10,} {r['post_ms']:>9} "
              f"{r['to_last_follower_ms']:>19} {r['entries_per_s']:>10,}")  # fmt: skip
    print(json.dumps(results))


if __name__ == "__main__":
    main()
