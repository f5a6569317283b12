"""Reports, the review queue, hiding, restoring, suspending and roles, with role checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from server.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The first admin comes from settings, as in production.
    return settings.model_copy(
        update={"admin_emails": ["boss@example.com"], "rate_limits_enabled": False}
    )


class Recorder:
    """A publisher that keeps what it is handed (the hub's seam), to check live events."""

    def __init__(self) -> None:
        self.sent: list[tuple[list[str], Any]] = []

    async def publish(self, streams: Sequence[str], event: Any, once: str | None = None) -> None:
        self.sent.append((list(streams), event))

    async def publish_many(self, events: Sequence[Any]) -> None:
        for streams, event, once in events:
            await self.publish(streams, event, once)


@pytest.fixture
async def people(client, make_user) -> Any:
    boss = await make_user("boss")
    mod = await make_user("mod")
    r = await client.post(
        f"/moderation/users/{mod.id}/role", json={"role": "moderator"}, headers=boss.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "moderator"
    return boss, mod, await make_user("carol"), await make_user("dave")


async def test_first_admin_comes_from_settings(client, people):
    boss, mod, carol, _ = people
    r = await client.get("/users/me", headers=boss.headers)
    assert r.json()["role"] == "admin"
    r = await client.get("/users/me", headers=carol.headers)
    assert r.json()["role"] == "user"


async def test_a_report_is_filed_once(client, people, make_tweet):
    _, _, carol, dave = people
    t = await make_tweet(dave, "something rude")
    url = f"/tweets/{t['tweet_id']}/report"
    r = await client.post(url, json={"reason": "rude"}, headers=carol.headers)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "open" and r.json()["reporter_id"] == carol.id
    r = await client.post(url, json={"reason": "very rude"}, headers=carol.headers)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "already_reported"
    r = await client.post(url, json={"reason": ""}, headers=carol.headers)
    assert r.status_code == 422
    r = await client.post(url, json={"reason": "x"})
    assert r.status_code == 401
    r = await client.post("/tweets/000000000000000000000000/report", json={"reason": "x"},
                          headers=carol.headers)  # fmt: skip
    assert r.status_code == 404


async def test_the_queue_is_oldest_first_and_for_moderators_only(client, people, make_tweet, clock):
    boss, mod, carol, dave = people
    first = await make_tweet(dave, "first offence")
    second = await make_tweet(dave, "second offence")
    for t in (first, second):
        r = await client.post(
            f"/tweets/{t['tweet_id']}/report", json={"reason": "spam"}, headers=carol.headers
        )
        assert r.status_code == 201
        clock.advance(seconds=1)
    r = await client.get("/moderation/reports", headers=carol.headers)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "moderator_only"
    for who in (mod, boss):
        r = await client.get("/moderation/reports", headers=who.headers)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert [i["tweet"]["content"] for i in items] == ["first offence", "second offence"]
    r = await client.get("/moderation/reports", params={"limit": 1}, headers=mod.headers)
    r2 = await client.get(
        "/moderation/reports", params={"limit": 1, "cursor": r.json()["next_cursor"]},
        headers=mod.headers,
    )  # fmt: skip
    assert r2.json()["items"][0]["tweet_id"] == second["tweet_id"]
    report_id = items[0]["report_id"]
    r = await client.post(f"/moderation/reports/{report_id}/dismiss", headers=carol.headers)
    assert r.status_code == 403
    r = await client.post(f"/moderation/reports/{report_id}/dismiss", headers=mod.headers)
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    r = await client.post(f"/moderation/reports/{report_id}/dismiss", headers=mod.headers)
    assert r.status_code == 404
    r = await client.get("/moderation/reports", params={"status": "dismissed"}, headers=mod.headers)
    assert [i["report_id"] for i in r.json()["items"]] == [report_id]


async def test_hiding_removes_a_tweet_everywhere_and_restore_brings_it_back(
    client, app, people, make_tweet
):
    _, mod, carol, dave = people
    recorder = Recorder()
    app.state.services.events = recorder
    t = await make_tweet(dave, "#gossip about everything")
    tid = t["tweet_id"]
    await client.post(f"/tweets/{tid}/report", json={"reason": "mean"}, headers=carol.headers)

    r = await client.post(f"/moderation/tweets/{tid}/hide", headers=carol.headers)
    assert r.status_code == 403
    recorder.sent.clear()
    r = await client.post(f"/moderation/tweets/{tid}/hide", headers=mod.headers)
    assert r.status_code == 200, r.text

    assert (await client.get(f"/tweets/{tid}")).status_code == 404
    assert (await client.get(f"/users/{dave.id}/tweets")).json()["items"] == []
    assert (await client.get("/tweets")).json()["items"] == []
    assert (await client.get("/tags/gossip/tweets")).json()["items"] == []
    assert (await client.get("/search/tweets", params={"q": "gossip"})).json()["items"] == []
    assert (await client.get("/tags/trending")).json()["items"] == []
    deleted = [(s, e) for s, e in recorder.sent if e.event == "tweet.deleted"]
    assert deleted and deleted[0][1].data.tweet_id == tid
    streams = deleted[0][0]
    assert {"public", f"user:{dave.id}", f"tweet:{tid}", "hashtag:gossip"} <= set(streams)
    r = await client.get("/moderation/reports", params={"status": "resolved"}, headers=mod.headers)
    assert [(i["tweet_id"], i["action"]) for i in r.json()["items"]] == [(tid, "hidden")]
    # Hiding twice is harmless.
    assert (await client.post(f"/moderation/tweets/{tid}/hide", headers=mod.headers)).is_success

    r = await client.post(f"/moderation/tweets/{tid}/restore", headers=dave.headers)
    assert r.status_code == 403
    r = await client.post(f"/moderation/tweets/{tid}/restore", headers=mod.headers)
    assert r.status_code == 200
    assert (await client.get(f"/tweets/{tid}")).status_code == 200
    assert [i["tag"] for i in (await client.get("/tags/trending")).json()["items"]] == ["gossip"]
    r = await client.post("/moderation/tweets/000000000000000000000000/hide", headers=mod.headers)
    assert r.status_code == 404


async def test_suspension_ends_sessions_and_blocks_sign_in_and_posting(client, app, people):
    boss, mod, carol, dave = people
    closed: list[str] = []

    async def on_revoked(session_id: str) -> None:
        closed.append(session_id)

    app.state.services.on_session_revoked = on_revoked
    r = await client.post(f"/moderation/users/{dave.id}/suspend", headers=carol.headers)
    assert r.status_code == 403
    r = await client.post(f"/moderation/users/{dave.id}/suspend", headers=mod.headers)
    assert r.status_code == 200, r.text
    assert r.json()["suspended"] is True
    assert len(closed) == 1  # dave's one session, so the hub closes its sockets

    r = await client.post("/tweets", json={"content": "still here?"}, headers=dave.headers)
    assert r.status_code in (401, 403)
    r = await client.post("/auth/login", json={"user_name": "dave", "password": dave.password})
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "account_suspended"
    r = await client.post("/auth/refresh", json={"refresh_token": dave.refresh_token})
    assert r.status_code == 401

    r = await client.post(f"/moderation/users/{dave.id}/unsuspend", headers=carol.headers)
    assert r.status_code == 403
    r = await client.post(f"/moderation/users/{dave.id}/unsuspend", headers=mod.headers)
    assert r.status_code == 200 and r.json()["suspended"] is False
    r = await client.post("/auth/login", json={"user_name": "dave", "password": dave.password})
    assert r.status_code == 200


async def test_rank_rules(client, people):
    boss, mod, carol, _ = people
    r = await client.post(f"/moderation/users/{boss.id}/suspend", headers=mod.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "outranked"
    r = await client.post(f"/moderation/users/{mod.id}/suspend", headers=mod.headers)
    assert r.status_code == 422
    r = await client.post(
        f"/moderation/users/{carol.id}/role", json={"role": "admin"}, headers=mod.headers
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "admin_only"
    r = await client.post(
        f"/moderation/users/{carol.id}/role", json={"role": "king"}, headers=boss.headers
    )
    assert r.status_code == 422
    r = await client.post("/moderation/users/nobody/suspend", headers=mod.headers)
    assert r.status_code == 404
    r = await client.post(f"/moderation/users/{mod.id}/suspend", headers=boss.headers)
    assert r.status_code == 200
