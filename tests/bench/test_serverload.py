"""bench/serverload.py: the Redis and database load a tweet costs, read from real servers.

A real ``murmur serve`` (running its own worker) on a real redis-server and the session's
SecantusDB: two tweets to two followers must show up as exactly what the server did for
them, and the benchmark's own ``INFO`` and polls must not.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx

from bench.serverload import RedisNode, ServerLoad, idle_rates, report
from bench.stack import SECRET, add_followers, make_users
from tests.servers import RedisServer


def test_a_tweets_redis_and_database_commands_are_counted_per_tweet(
    live_app: Any, mongo_url: str, db_name: str
) -> None:
    redis = RedisServer().start()  # its own: nothing else's commands in its counters
    try:
        app = live_app(redis_url=redis.url, JWT_SECRET=SECRET)
        users = asyncio.run(make_users(mongo_url, db_name, 3))
        (author, token), fans = users[0], [uid for uid, _ in users[1:]]
        asyncio.run(add_followers(mongo_url, db_name, author, fans))
        assert redis.pid is not None
        load = ServerLoad(
            [RedisNode("redis", redis.port, redis.pid)], mongo_url, os.getpid(), [app.url],
            db_name=db_name,
        )  # fmt: skip
        try:
            assert load.settle(10)
            quiet = load.snapshot()
            idle = idle_rates(quiet, load.snapshot())
            assert "info" not in idle["redis_by_command_masters"]  # the benchmark's own
            before = load.snapshot()
            auth = {"Authorization": f"Bearer {token}"}
            for n in range(2):
                r = httpx.post(f"{app.url}/tweets", json={"content": f"t {n}"}, headers=auth)
                assert r.status_code == 201, r.text
            assert load.settle(15)
            after = load.snapshot()
            found = report(before, after, 2, None, drained=True)
            sizes = load.key_sizes()
        finally:
            load.close()
    finally:
        redis.kill()

    per = found["per_tweet"]
    # The request's own writes, from the web process's /metrics: one tweet, one outbox entry.
    assert per["web_db_by_command"]["insert tweets"] == 1.0
    assert per["web_db_by_command"]["insert outbox"] == 1.0
    # The database saw at least those (plus the worker's), minus the benchmark's polls.
    assert per["db_ops"]["insert"] >= 2.0
    assert found["raw"]["db_commands"] >= 2 * (2 + 1)  # each tweet: its writes, the worker's
    # Each follower's home log and the author's own home and user logs got the tweet.
    redis_commands = per["redis_by_command_masters"]
    assert redis_commands["xadd"] >= len(fans) + 2
    assert "info" not in redis_commands
    assert found["per_1000_tweets_per_second"]["redis_commands_per_second"] == round(
        per["redis_commands"] * 1000
    )
    # Every home log holds both tweets; the sizes are the real keys'.
    assert sizes["home_log"]["keys"] >= len(fans) + 1
    assert sizes["home_log"]["entries_per_key"] == 2.0
    assert sizes["home_log"]["bytes_per_entry"] > 0
    assert sizes["timeline"]["keys"] >= len(fans)

    # Background work is taken out at its rate over the phase's window.
    raw, window = found["raw"]["db_commands"], found["window_seconds"]
    busy = report(before, after, 2, {"db_commands": 1.0}, drained=True)
    assert busy["per_tweet"]["db_commands"] == round((raw - 1.0 * (after.at - before.at)) / 2, 1)
    assert window > 0
