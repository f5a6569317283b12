"""Murmur on a Redis Cluster (``REDIS_CLUSTER=true``) in a real ``murmur serve`` process, next
to this test's in-process app on the same cluster and database: a REST flow (sign-ups, a
follow, a tweet, a like, an edit, a delete) whose reads are served warm from the cluster
(stored timeline, cached tweets, liked sets), writes on one process seen on the other's next
read, and a rate limit that holds across both."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from bson import ObjectId

from server.settings import Settings
from tests.conftest import TestUser, read_otp
from tests.dbcount import by_collection, moved, quiet
from tests.rediscluster import clusterapp

svc = clusterapp.svc


@pytest.fixture
def settings(settings: Settings, redis_cluster: Any) -> Settings:
    return clusterapp.on_cluster(settings, redis_cluster).model_copy(
        update={"rate_limits_enabled": True, "rate_limit_username_check": "4/minute"}
    )


async def sign_up(http: httpx.AsyncClient, settings: Settings, name: str) -> TestUser:
    """A user signed up and verified through ``http`` (the code read from the mail outbox)."""
    mail, password = f"{name}@example.com", "correct horse"
    body = {"user_name": name, "email": mail, "password": password}
    assert (await http.post("/auth/user/signup", json=body)).status_code == 201
    code = read_otp(settings.outbox_dir, mail)
    r = await http.post("/auth/verify-otp", json={"user_name": name, "otp": code})
    assert r.status_code == 200, r.text
    tokens = r.json()
    return TestUser(
        id=tokens["user"]["user_id"],
        user_name=name,
        email=mail,
        password=password,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
    )


async def until(check: Callable[[], Awaitable[Any]], within: float = 10.0) -> Any:
    """``check()``'s first truthy answer (the outbox worker applies writes a moment later)."""
    async with asyncio.timeout(within):
        while not (answer := await check()):  # noqa: ASYNC110 - another process, over HTTP
            await asyncio.sleep(0.05)
    return answer


async def test_a_rest_flow_and_a_shared_rate_limit_across_processes(
    app: Any,
    client: httpx.AsyncClient,
    live_app: Any,
    redis_cluster: Any,
    settings: Settings,
    svc: Any,
) -> None:
    process = live_app(
        redis_url=redis_cluster.url,
        REDIS_CLUSTER="true",
        JWT_SECRET=settings.jwt_secret or "",
        RATE_LIMIT_USERNAME_CHECK="4/minute",
    )
    async with httpx.AsyncClient(base_url=process.url) as live:
        author, fan = [await sign_up(live, settings, name) for name in ("author", "fan")]
        r = await live.post(f"/users/{author.id}/follow", headers=fan.headers)
        assert r.status_code == 200, r.text
        r = await live.post("/tweets", json={"content": "on the cluster"}, headers=author.headers)
        assert r.status_code == 201, r.text
        tweet = r.json()["tweet_id"]

        async def home(http: httpx.AsyncClient) -> list[dict[str, Any]]:
            r = await http.get("/tweets/following", headers=fan.headers)
            assert r.status_code == 200, r.text
            items: list[dict[str, Any]] = r.json()["items"]
            return items

        async def home_ids() -> list[str]:
            return [t["tweet_id"] for t in await home(live)]

        assert await until(home_ids) == [tweet]
        # That read was warm: the fan's stored timeline and the cached tweet, on the cluster.
        redis = svc.cache_redis
        assert await redis.zrange(svc.timelines.key(fan.id), 0, -1) == [f"{tweet}:{author.id}"]
        assert await redis.exists(svc.tweet_cache._key(tweet)) == 1
        assert [t["tweet_id"] for t in await home(client)] == [tweet]
        # Reads of a built timeline do not rebuild it (its marker names its own master's run):
        # an entry only Redis holds survives them.
        only_in_redis = f"{ObjectId()}:{author.id}"
        await redis.zadd(svc.timelines.key(fan.id), {only_in_redis: 0})
        for http in (client, live, client):
            assert [t["tweet_id"] for t in await home(http)] == [tweet]
        assert only_in_redis in await redis.zrange(svc.timelines.key(fan.id), 0, -1)
        await redis.zrem(svc.timelines.key(fan.id), only_in_redis)

        r = await client.post(f"/tweets/{tweet}/likes", headers=fan.headers)
        assert r.status_code == 200, r.text

        async def liked_on_live() -> bool:
            shown = (await home(live))[0]
            return bool(shown["like_count"] == 1 and shown["liked_by_me"])

        assert await until(liked_on_live)

        # Warm reads of the in-process app send the database nothing: the cluster serves
        # them (stored timeline, tweet cache, liked sets, recent ids), as one Redis does.
        for path in (
            "/tweets/following",
            f"/tweets/{tweet}",
            "/tweets",
            f"/users/{author.id}/tweets",
        ):
            assert (await client.get(path, headers=fan.headers)).status_code == 200
            async with quiet(app):
                before = by_collection(app)
                r = await client.get(path, headers=fan.headers)
                assert r.status_code == 200, r.text
                assert moved(before, by_collection(app)) == {}, path

        r = await live.patch(f"/tweets/{tweet}", json={"content": "edited"}, headers=author.headers)
        assert r.status_code == 200, r.text
        assert (await home(client))[0]["content"] == "edited"  # the other process's next read
        assert (await live.delete(f"/tweets/{tweet}", headers=author.headers)).status_code == 204
        assert await home(client) == []

        # One limit (4 a minute per address) across both processes.
        check = {"username": "someone"}
        codes = [
            (await http.get("/auth/username-availability", params=check)).status_code
            for http in (live, client, live, client, live, client)
        ]
        assert codes == [200, 200, 200, 200, 429, 429]
