"""Reads of the same moment share a Redis pipeline (``server/redisslots.py:shared_execute``):
each gets exactly its own replies, one read's error is its own, and a lone read goes at once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from redis.exceptions import ResponseError

from realtime.redis_backend import connect_redis
from server.redisslots import shared_execute
from tests.redisrounds import round_trips


async def test_concurrent_reads_share_round_trips_and_keep_their_own_replies(
    redis_server: Any,
) -> None:
    redis = connect_redis(redis_server.url)
    run = uuid.uuid4().hex
    try:
        await redis.mset({f"{run}:{i}": f"v{i}" for i in range(40)})
        await redis.rpush(f"{run}:list", "x")

        def reads(i: int) -> Any:
            def queue(pipe: Any) -> None:
                pipe.get(f"{run}:{i}")
                pipe.mget([f"{run}:{i + 1}", f"{run}:missing"])

            return queue

        with round_trips(redis) as sent:
            assert await shared_execute(redis, reads(0)) == ["v0", ["v1", None]]  # alone
            assert len(sent) == 1
            outcomes = await asyncio.gather(
                *(shared_execute(redis, reads(i)) for i in range(1, 30)),
                # A command that fails (GET on a list): only its own read hears it.
                shared_execute(redis, lambda pipe: pipe.get(f"{run}:list")),
                return_exceptions=True,
            )
        assert outcomes[:29] == [[f"v{i}", [f"v{i + 1}", None]] for i in range(1, 30)]
        assert isinstance(outcomes[29], ResponseError)
        assert 1 < len(sent) <= 3, sent  # the 30 that came together: two pipelines at most
        with pytest.raises(ResponseError):
            await shared_execute(redis, lambda pipe: pipe.get(f"{run}:list"))
    finally:
        await redis.delete(*[f"{run}:{i}" for i in range(40)], f"{run}:list")
        await redis.aclose()


async def test_a_read_whose_queueing_fails_fails_alone(redis_server: Any) -> None:
    """A part that raises while queueing (a bug of its own) gets that error; the reads
    sharing its pipeline get their replies, aligned as if it had not been there."""
    redis = connect_redis(redis_server.url)
    run = uuid.uuid4().hex
    try:
        await redis.mset({f"{run}:a": "1", f"{run}:b": "2"})

        def broken(pipe: Any) -> None:
            pipe.get(f"{run}:a")  # queued, then taken back
            raise ValueError("a bug in this read")

        outcomes = await asyncio.gather(
            shared_execute(redis, lambda pipe: pipe.get(f"{run}:a")),
            shared_execute(redis, broken),
            shared_execute(redis, lambda pipe: pipe.get(f"{run}:b")),
            return_exceptions=True,
        )
        assert outcomes[0] == ["1"] and outcomes[2] == ["2"]
        assert isinstance(outcomes[1], ValueError)
    finally:
        await redis.delete(f"{run}:a", f"{run}:b")
        await redis.aclose()
