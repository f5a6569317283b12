"""SIGKILL the app at random moments while clients post, reply, quote, like, unlike, repost
and follow; restart it, let the outbox drain, and check every invariant against the stored data.

Two real `murmur serve` processes share the test's database and one Redis: ``app`` (which
runs the outbox worker and is killed) and ``watcher`` (web only, never killed), whose socket
records every ``tweet.created`` the cluster announces on ``public``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from bson import ObjectId
from pymongo import AsyncMongoClient

from server.outbox import backlog
from server.store import userstats
from tests.realtime.test_rest_auth_live import sign_up
from tests.realtime.wsclient import WsClient

pytestmark = pytest.mark.live

SEED = 20261202
ROUNDS = 4
AUTHORS, FOLLOWERS = 3, 3  # users 0-2 post; users 3-5 follow all of them throughout
MENTIONED = 5  # some tweets mention this user: each mention must notify exactly once
ENV = {
    "RATE_LIMITS_ENABLED": "false",
    "OUTBOX_LEASE_SECONDS": "1",
    "TIMELINE_STORE": "mongodb",
    # A kill between a new tweet's outbox entry and the tweet leaves an entry to drop.
    "OUTBOX_INTENT_GRACE_SECONDS": "2",
}


class Traffic:
    """Clients that keep sending random writes to ``url`` until its process dies."""

    def __init__(self, url: str, users: list[dict[str, Any]], rng: random.Random) -> None:
        self.url, self.users, self.rng = url, users, rng
        self.acked: set[str] = set()  # tweets whose 201 arrived

    def _auth(self, i: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.users[i]['access_token']}"}

    async def client(self, i: int) -> None:
        rng = random.Random(self.rng.random())
        names = [u["user"]["user_name"] for u in self.users]
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as http:
            with contextlib.suppress(httpx.TransportError):
                while True:
                    await self._one(http, i, rng, names)

    async def _one(
        self, http: httpx.AsyncClient, i: int, rng: random.Random, names: list[str]
    ) -> None:
        known = sorted(self.acked)
        kind = rng.choice(
            [
                "post",
                "post",
                "reply",
                "quote",
                "like",
                "unlike",
                "repost",
                "unrepost",
                "follow",
                "unfollow",
            ]  # fmt: skip
        )
        if kind == "post" or not known:
            if i >= AUTHORS:
                await http.get("/tweets")  # nothing to like yet: read (every path awaits I/O)
                return
            else:
                mention = f" @{names[MENTIONED]}" if rng.random() < 0.3 else ""
                text = f"#crash token{uuid.uuid4().hex[:10]}{mention}"
                r = await http.post("/tweets", json={"content": text}, headers=self._auth(i))
                if r.status_code == 201:
                    self.acked.add(r.json()["tweet_id"])
                return
        target = rng.choice(known) if known else None
        if kind == "reply" and target:
            r = await http.post(
                f"/tweets/{target}/comments",
                json={"content": "#crash a reply"},
                headers=self._auth(i),
            )
            if r.status_code == 201:
                self.acked.add(r.json()["tweet_id"])
        elif kind in ("like", "unlike") and target:
            method = "POST" if kind == "like" else "DELETE"
            await http.request(method, f"/tweets/{target}/likes", headers=self._auth(i))
        elif kind == "quote" and target:
            r = await http.post(
                "/tweets",
                json={"content": "#crash a quote", "quote_of": target},
                headers=self._auth(i),
            )
            if r.status_code == 201:
                self.acked.add(r.json()["tweet_id"])
        elif kind in ("repost", "unrepost") and target:
            method = "POST" if kind == "repost" else "DELETE"
            await http.request(method, f"/tweets/{target}/repost", headers=self._auth(i))
        elif kind in ("follow", "unfollow") and i < AUTHORS:
            # Authors follow and unfollow each other; the followers' edges never change.
            other = self.users[rng.choice([a for a in range(AUTHORS) if a != i])]["user"]["user_id"]
            method = "POST" if kind == "follow" else "DELETE"
            await http.request(method, f"/users/{other}/follow", headers=self._auth(i))
        else:
            await http.get("/tweets")


async def _until_acked(traffic: Traffic, n: int, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while len(traffic.acked) < n:
        assert time.monotonic() < deadline, f"only {len(traffic.acked)} of {n} tweets acknowledged"
        await asyncio.sleep(0.02)


async def _wait_drained(db: Any, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while await backlog(db):
        assert time.monotonic() < deadline, "the outbox did not drain"
        await asyncio.sleep(0.1)


async def _watch(ws: WsClient, announced: set[str]) -> None:
    while True:
        frame = await ws.recv(wait=3600)
        if frame["type"] == "event" and frame["event"] == "tweet.created":
            announced.add(frame["data"]["tweet_id"])


@pytest.mark.timeout(240)
async def test_sigkill_at_random_moments_leaves_every_invariant(
    live_app: Any, redis_server: Any, tmp_path: Any, mongo_url: str, db_name: str
) -> None:
    rng = random.Random(SEED)
    watcher = live_app(redis_url=redis_server.url, RUN_WORKER="false", **ENV)
    app = live_app(redis_url=redis_server.url, **ENV)
    users = [await sign_up(app, tmp_path / "outbox", f"crash{i}") for i in range(6)]
    ids = [u["user"]["user_id"] for u in users]
    async with httpx.AsyncClient(base_url=app.url) as http:
        for f in range(AUTHORS, AUTHORS + FOLLOWERS):
            for a in range(AUTHORS):
                auth = {"Authorization": f"Bearer {users[f]['access_token']}"}
                assert (await http.post(f"/users/{ids[a]}/follow", headers=auth)).status_code == 200
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url, tz_aware=True)
    db = client[db_name]
    ws = await WsClient.open(watcher.ws_url + "/ws", token=users[AUTHORS]["access_token"])
    await ws.subscribe("public")
    announced: set[str] = set()
    watching = asyncio.create_task(_watch(ws, announced))
    traffic = Traffic(app.url, users, rng)
    try:
        for _ in range(ROUNDS):
            clients = [asyncio.create_task(traffic.client(i)) for i in range(len(users))]
            # The seeded moment of the kill: after a few more acknowledged tweets (so a busy
            # machine still gets traffic in each round), then a seeded fraction of a second.
            await _until_acked(traffic, len(traffic.acked) + rng.randint(3, 8))
            await asyncio.sleep(rng.uniform(0, 0.5))
            assert app.process is not None
            app.process.send_signal(signal.SIGKILL)
            app.process.wait()
            await asyncio.gather(*clients)
            app.start()
        await _wait_drained(db)
        await _check_invariants(db, ids, traffic.acked, announced)
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        await ws.close()
        await client.close()


async def _check_invariants(db: Any, ids: list[str], acked: set[str], announced: set[str]) -> None:
    # Tombstones: ids of tweets whose process died before storing them (store/intents.py).
    tweets = await db.tweets.find({"tombstone": {"$ne": True}}, {"edits": 0}).to_list(None)
    stored = {str(t["_id"]): t for t in tweets}
    assert len(acked) > 10, "the schedule should have posted something"
    assert acked <= set(stored), "an acknowledged tweet was lost"
    assert announced <= set(stored), "an event announced a tweet that is not stored"
    assert not [t for t in tweets if t.get("pending")]
    # Every author's tweet is in every (fixed) follower's stored timeline; all are searchable.
    for t in tweets:
        if t["user_id"] not in ids[:AUTHORS]:
            continue
        owners = {e["owner"] async for e in db.timelines.find({"tweet_id": t["_id"]})}
        assert set(ids[AUTHORS : AUTHORS + FOLLOWERS]) <= owners, t["_id"]
    indexed = {d["_id"] async for d in db.search_slots.find({}, {"_id": 1})}
    assert {t["_id"] for t in tweets} <= indexed
    # Trending and tag search counted each tweet's hashtag once.
    uses = sum([b["count"] async for b in db.tag_trends.find({"tag": "crash"})])
    assert uses == len(tweets)
    tag = await db.tags.find_one({"_id": "crash"})
    assert tag is not None and tag["count"] == len(tweets)
    # Counters equal the stored edges.
    found = await db.users.find({"_id": {"$in": [ObjectId(i) for i in ids]}}).to_list(None)
    users = {str(u["_id"]): u for u in await userstats.merged(db, found)}  # with tweet_count
    posted = Counter(t["user_id"] for t in tweets)
    follows = await db.follows.find({}).to_list(None)
    assert not [f for f in follows if "off" in f or f.get("pending")]
    for uid, user in users.items():
        assert user.get("tweet_count", 0) == posted[uid], user["user_name"]
        assert user.get("follower_count", 0) == sum(f["followee"] == uid for f in follows)
        assert user.get("following_count", 0) == sum(f["follower"] == uid for f in follows)
    likes = Counter([d["tweet_id"] async for d in db.likes.find({})])
    reposts = await db.reposts.find({}).to_list(None)
    assert not [r for r in reposts if "off" in r or r.get("pending")]
    reposted = Counter(r["tweet_id"] for r in reposts)
    # Each repost's timeline entries are claimed by an on repost, and each claim has its entry.
    on_reposts = {r["_id"] for r in reposts}
    claims = await db.repost_claims.find({}).to_list(None)
    assert {c["repost_id"] for c in claims} <= on_reposts
    entries = await db.timelines.find({"original": {"$exists": True}}).to_list(None)
    assert {(e["owner"], e["tweet_id"]) for e in entries} == {
        (c["owner"], c["repost_id"]) for c in claims
    }
    quoted = Counter(t["quote_of"]["tweet_id"] for t in tweets if t.get("quote_of"))
    replies = Counter(t["in_reply_to"] for t in tweets if t.get("in_reply_to"))
    for tid, t in stored.items():
        assert t.get("like_count", 0) == likes[tid], tid
        assert t.get("repost_count", 0) == reposted[tid], tid
        assert t.get("quote_count", 0) == quoted[tid], tid
        assert t.get("reply_count", 0) == replies[tid], tid
    # Each mention notified once.
    mentioning = {tid for tid, t in stored.items() if t.get("mentions")}
    notes = Counter(
        [
            n["tweet_id"]
            async for n in db.notifications.find({"kind": "mention", "recipient": ids[MENTIONED]})
        ]
    )
    assert notes == Counter({tid: 1 for tid in mentioning})


async def test_an_idempotency_key_holds_across_a_restart(
    live_app: Any, redis_server: Any, tmp_path: Any
) -> None:
    app = live_app(redis_url=redis_server.url, **ENV)
    pair = await sign_up(app, tmp_path / "outbox", "retrier")
    headers = {"Authorization": f"Bearer {pair['access_token']}", "Idempotency-Key": "k-1"}
    async with httpx.AsyncClient(base_url=app.url) as http:
        first = await http.post("/tweets", json={"content": "once"}, headers=headers)
        assert first.status_code == 201, first.text
    app.stop(signal.SIGKILL)
    app.start()
    async with httpx.AsyncClient(base_url=app.url) as http:
        again = await asyncio.gather(
            *(http.post("/tweets", json={"content": "once"}, headers=headers) for _ in range(5))
        )
        assert {r.status_code for r in again} == {201}
        assert {r.json()["tweet_id"] for r in again} == {first.json()["tweet_id"]}
        uid = pair["user"]["user_id"]
        mine = (await http.get(f"/users/{uid}/tweets")).json()["items"]
        assert [t["tweet_id"] for t in mine] == [first.json()["tweet_id"]]
