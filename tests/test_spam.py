"""The spam screen queues suspicious tweets for review; it never blocks them."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from server import spam, tweets
from server.accounts import Caller
from server.settings import Settings
from server.store import users as user_store


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

    async def shouting(svc: Any, tweets: list[Tweet]) -> list[bool]:
        return [any(w.isupper() and len(w) > 3 for w in t.content.split()) for t in tweets]

    svc = app.state.services
    calm = Tweet(**{**tweet, "tweet_id": "0" * 24, "content": "calm"})
    hits = await spam.screen(svc, [Tweet(**tweet), calm], {"shouting": shouting, **spam.RULES})
    assert hits == [["shouting"], []]
    doc = await svc.db.reports.find_one({"tweet_id": tweet["tweet_id"]})
    assert doc["reason"] == "spam:shouting"


async def test_repeated_posts_are_counted_in_redis_when_there_is_one(
    settings, clock, redis_server, mongo_url
):
    """With Redis the repeat count lives there (no query); screening a tweet twice, as a
    re-run outbox batch does, counts it once."""
    from server.app import create_app
    from tests.conftest import SettledTransport

    app = create_app(settings.model_copy(update={"redis_url": redis_server.url}), clock=clock)
    async with app.router.lifespan_context(app):
        svc = app.state.services
        transport = SettledTransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            signup = {"user_name": "spammy", "email": "spammy@example.com", "password": "pw-" * 4}
            assert (await http.post("/auth/user/signup", json=signup)).status_code == 201
            user = await user_store.by_name(svc.db, user_name="spammy")
            first = (await tweets.compose(svc, Caller(user, "s"), "again and again"))[0]
            assert await spam.repeated_post(svc, [first]) == [False]  # a re-run: still first
            second = (await tweets.compose(svc, Caller(user, "s"), "again and again"))[0]
            assert await spam.repeated_post(svc, [second]) == [False]
            third = (await tweets.compose(svc, Caller(user, "s"), "again and again"))[0]
            assert await spam.repeated_post(svc, [third]) == [True]
            # A batch counts each with the ones before it, whatever was screened already.
            assert await spam.repeated_post(svc, [first, second, third]) == [False, False, True]
        await svc.cache_redis.delete(*await svc.cache_redis.keys("*repeat*"))
        await svc.db.client.drop_database(settings.mongodb_db)
