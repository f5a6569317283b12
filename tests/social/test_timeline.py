"""The home timeline over HTTP: push (fan-out), pull (big authors), the threshold crossing,
back-fill and removal, the cap with its pull fallback, and the durable worker."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from bson import ObjectId

from server.store import fanout_jobs as job_store
from tests.social.conftest import TIMELINE_STORES

# Every test runs against both timeline stores: MongoDB and Redis sorted sets.
pytestmark = pytest.mark.parametrize("timeline_store", TIMELINE_STORES, indirect=True)


async def home(client: httpx.AsyncClient, user: Any, **params: Any) -> list[str]:
    """Every tweet id in ``user``'s home timeline, following cursors to the end."""
    ids: list[str] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = await client.get("/tweets/following", params=query, headers=user.headers)
        assert r.status_code == 200, r.text
        ids += [t["tweet_id"] for t in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return ids


async def stored(svc: Any, tweet_id: str) -> set[str]:
    """Whose stored timelines hold the tweet, besides its author's (who always has it)."""
    owners = set(await svc.timelines.owners_of(tweet_id=ObjectId(tweet_id)))
    doc = await svc.db.tweets.find_one({"_id": ObjectId(tweet_id)}, {"user_id": 1})
    if doc is not None:
        owners.discard(doc["user_id"])
    return owners


async def follow(client: httpx.AsyncClient, who: Any, whom: Any) -> None:
    r = await client.post(f"/users/{whom.id}/follow", headers=who.headers)
    assert r.status_code == 200, r.text


async def test_push_path_fans_out_and_reads_merge_own_tweets(
    client: httpx.AsyncClient,
    make_user: Any,
    make_users: Any,
    make_tweet: Any,
    svc: Any,
    drain: Any,
) -> None:
    author, stranger = await make_user(), await make_user()
    fans = await make_users(3)
    for f in fans:
        await follow(client, f, author)
    t1 = await make_tweet(author, "one #murmur")
    await drain()
    assert await stored(svc, t1["tweet_id"]) == {f.id for f in fans}
    mine = await make_tweet(fans[0], "my own")
    noise = await make_tweet(stranger, "not followed")
    t2 = await make_tweet(author, "two")
    await drain()
    assert await home(client, fans[0]) == [t2["tweet_id"], mine["tweet_id"], t1["tweet_id"]]
    assert await home(client, fans[1], limit=1) == [t2["tweet_id"], t1["tweet_id"]]
    r = await client.get(
        "/tweets/following", params={"page": 2, "limit": 1}, headers=fans[0].headers
    )
    assert [t["tweet_id"] for t in r.json()["items"]] == [mine["tweet_id"]]
    assert noise["tweet_id"] not in await home(client, fans[0])
    # The author's own tweets are in the author's home, and in their stored timeline.
    assert author.id in await svc.timelines.owners_of(tweet_id=ObjectId(t1["tweet_id"]))
    assert await home(client, author) == [t2["tweet_id"], t1["tweet_id"]]
    # Running a job again (a retry) never duplicates entries.
    await job_store.enqueue(svc.db, kind="created", now=svc.clock(),
                            fields={"tweet_id": t1["tweet_id"], "author": author.id})  # fmt: skip
    await drain()
    assert await svc.timelines.count(owner=fans[0].id) == 3  # t1, t2 and their own
    assert await home(client, fans[0]) == [t2["tweet_id"], mine["tweet_id"], t1["tweet_id"]]


async def test_bad_input(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user()
    assert (await client.get("/tweets/following")).status_code == 401
    r = await client.get("/tweets/following", params={"sort": "top"}, headers=alice.headers)
    assert r.status_code == 422
    r = await client.get("/tweets/following", params={"cursor": "%%%"}, headers=alice.headers)
    assert r.status_code == 400
    r = await client.get("/tweets/following", params={"limit": 0}, headers=alice.headers)
    assert r.status_code == 422


async def test_pull_path_and_an_author_crossing_the_threshold(
    client: httpx.AsyncClient,
    make_user: Any,
    make_users: Any,
    make_tweet: Any,
    svc: Any,
    drain: Any,
) -> None:
    svc.settings.fanout_max_followers = 2
    author = await make_user()
    fans = await make_users(3)
    await follow(client, fans[0], author)
    await follow(client, fans[1], author)
    pushed = await make_tweet(author, "while small")
    await drain()
    assert await stored(svc, pushed["tweet_id"]) == {fans[0].id, fans[1].id}

    await follow(client, fans[2], author)  # three followers: above the threshold now
    pulled = await make_tweet(author, "while big")
    await drain()
    assert await stored(svc, pulled["tweet_id"]) == set()  # nothing written per follower
    expected = [pulled["tweet_id"], pushed["tweet_id"]]
    for f in fans:
        assert await home(client, f) == expected  # merged, no duplicates
        assert await home(client, f, limit=1) == expected

    # An unfollowing reader stops seeing the big author's tweets.
    r = await client.delete(f"/users/{author.id}/follow", headers=fans[2].headers)
    assert r.status_code == 200
    await drain()
    assert await home(client, fans[2]) == []


async def test_follow_backfills_and_unfollow_removes(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    reader, early, late = await make_user(), await make_user(), await make_user()
    await follow(client, reader, early)
    e1 = await make_tweet(early, "early one")
    l1 = await make_tweet(late, "late one")
    e2 = await make_tweet(early, "early two")
    await drain()
    await follow(client, reader, late)
    await drain()
    # The followee's tweets newer than the stored range are copied in.
    assert reader.id in await stored(svc, l1["tweet_id"])
    assert await home(client, reader) == [e2["tweet_id"], l1["tweet_id"], e1["tweet_id"]]
    r = await client.delete(f"/users/{late.id}/follow", headers=reader.headers)
    assert r.status_code == 200
    await drain()
    assert await stored(svc, l1["tweet_id"]) == set()
    assert await home(client, reader) == [e2["tweet_id"], e1["tweet_id"]]


async def test_delete_and_edit_reach_stored_timelines(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    reader, author = await make_user(), await make_user()
    await follow(client, reader, author)
    keep = await make_tweet(author, "keep")
    gone = await make_tweet(author, "gone")
    await drain()
    r = await client.patch(f"/tweets/{keep['tweet_id']}", json={"content": "kept, edited"},
                           headers=author.headers)  # fmt: skip
    assert r.status_code == 200
    assert (
        await client.delete(f"/tweets/{gone['tweet_id']}", headers=author.headers)
    ).status_code == 204
    await drain()
    assert await stored(svc, gone["tweet_id"]) == set()
    r = await client.get("/tweets/following", headers=reader.headers)
    assert [t["content"] for t in r.json()["items"]] == ["kept, edited"]


async def test_cap_and_pull_fallback_never_end_scrolling_early(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any
) -> None:
    svc.settings.timeline_max_entries = 4
    svc.settings.timeline_trim_every = 1  # trim every receiving timeline on every push
    reader, a, b = await make_user(), await make_user(), await make_user()
    await follow(client, reader, a)
    await follow(client, reader, b)
    made = []
    for i in range(5):
        made.append((await make_tweet(a, f"a{i}"))["tweet_id"])
        made.append((await make_tweet(b, f"b{i}"))["tweet_id"])
    await drain()
    newest_first = list(reversed(made))
    assert await svc.timelines.count(owner=reader.id) == 4  # trimmed on write
    assert await home(client, reader, limit=3) == newest_first
    assert await home(client, reader, limit=3) == newest_first
    assert await home(client, reader, limit=100) == newest_first
    r = await client.get(
        "/tweets/following", params={"page": 3, "limit": 3}, headers=reader.headers
    )
    assert [t["tweet_id"] for t in r.json()["items"]] == newest_first[6:9]


async def test_worker_takes_over_a_job_whose_worker_died(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, drain: Any, clock: Any
) -> None:
    reader, author = await make_user(), await make_user()
    await follow(client, reader, author)
    await drain()
    assert svc.fanout is not None
    async with svc.fanout._lock:  # hold the worker off while we play a crashed one
        t = await make_tweet(author, "orphaned job")
        job = await job_store.claim(svc.db, now=clock(), lease=timedelta(seconds=30))
        assert job is not None and job["tweet_id"] == t["tweet_id"]
    await drain()  # the lease still runs: nobody else may take the job
    assert await stored(svc, t["tweet_id"]) == set()
    assert await job_store.count(svc.db) == 1
    clock.advance(seconds=31)
    await drain()
    assert await stored(svc, t["tweet_id"]) == {reader.id}
    assert await job_store.count(svc.db) == 0
