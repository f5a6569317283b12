"""The events the social features hand to the hub: which streams, which models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import TypeAdapter

from realtime.channels import (
    hashtag_stream,
    home_stream,
    notifications_stream,
    public_stream,
    tweet_stream,
    user_stream,
)
from server.events import Event, _Event


class Recorder:
    """Stands in for the hub's publisher at the ``Services.publish`` seam."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def publish(self, streams: Sequence[str], event: _Event, once: str | None = None) -> None:
        payload = TypeAdapter(Event).validate_json(event.model_dump_json()).model_dump(mode="json")
        self.sent += [(s, payload) for s in streams]

    async def publish_many(self, events: Sequence[Any]) -> None:
        for streams, event, once in events:
            await self.publish(streams, event, once)

    def on(self, stream: str) -> list[str]:
        return [p["event"] for s, p in self.sent if s == stream]


async def test_events_reach_the_right_streams(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    rec = Recorder()
    svc.events = rec
    author, fan = await make_user(), await make_user()
    await client.post(f"/users/{author.id}/follow", headers=fan.headers)
    t = await make_tweet(author, "hello #Murmur")
    tid = t["tweet_id"]
    await drain()
    for stream in (home_stream(fan.id), home_stream(author.id), user_stream(author.id),
                   public_stream(), hashtag_stream("murmur")):  # fmt: skip
        assert rec.on(stream) == ["tweet.created"], stream
    await client.post(f"/tweets/{tid}/likes", headers=fan.headers)
    await client.post(f"/tweets/{tid}/comments", json={"content": "hi"}, headers=fan.headers)
    assert rec.on(tweet_stream(tid)) == ["tweet.counts", "reply.created", "tweet.counts"]
    assert rec.on(notifications_stream(author.id)) == [
        "notification.created", "notification.created", "notification.created",
    ]  # fmt: skip
    await client.patch(f"/tweets/{tid}", json={"content": "edited"}, headers=author.headers)
    # (Drain between: an edit whose tweet is gone by the time the worker runs is not announced.)
    await drain()
    await client.delete(f"/tweets/{tid}", headers=author.headers)
    await drain()
    assert rec.on(home_stream(fan.id))[-2:] == ["tweet.updated", "tweet.deleted"]
    assert rec.on(tweet_stream(tid))[-2:] == ["tweet.updated", "tweet.deleted"]
    counts = [p["data"] for s, p in rec.sent if p["event"] == "tweet.counts"]
    assert counts[0] == {
        "tweet_id": tid, "user_id": author.id, "like_count": 1, "reply_count": 0,
        "repost_count": 0, "quote_count": 0,
    }  # fmt: skip


async def test_big_authors_publish_only_to_their_own_streams(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    svc.settings.fanout_max_followers = 0
    rec = Recorder()
    svc.events = rec
    author, fan = await make_user(), await make_user()
    await client.post(f"/users/{author.id}/follow", headers=fan.headers)
    await make_tweet(author, "big news")
    await drain()
    assert rec.on(home_stream(fan.id)) == []
    assert rec.on(user_stream(author.id)) == ["tweet.created"]
