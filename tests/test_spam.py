"""The spam screen queues suspicious tweets for review; it never blocks them."""

from __future__ import annotations

from typing import Any

import pytest

from server import spam
from server.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "admin_emails": ["boss@example.com"],
            "rate_limits_enabled": False,
            "access_token_ttl_seconds": 30 * 86400,
        }
    )


async def queued(client: Any, admin: Any) -> list[tuple[str, str, str]]:
    r = await client.get("/moderation/reports", headers=admin.headers)
    assert r.status_code == 200, r.text
    return [(i["tweet"]["content"], i["reason"], i["reporter_id"]) for i in r.json()["items"]]


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        ("deals http://a.io http://b.io https://c.io www.d.io", "link_flood"),
        ("hey @aaa @bbb @ccc @ddd @eee @fff", "mention_storm"),
    ],
)
async def test_rules_queue_the_tweet_for_review(client, make_user, make_tweet, content, rule):
    boss, spammer = await make_user("boss"), await make_user()
    await make_tweet(spammer, content)  # posted (201) all the same
    assert await queued(client, boss) == [(content, f"spam:{rule}", "system")]


async def test_repeated_identical_posts(client, make_user, make_tweet, clock):
    boss, spammer = await make_user("boss"), await make_user()
    for _ in range(3):
        await make_tweet(spammer, "buy my stuff")
    assert await queued(client, boss) == [("buy my stuff", "spam:repeated_post", "system")]
    # The same words a day later are fine again.
    clock.advance(hours=25)
    await make_tweet(spammer, "buy my stuff")
    assert len(await queued(client, boss)) == 1


async def test_ordinary_tweets_pass(client, make_user, make_tweet):
    boss, u = await make_user("boss"), await make_user()
    await make_tweet(u, "a link https://example.com and @boss, twice: https://example.org")
    await make_tweet(u, "same")
    await make_tweet(u, "same")
    assert await queued(client, boss) == []


async def test_rules_are_pluggable(app, make_user, make_tweet):
    u = await make_user()
    tweet = await make_tweet(u, "I shout LOUDLY")
    from server.models import Tweet

    async def shouting(svc: Any, t: Tweet) -> bool:
        return any(w.isupper() and len(w) > 3 for w in t.content.split())

    svc = app.state.services
    hits = await spam.screen(svc, Tweet(**tweet), {"shouting": shouting, **spam.RULES})
    assert hits == ["shouting"]
    doc = await svc.db.reports.find_one({"tweet_id": tweet["tweet_id"]})
    assert doc["reason"] == "spam:shouting"
