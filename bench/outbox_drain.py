"""How fast one outbox worker drains pending tweets, and where its database time goes.

Starts an embedded SecantusDB (on disk) and a redis-server, stores ``--users`` authors with
5 followers each, posts ``--tweets`` tweets with no worker running, then drains them with
one worker and prints the time, tweets/s and database milliseconds by (command, collection).

    .venv/bin/python bench/outbox_drain.py --tweets 300
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pymongo import monitoring  # noqa: E402

from bench.stack import proc_stats  # noqa: E402
from server import tweets  # noqa: E402
from server.accounts import Caller  # noqa: E402
from server.app import create_app  # noqa: E402
from server.embedded import EmbeddedMongo  # noqa: E402
from server.outbox import Outbox  # noqa: E402
from server.settings import Settings  # noqa: E402
from server.store import follows as follow_store  # noqa: E402
from server.store import users as user_store  # noqa: E402
from tests.servers import RedisServer  # noqa: E402


class Timings(monitoring.CommandListener):
    """Milliseconds and counts by (command, collection)."""

    def __init__(self) -> None:
        self.ms: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.count: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._open: dict[int, tuple[str, str]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        self._open[event.request_id] = (
            event.command_name,
            target if isinstance(target, str) else "",
        )

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        key = self._open.pop(event.request_id, ("?", ""))
        self.ms[key] += event.duration_micros / 1000
        self.count[key] += 1

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._open.pop(event.request_id, None)


async def run(args: argparse.Namespace, timings: Timings) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="murmur-outbox-"))
    mongo, redis = EmbeddedMongo(workdir / "db"), RedisServer().start()
    url = mongo.start()
    try:
        settings = Settings(
            environment="test", mongodb_url=url, mongodb_db="outbox_bench", data_dir=workdir,
            jwt_secret="bench-" + "x" * 40, rate_limits_enabled=False, redis_url=redis.url,
            run_worker=False, log_level="WARNING",
        )  # fmt: skip
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            svc = app.state.services
            now, n = datetime.now(UTC), args.users
            docs = [
                {"user_name": f"u{i}", "user_name_lower": f"u{i}", "email": f"u{i}@x.io",
                 "email_lower": f"u{i}@x.io", "password_hash": "x", "created_at": now,
                 "role": "user", "email_verified": True, "follower_count": 5,
                 "following_count": 5, "tweet_count": 0, "user_metadata": {}}
                for i in range(n)
            ]  # fmt: skip
            ids = [str(i) for i in (await svc.db.users.insert_many(docs)).inserted_ids]
            edges = [(ids[(i + k) % n], ids[i]) for i in range(n) for k in range(1, 6)]
            await follow_store.add_many(svc.db, edges=edges, now=now)
            users = [await user_store.by_id(svc.db, user_id=i) for i in ids]
            for k in range(args.tweets):
                author = users[k % n]
                assert author is not None
                await tweets.compose(svc, Caller(author, "bench"), f"post {k} #bench hello world")
            timings.ms.clear()
            timings.count.clear()
            # Announced, so a profiler can be attached to the database for the drain alone.
            print(f"draining (database pid {mongo.process.pid})", file=sys.stderr, flush=True)
            await asyncio.sleep(args.pause)
            start, cpu0, app0 = time.perf_counter(), _cpu(mongo), time.process_time()
            await Outbox(svc, batch_size=args.batch).drain()
            seconds, db_cpu = time.perf_counter() - start, _cpu(mongo) - cpu0
            app_cpu = time.process_time() - app0
    finally:
        redis.kill()
        mongo.stop()
    top = sorted(timings.ms.items(), key=lambda kv: -kv[1])[:12]
    total_ms, total_n = sum(timings.ms.values()), sum(timings.count.values())
    return {
        "tweets": args.tweets,
        "seconds": round(seconds, 2),
        "tweets_per_second": round(args.tweets / seconds, 1),
        "db_total": [round(total_ms, 1), total_n],
        "db_cpu_ms_per_tweet": round(db_cpu * 1000 / args.tweets, 2),
        "app_cpu_ms_per_tweet": round(app_cpu * 1000 / args.tweets, 2),
        "db_ms": {f"{c} {coll}": [round(ms, 1), timings.count[c, coll]] for (c, coll), ms in top},
    }


def _cpu(mongo: EmbeddedMongo) -> float:
    """CPU seconds the database process used so far."""
    assert mongo.process is not None
    return proc_stats(mongo.process.pid)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", type=int, default=300)
    parser.add_argument("--users", type=int, default=32)
    parser.add_argument("--batch", type=int, default=100, help="the worker's first batch size")
    parser.add_argument("--pause", type=float, default=0.0, help="s before draining (profilers)")
    args = parser.parse_args()
    timings = Timings()
    monitoring.register(timings)
    result = asyncio.run(run(args, timings))
    print(f"{result['tweets']} tweets drained in {result['seconds']} s "
          f"({result['tweets_per_second']}/s); database ms and commands:")  # fmt: skip
    ms, count = result["db_total"]
    print(f"  database CPU {result['db_cpu_ms_per_tweet']} ms a tweet, "
          f"worker (this process) {result['app_cpu_ms_per_tweet']} ms")  # fmt: skip
    print(f"  {ms:8.1f} ms  {count:4d}  all commands ({count / result['tweets']:.2f} a tweet)")
    for name, (ms, count) in result["db_ms"].items():
        print(f"  {ms:8.1f} ms  {count:4d}  {name}")


if __name__ == "__main__":
    main()
