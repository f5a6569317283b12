"""The demo seed's bulk path leaves the invariants the request path keeps."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import httpx
import pytest

from scripts import demo_network as demo
from server.services import Services
from server.settings import Settings
from tests.social.conftest import TIMELINE_STORES

pytestmark = pytest.mark.parametrize("timeline_store", TIMELINE_STORES, indirect=True)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"fanout_max_followers": 10, "timeline_max_entries": 50})


async def test_seed_writes_a_consistent_network(client: httpx.AsyncClient, svc: Services) -> None:
    net = await demo.seed(svc, n_users=30, n_tweets=300, rng=random.Random(7))
    db = svc.db
    assert len(net.users) == 30 and net.tweets + net.replies == 330

    follows = [d async for d in db.follows.find({})]
    tweets = [d async for d in db.tweets.find({})]
    likes = [d async for d in db.likes.find({})]
    followers = Counter(d["followee"] for d in follows)
    following = Counter(d["follower"] for d in follows)
    written = Counter(d["user_id"] for d in tweets)
    for user in net.users:
        assert user.follower_count == followers[user.id], user.user_name
        assert user.following_count == following[user.id], user.user_name
        assert user.tweet_count == written[user.id], user.user_name
    liked = Counter(d["tweet_id"] for d in likes)
    replied = Counter(d["in_reply_to"] for d in tweets if d["in_reply_to"])
    for t in tweets:
        assert t["like_count"] == liked[str(t["_id"])]
        assert t["reply_count"] == replied[str(t["_id"])]
    assert len(likes) == net.likes and len(follows) == net.follows

    # The star is on the pull path; stored timelines respect the cap.
    star = net.users[0]
    assert star.user_name == demo.STAR
    assert star.follower_count > svc.settings.fanout_max_followers
    counts = [await svc.timelines.count(owner=u.id) for u in net.users]
    assert any(counts) and max(counts) <= svc.settings.timeline_max_entries

    # Notifications: one per follow, none about yourself.
    notes = [d async for d in db.notifications.find({})]
    assert sum(n["kind"] == "follow" for n in notes) == len(follows)
    assert all(n["recipient"] != n["actor_id"] for n in notes)

    # A fan signs in and reads a home timeline: newest first, with the star's tweets.
    fan = next(u for u in net.users[1:] if star.id in {d["followee"] for d in follows
                                                       if d["follower"] == u.id})  # fmt: skip
    r = await client.post("/auth/login", json={"user_name": fan.user_name,
                                                "password": demo.PASSWORD})  # fmt: skip
    assert r.status_code == 200, r.text
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(3):
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/tweets/following", params=params, headers=headers)
        assert r.status_code == 200, r.text
        seen += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    ids = [t["tweet_id"] for t in seen]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert star.id in {t["user_id"] for t in seen}
    followed = {d["followee"] for d in follows if d["follower"] == fan.id} | {fan.id}
    assert {t["user_id"] for t in seen} <= followed
    newest = sorted((t for t in tweets if t["user_id"] in followed), key=lambda t: t["_id"])
    assert ids[:50] == [str(t["_id"]) for t in reversed(newest)][:50]

    # Search and trending see the seeded tweets.
    r = await client.get("/search/tweets", params={"q": "#python", "sort": "latest"})
    assert r.status_code == 200 and r.json()["items"]
    r = await client.get("/tags/trending")
    assert r.status_code == 200 and r.json()["items"]
    # Tag search counts them, exactly (the seed's bulk path), and finds seeded people.
    r = await client.get("/tags/search", params={"q": "pyth"})
    python = sum("python" in t.get("tags", []) for t in tweets)
    assert r.status_code == 200 and {"tag": "python", "count": python} in r.json()["items"]
    r = await client.get("/users/search", params={"q": "ad", "limit": 1})
    assert [u["user_name"] for u in r.json()["items"]] == [demo.STAR]  # the most followed
