"""The database's raw ceilings: single operations through PyMongo async with no app in
between, at the benchmark's concurrency, so REST figures can be read as a share of them."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bson import ObjectId

from bench.stack import pct

PER_KEY = 100  # documents under each key of the indexed page query
CEILINGS = {
    "insert_one": "`insert_one` (a tweet-sized document, no secondary index)",
    "find_one": "`find_one` by `_id`",
    "find_page": f"`find({{key}}).sort(_id: -1).limit(20)` on index (key, _id), {PER_KEY} per key",
    "update_one": "`update_one` by `_id`, `$inc`",
    "insert_one_noretry": "`insert_one`, retryable writes off (the embedded database's URL)",
    "update_one_noretry": "`update_one`, retryable writes off",
}


def _doc(key: int) -> dict[str, Any]:
    return {
        "_id": ObjectId(),
        "key": key,
        "user_name": f"bench{key}",
        "content": "a tweet-sized text " * 6,
        "html": "<p>" + "a tweet-sized text " * 6 + "</p>",
        "tags": ["bench"],
        "n": 0,
    }


async def _loop(
    op: Callable[[random.Random], Awaitable[Any]], concurrency: int, seconds: float
) -> dict[str, float]:
    latencies: list[float] = []
    stop = time.perf_counter() + seconds
    start = time.perf_counter()

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            await op(rng)
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "ops_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(pct(latencies, 50) * 1000, 1),
        "p99_ms": round(pct(latencies, 99) * 1000, 1),
    }


async def measure_ceilings(
    mongo_url: str, db_name: str, concurrency: int, seconds: float
) -> dict[str, dict[str, float]]:
    """ops/s and latency of each raw operation, ``concurrency`` at a time for ``seconds``."""
    from pymongo import DESCENDING, AsyncMongoClient

    # The driver's defaults (retryable writes on), whatever the URL says: the ceilings the
    # ratios are taken against. The app's embedded URL turns retryable writes off
    # (server/embedded.py); the ``_noretry`` rows measure the database that way, last.
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_url, maxPoolSize=max(100, concurrency), retryWrites=True
    )
    plain: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo_url, maxPoolSize=max(100, concurrency), retryWrites=False
    )
    try:
        db = client[db_name]
        await client.drop_database(db_name)
        docs = [_doc(k) for k in range(concurrency) for _ in range(PER_KEY)]
        await db.docs.insert_many(docs)
        await db.docs.create_index([("key", 1), ("_id", DESCENDING)], name="by_key")
        ids = [d["_id"] for d in docs]

        async def insert_one(rng: random.Random) -> None:
            await db.inserts.insert_one(_doc(rng.randrange(concurrency)))

        async def find_one(rng: random.Random) -> None:
            await db.docs.find_one({"_id": rng.choice(ids)})

        async def find_page(rng: random.Random) -> None:
            query = {"key": rng.randrange(concurrency)}
            await db.docs.find(query).sort("_id", -1).limit(20).to_list(20)

        async def update_one(rng: random.Random) -> None:
            await db.docs.update_one({"_id": rng.choice(ids)}, {"$inc": {"n": 1}})

        async def insert_one_noretry(rng: random.Random) -> None:
            await plain[db_name].inserts.insert_one(_doc(rng.randrange(concurrency)))

        async def update_one_noretry(rng: random.Random) -> None:
            await plain[db_name].docs.update_one({"_id": rng.choice(ids)}, {"$inc": {"n": 1}})

        ops = {"insert_one": insert_one, "find_one": find_one, "find_page": find_page,
               "update_one": update_one, "insert_one_noretry": insert_one_noretry,
               "update_one_noretry": update_one_noretry}  # fmt: skip
        result = {}
        for name, op in ops.items():
            result[name] = await _loop(op, concurrency, seconds)
        await client.drop_database(db_name)
        return result
    finally:
        await client.close()
        await plain.close()
