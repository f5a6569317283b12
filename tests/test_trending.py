"""Trending hashtags and users with a controlled clock, and a hashtag's timeline."""

from __future__ import annotations

from typing import Any

import pytest

from server.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"rate_limits_enabled": False, "access_token_ttl_seconds": 30 * 86400}
    )


async def post_many(client: Any, user: Any, content: str, n: int) -> None:
    for _ in range(n):
        r = await client.post("/tweets", json={"content": content}, headers=user.headers)
        assert r.status_code == 201, r.text


async def top(client: Any, window: str = "24h", **params: Any) -> list[tuple[str, int]]:
    r = await client.get("/tags/trending", params={"window": window, **params})
    assert r.status_code == 200, r.text
    return [(i["tag"], i["count"]) for i in r.json()["items"]]


# Scores are linear in counts (server/trending.py), so 20 against 6 tests what 100 against 30
# would, in a fifth of the posts.
async def test_a_burst_now_beats_a_bigger_one_a_week_ago(client, make_user, clock):
    u = await make_user()
    await post_many(client, u, "#OldNews again", 20)
    clock.advance(days=7)
    await post_many(client, u, "#fresh take", 6)
    assert await top(client, "24h") == [("fresh", 6)]
    assert await top(client, "1h") == [("fresh", 6)]


async def test_decay_inside_the_window(client, make_user, clock):
    u = await make_user()
    await post_many(client, u, "#early bird", 20)
    clock.advance(hours=20)
    await post_many(client, u, "#late riser", 6)
    assert await top(client, "24h") == [("late", 6), ("early", 20)]
    r = await client.get("/tags/trending", params={"window": "24h"})
    late, early = r.json()["items"]
    assert late["score"] > early["score"] > 0
    # An hour later #early falls out of the 1h window entirely.
    assert await top(client, "1h") == [("late", 6)]
    clock.advance(hours=2)
    assert await top(client, "1h") == []


async def test_counts_follow_edits_and_deletes(client, make_user, make_tweet):
    u = await make_user()
    a = await make_tweet(u, "#one and #two")
    await make_tweet(u, "#two again")
    assert await top(client) == [("two", 2), ("one", 1)]
    r = await client.patch(
        f"/tweets/{a['tweet_id']}", json={"content": "#three now"}, headers=u.headers
    )
    assert r.status_code == 200
    assert sorted(await top(client)) == [("three", 1), ("two", 1)]
    # The hashtag timelines follow the edit too (the tweet's ``links``).
    for tag, expected in (("one", []), ("three", [a["tweet_id"]])):
        r = await client.get(f"/tags/{tag}/tweets")
        assert [t["tweet_id"] for t in r.json()["items"]] == expected, tag
    assert (await client.delete(f"/tweets/{a['tweet_id']}", headers=u.headers)).status_code == 204
    assert await top(client) == [("two", 1)]


async def test_limit_and_bad_parameters(client, make_user, make_tweet):
    u = await make_user()
    await make_tweet(u, "#a #b #c")
    assert len(await top(client, limit=2)) == 2
    for params in ({"window": "7d"}, {"limit": "0"}, {"limit": "x"}):
        r = await client.get("/tags/trending", params=params)
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "validation_error"


async def test_trending_users_rank_by_new_followers_and_engagement(client, make_user, clock):
    author, star, rising = [await make_user(n) for n in ("author", "star", "rising")]
    fans = [await make_user() for _ in range(3)]
    await make_user("quiet")
    for fan in fans:  # three new followers for rising
        r = await client.post(f"/users/{rising.id}/follow", headers=fan.headers)
        assert r.status_code == 200, r.text
    await post_many(client, author, "hello @star and @rising", 1)  # a mention each
    r = await client.post("/tweets", json={"content": "I am the star"}, headers=star.headers)
    star_tweet = r.json()["tweet_id"]
    r = await client.post(f"/tweets/{star_tweet}/likes", headers=author.headers)
    assert r.status_code == 200, r.text
    r = await client.post(
        f"/tweets/{star_tweet}/comments", json={"content": "agreed"}, headers=fans[0].headers
    )
    assert r.status_code == 201, r.text
    r = await client.get("/users/trending")
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["user"]["user_name"] for i in items] == ["rising", "star"]
    assert (items[0]["new_followers"], items[0]["engagement"]) == (3, 1)
    assert (items[1]["new_followers"], items[1]["engagement"]) == (0, 3)
    clock.advance(days=2)
    assert (await client.get("/users/trending")).json()["items"] == []


async def test_a_hashtag_timeline_is_newest_first_and_paged(client, make_user, make_tweet):
    u = await make_user()
    for i in range(3):
        await make_tweet(u, f"#Cats number {i}")
    await make_tweet(u, "#dogs only")
    r = await client.get("/tags/CATS/tweets", params={"limit": 2})
    assert [t["content"] for t in r.json()["items"]] == ["#Cats number 2", "#Cats number 1"]
    r = await client.get(
        "/tags/cats/tweets", params={"limit": 2, "cursor": r.json()["next_cursor"]}
    )
    assert [t["content"] for t in r.json()["items"]] == ["#Cats number 0"]
    assert r.json()["next_cursor"] is None


@pytest.mark.parametrize("path", ["/tags/%23/tweets", "/tags/%23%23/tweets"])
async def test_a_hashtag_timeline_needs_a_tag(client, path):
    r = await client.get(path)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_tag"
