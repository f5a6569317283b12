"""Authenticated REST requests are served from per-process caches, and every revocation or
user change still takes effect at once on every process (two Murmurs, one real Redis)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from server.settings import Settings
from tests.dbcount import by_collection, moved, quiet
from tests.realtime.conftest import settle_all


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"admin_emails": ["chief@example.com"], "rate_limits_enabled": False}
    )


@pytest.fixture
async def pair(apps: Any, redis_server: Any) -> list[Any]:
    return list(await apps(2, redis_url=redis_server.url))


async def call(app: Any, user: Any, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=app.url, headers=user.headers) as http:
        r = await http.request(method, path, **kwargs)
    if method != "GET":
        await settle_all()  # the write's effects, as another client sees them a moment later
    return r


async def test_a_warm_users_me_reads_nothing_from_the_database(pair, make_user):
    a, _ = pair
    user = await make_user()
    assert (await call(a, user, "GET", "/users/me")).status_code == 200  # warms the caches
    async with quiet(a.app):
        before = by_collection(a.app)
        r = await call(a, user, "GET", "/users/me")
        assert r.status_code == 200 and r.json()["user_id"] == user.id
        assert moved(before, by_collection(a.app)) == {}


async def test_sign_out_on_one_process_is_refused_at_once_on_the_other(pair, make_user):
    a, b = pair
    user = await make_user()
    assert (await call(b, user, "GET", "/users/me")).status_code == 200  # b caches it as active
    async with quiet(b.app):
        before = by_collection(b.app)
        assert (await call(b, user, "GET", "/users/me")).status_code == 200
        assert moved(before, by_collection(b.app)) == {}  # served from b's cache

    r = await call(a, user, "POST", "/auth/logout", json={"refresh_token": user.refresh_token})
    assert r.status_code in (200, 204), r.text
    for app in (b, a):
        r = await call(app, user, "GET", "/users/me")
        assert r.status_code == 401, r.text
        assert r.json()["error"]["code"] == "session_revoked"


async def test_a_reused_refresh_token_ends_the_session_on_both(pair, make_user):
    a, b = pair
    user = await make_user()
    assert (await call(b, user, "GET", "/users/me")).status_code == 200
    async with httpx.AsyncClient(base_url=a.url) as http:
        body = {"refresh_token": user.refresh_token}
        assert (await http.post("/auth/refresh", json=body)).status_code == 200
        r = await http.post("/auth/refresh", json=body)  # the old one again: a copy
        assert r.json()["error"]["code"] == "refresh_token_reused"
    r = await call(b, user, "GET", "/users/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_revoked"


async def test_suspension_and_role_changes_reach_the_other_process_at_once(pair, make_user):
    a, b = pair
    chief, carol, dave = await make_user("chief"), await make_user(), await make_user()
    for user in (carol, dave):
        assert (await call(b, user, "GET", "/users/me")).status_code == 200
    assert (await call(b, carol, "GET", "/moderation/reports")).status_code == 403

    r = await call(a, chief, "POST", f"/moderation/users/{carol.id}/role",
                   json={"role": "moderator"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert (await call(b, carol, "GET", "/users/me")).json()["role"] == "moderator"
    assert (await call(b, carol, "GET", "/moderation/reports")).status_code == 200

    r = await call(a, chief, "POST", f"/moderation/users/{dave.id}/suspend")
    assert r.status_code == 200, r.text
    r = await call(b, dave, "POST", "/tweets", json={"content": "still here?"})
    assert r.status_code in (401, 403), r.text
    assert r.json()["error"]["code"] in ("session_revoked", "account_suspended")


async def test_profile_and_counter_changes_show_on_the_other_process(pair, make_user):
    a, b = pair
    ann, ben = await make_user(), await make_user()
    me = (await call(b, ann, "GET", "/users/me")).json()
    assert me["follower_count"] == 0 and me["tweet_count"] == 0

    r = await call(a, ann, "PATCH", "/users/me", json={"display_name": "Ann Again"})
    assert r.status_code == 200, r.text
    assert (await call(b, ann, "GET", "/users/me")).json()["user_metadata"]["display_name"] == (
        "Ann Again"
    )
    assert (await call(a, ben, "POST", f"/users/{ann.id}/follow")).status_code == 200
    assert (await call(a, ann, "POST", "/tweets", json={"content": "counted"})).status_code == 201
    for app in (a, b):
        await app.app.state.services.outbox.drain()  # the tweet's fan-out, off the request path
    # A counter change does not cost the next authenticated request a read ...
    async with quiet(b.app):
        before = by_collection(b.app)
        assert (await call(b, ann, "GET", "/notifications/unread-count")).status_code == 200
        assert "users" not in moved(before, by_collection(b.app))
    # ... showing the counters does, once the worker's broadcast has reached b (at once).
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        me = (await call(b, ann, "GET", "/users/me")).json()
        if (me["follower_count"], me["tweet_count"]) == (1, 1):
            break
        assert asyncio.get_running_loop().time() < deadline, me
        await asyncio.sleep(0.02)


async def test_profiles_come_from_the_cache_and_their_counters_stay_current(pair, make_user):
    a, b = pair
    star, fan = await make_user(), await make_user()
    assert (await call(b, fan, "GET", f"/users/{star.id}")).json()["follower_count"] == 0
    async with quiet(b.app):
        before = by_collection(b.app)
        assert (await call(b, fan, "GET", f"/users/{star.id}")).status_code == 200
        assert "users" not in moved(before, by_collection(b.app))
    assert (await call(a, fan, "POST", f"/users/{star.id}/follow")).status_code == 200
    for app in (a, b):
        await app.app.state.services.outbox.drain()  # the counters move off the request path
    # The worker's broadcast reaches b at once; under load "at once" is not zero time.
    deadline = asyncio.get_running_loop().time() + 5
    while (await call(b, fan, "GET", f"/users/{star.id}")).json()["follower_count"] != 1:
        assert asyncio.get_running_loop().time() < deadline, "b kept a stale follower count"
        await asyncio.sleep(0.02)


async def test_a_profile_cached_before_verification_does_not_outlive_sign_in(
    pair, client, settings
):
    from tests.conftest import read_otp

    a, b = pair
    body = {"user_name": "newbie", "email": "newbie@example.com", "password": "correct horse"}
    r = await client.post("/auth/user/signup", json=body)
    assert r.status_code == 201, r.text
    uid = r.json()["user_id"]
    async with httpx.AsyncClient(base_url=b.url) as http:
        assert (await http.get(f"/users/{uid}")).status_code == 200  # cached on b, unverified
        code = read_otp(settings.outbox_dir, "newbie@example.com")
        r = await http.post("/auth/verify-otp", json={"user_name": "newbie", "otp": code})
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        me = await http.get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["email_verified"] is True
