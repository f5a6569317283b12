"""Search benchmark: seed tweets in bulk, then time two-word queries (p50/p95/p99).

    .venv/bin/python bench/search.py [--tweets 100000] [--queries 100]

Uses MONGODB_URL when set, else an embedded SecantusDB in a temporary directory. Tweets are made
through the app's analyzer and indexed with ``postings.bulk_load`` (what the app builds one
tweet at a time), one tweet a second over the last ``--tweets`` seconds. Words follow a
Zipf-like curve over a 5,000-word vocabulary; the 20 most frequent stand for stop words and
are never queried. "common" words are ranks 20-100 (each in ~1.5-7% of tweets), "rare"
ones ranks 1,000-5,000 (each in ~0.03-0.15%).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from server.db import connect, ensure_indexes
from server.embedded import EmbeddedMongo
from server.http import PageQuery
from server.search import engine, query
from server.search.analyzer import index_fields
from server.store import postings

WORDS = [f"w{i}" for i in range(5000)]
CUMULATIVE = list(itertools.accumulate(1 / (i + 1) for i in range(len(WORDS))))
TAGS = [f"tag{i}" for i in range(200)]
COMMON, RARE = WORDS[20:100], WORDS[1000:]
KINDS = {
    "common+rare": (COMMON, RARE),
    "rare+rare": (RARE, RARE),
    "common+common": (COMMON, COMMON),
}


def fake_tweet(rng: random.Random, now: datetime, i: int) -> dict[str, object]:
    words = rng.choices(WORDS, cum_weights=CUMULATIVE, k=rng.randint(5, 25))
    tags = rng.sample(TAGS, rng.randint(0, 2))
    content = " ".join(words + [f"#{t}" for t in tags])
    created = now - timedelta(seconds=i)
    return {
        # An id from the creation time, as the app's ObjectId() would have made it.
        "_id": ObjectId(ObjectId.from_datetime(created).binary[:4] + rng.randbytes(8)),
        "user_id": f"u{i % 1000}",
        "user_name": f"user{i % 1000}",
        "content": content,
        "html": f"<p>{content}</p>",
        "tags": tags,
        "mentions": [],
        "created_at": created,
        "hidden": False,
        **index_fields(content, tags, []),
    }


def percentiles(timings: list[float]) -> str:
    cuts = statistics.quantiles(timings, n=100, method="inclusive")
    return f"p50 {cuts[49]:6.1f} ms   p95 {cuts[94]:6.1f} ms   p99 {cuts[98]:6.1f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tweets", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100, help="per kind and sort")
    args = parser.parse_args()
    embedded = None
    url = os.environ.get("MONGODB_URL")
    if not url:
        # On disk: 100,000 tweets and their oplog overflow the in-memory engine's cache.
        storage = tempfile.TemporaryDirectory(prefix="murmur-bench-")
        embedded = EmbeddedMongo(storage.name)
        url = embedded.start()
    client = connect(url)
    db = client[f"bench_search_{os.getpid()}"]
    try:
        await ensure_indexes(db)
        backend = await engine.choose_backend(db)
        rng, now = random.Random(7), datetime.now(UTC)
        t0 = time.perf_counter()
        tweets = []
        for start in range(0, args.tweets, 5000):
            batch = [fake_tweet(rng, now, i) for i in range(start, min(start + 5000, args.tweets))]
            await db.tweets.insert_many(batch, ordered=False)
            tweets += [{k: d[k] for k in ("_id", "user_id", "created_at", "terms")} for d in batch]
        seeded = time.perf_counter() - t0
        if backend == "keyword":
            await postings.bulk_load(db, tweets)
        indexed = time.perf_counter() - t0 - seeded
        print(f"{args.tweets} tweets: inserted in {seeded:.0f} s, postings in {indexed:.0f} s")
        print(f"back-end: {backend}; {args.queries} queries per line, first page of 20")
        for sort in ("relevance", "latest"):
            for kind, (left, right) in KINDS.items():
                timings = []
                for _ in range(args.queries):
                    a, b = rng.choice(left), rng.choice(right)
                    while b == a:
                        b = rng.choice(right)
                    t = time.perf_counter()
                    await engine.search(
                        db, backend, query.parse(f"{a} {b}"), filters=engine.Filters(),
                        sort=sort,  # type: ignore[arg-type]
                        page=PageQuery(limit=20, after=None, skip=0), now=now,
                    )  # fmt: skip
                    timings.append((time.perf_counter() - t) * 1000)
                print(f"{sort:9} {kind:13}  {percentiles(timings)}")
    finally:
        await client.drop_database(db.name)
        await client.close()
        if embedded:
            embedded.stop()
            storage.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
