"""Search benchmark: seed 100,000 tweets, then time two-word queries (p50/p95).

    .venv/bin/python bench/search.py [--tweets 100000] [--queries 200]

Uses MONGODB_URL when set, else starts an ephemeral embedded SecantusDB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from bson import ObjectId

from server.db import connect, ensure_indexes
from server.embedded import EmbeddedMongo
from server.http import PageQuery
from server.search import engine, query
from server.search.analyzer import index_fields

WORDS = [f"w{i}" for i in range(5000)]  # a Zipf-like vocabulary: few common, many rare
WEIGHTS = [1 / (i + 1) for i in range(len(WORDS))]
TAGS = [f"tag{i}" for i in range(200)]


def fake_tweet(rng: random.Random, now: datetime, i: int) -> dict[str, object]:
    words = rng.choices(WORDS, WEIGHTS, k=rng.randint(5, 25))
    tags = rng.sample(TAGS, rng.randint(0, 2))
    content = " ".join(words + [f"#{t}" for t in tags])
    return {
        "_id": ObjectId(),
        "user_id": f"u{i % 1000}",
        "user_name": f"user{i % 1000}",
        "content": content,
        "html": f"<p>{content}</p>",
        "tags": tags,
        "mentions": [],
        "created_at": now - timedelta(seconds=i),
        "hidden": False,
        **index_fields(content, tags, []),
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tweets", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    embedded = None
    url = os.environ.get("MONGODB_URL")
    if not url:
        embedded = EmbeddedMongo(":memory:")
        url = embedded.start()
    client = connect(url)
    db = client[f"bench_search_{os.getpid()}"]
    try:
        await ensure_indexes(db)
        backend = await engine.choose_backend(db)
        rng, now = random.Random(7), datetime.now(UTC)
        t0 = time.perf_counter()
        batch = 5000
        for start in range(0, args.tweets, batch):
            docs = [fake_tweet(rng, now, i) for i in range(start, min(start + batch, args.tweets))]
            await db.tweets.insert_many(docs, ordered=False)
        print(f"seeded {args.tweets} tweets in {time.perf_counter() - t0:.1f}s ({backend})")
        # Two-word queries over mid-frequency words (the common ones would be stop words).
        for sort in ("relevance", "latest"):
            timings = []
            for _ in range(args.queries):
                a, b = rng.sample(WORDS[20:400], 2)
                q = query.parse(f"{a} {b}")
                t = time.perf_counter()
                await engine.search(
                    db, backend, q, filters=engine.Filters(), sort=sort,  # type: ignore[arg-type]
                    page=PageQuery(limit=20, after=None, skip=0), now=now,
                )  # fmt: skip
                timings.append((time.perf_counter() - t) * 1000)
            p50 = statistics.median(timings)
            p95 = statistics.quantiles(timings, n=20)[18]
            print(f"two-word queries, sort={sort}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    finally:
        await client.drop_database(db.name)
        await client.close()
        if embedded:
            embedded.stop()


if __name__ == "__main__":
    asyncio.run(main())
