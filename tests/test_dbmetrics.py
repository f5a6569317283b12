"""Database command monitoring: every command is counted and timed on /metrics."""

from __future__ import annotations

from typing import Any

from server.dbmetrics import collection_of, commands_in


async def test_a_request_moves_the_command_counters_on_metrics(
    client: Any, make_tweet: Any, make_user: Any
) -> None:
    user = await make_user()
    tweet = await make_tweet(user, "counted")
    before = commands_in((await client.get("/metrics")).text)

    r = await client.get(f"/tweets/{tweet['tweet_id']}")
    assert r.status_code == 200, r.text

    page = await client.get("/metrics")
    assert page.status_code == 200
    after = commands_in(page.text)
    moved = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    assert moved.get(("find", "tweets"), 0) >= 1, moved
    assert "murmur_db_command_seconds_bucket" in page.text
    assert 'murmur_db_command_seconds_count{command="find"}' in page.text


def test_collection_names_come_from_the_command() -> None:
    assert collection_of("find", {"find": "tweets", "filter": {}}) == "tweets"
    assert collection_of("getMore", {"getMore": 12, "collection": "likes"}) == "likes"
    assert collection_of("ping", {"ping": 1}) == ""
    assert collection_of("saslStart", {}) == ""
