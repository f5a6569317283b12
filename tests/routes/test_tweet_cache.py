"""The tweet cache without Redis (an in-process LRU), and the race guard of both caches."""

from __future__ import annotations

import asyncio

from bson import ObjectId

from realtime.redis_backend import connect_redis
from server.models import Tweet
from server.services import utc_now
from server.tweetcache import MemoryTweetCache, RedisTweetCache, TweetCache, hydrate
from tests.dbcount import by_collection, moved, quiet


def tweet(content: str = "hi", tweet_id: str | None = None) -> Tweet:
    return Tweet(
        tweet_id=tweet_id or str(ObjectId()), user_id="u1", user_name="ann", content=content,
        html=f"<p>{content}</p>", tags=[], mentions=[], created_at=utc_now(),  # what MongoDB stores
    )  # fmt: skip


async def test_a_warm_single_tweet_reads_nothing_and_changes_show_at_once(
    client, app, make_user, make_tweet
):
    author, fan = await make_user(), await make_user()
    made = await make_tweet(author, "first")
    path = f"/tweets/{made['tweet_id']}"
    assert (await client.get(path)).status_code == 200  # fills the cache
    async with quiet(app):
        before = by_collection(app)
        assert (await client.get(path)).json()["content"] == "first"
        assert moved(before, by_collection(app)) == {}

    r = await client.patch(path, json={"content": "second"}, headers=author.headers)
    assert r.status_code == 200, r.text
    assert (await client.get(path)).json()["content"] == "second"
    assert (await client.post(f"{path}/likes", headers=fan.headers)).status_code == 200
    assert (await client.get(path, headers=fan.headers)).json()["like_count"] == 1
    assert (await client.delete(path, headers=author.headers)).status_code == 204
    assert (await client.get(path)).status_code == 404


async def test_a_tweet_whose_counters_moved_is_cached_again_by_the_worker(
    client, app, make_user, make_tweet
):
    """A like or a reply drops the tweet's cached copy; the worker that moved the counter
    reads it once and caches it again, so readers (and the next reply's parent check) do
    not each go to the database."""
    author, fan = await make_user(), await make_user()
    made = await make_tweet(author, "popular")
    path = f"/tweets/{made['tweet_id']}"
    assert (await client.post(f"{path}/likes", headers=fan.headers)).status_code == 200
    r = await client.post(f"{path}/comments", json={"content": "yes"}, headers=fan.headers)
    assert r.status_code == 201, r.text
    async with quiet(app):
        before = by_collection(app)
        got = (await client.get(path)).json()
        assert (got["like_count"], got["reply_count"]) == (1, 1)
        assert moved(before, by_collection(app)) == {}


async def check_race_guard(cache: TweetCache) -> None:
    old = tweet("old")
    found, seen = await cache.lookup([old.tweet_id])
    assert found == {}
    await cache.forget([old.tweet_id])  # changed while the read was in flight
    await cache.store([old], seen)
    assert (await cache.lookup([old.tweet_id]))[0] == {}  # the racing read was not kept
    found, seen = await cache.lookup([old.tweet_id])
    await cache.store([old], seen)
    assert (await cache.lookup([old.tweet_id]))[0] == {old.tweet_id: old}
    # A copy replaced in place (counters moved: ``refreshed``) is replaced unless a change
    # dropped it meanwhile.
    newer = tweet("newer", old.tweet_id)
    seen = await cache.versions([old.tweet_id])
    await cache.store([newer], seen)
    assert (await cache.lookup([old.tweet_id]))[0][old.tweet_id].content == "newer"
    seen = await cache.versions([old.tweet_id])
    await cache.forget([old.tweet_id])  # an edit while the counters were being read
    await cache.store([tweet("stale", old.tweet_id)], seen)
    assert (await cache.lookup([old.tweet_id]))[0] == {}


async def test_a_read_that_raced_with_a_change_is_not_stored_in_memory():
    await check_race_guard(MemoryTweetCache())


async def test_a_read_that_raced_with_a_change_is_not_stored_in_redis(redis_server):
    redis = connect_redis(redis_server.url)
    try:
        await check_race_guard(RedisTweetCache(redis, prefix=f"t{ObjectId()}:"))
    finally:
        await redis.aclose()


async def test_the_in_process_cache_is_bounded():
    cache = MemoryTweetCache(max_entries=2)
    a, b, c = tweet("a"), tweet("b"), tweet("c")
    for t in (a, b):
        await cache.store([t], (await cache.lookup([t.tweet_id]))[1])
    await cache.lookup([a.tweet_id])  # a is used: b is now the least recently used
    await cache.store([c], (await cache.lookup([c.tweet_id]))[1])
    found, _ = await cache.lookup([a.tweet_id, b.tweet_id, c.tweet_id])
    assert set(found) == {a.tweet_id, c.tweet_id}


async def test_readers_missing_the_same_tweets_at_once_share_one_query(
    app, make_user, make_tweet, redis_server
):
    author = await make_user()
    ids = [ObjectId((await make_tweet(author, f"t{i}"))["tweet_id"]) for i in range(3)]
    db = app.state.services.db
    redis = connect_redis(redis_server.url)
    try:
        cache = RedisTweetCache(redis, prefix=f"t{ObjectId()}:")
        # Eight connections open first, so the eight readers' look-ups go out together.
        await asyncio.gather(*(cache.lookup(["warm"]) for _ in range(8)))

        async def queries(wanted: list[ObjectId], contents: list[str]) -> float:
            before = by_collection(app)
            pages = await asyncio.gather(*(hydrate(cache, db, wanted) for _ in range(8)))
            assert all([t.content for t in p] == contents for p in pages)
            return moved(before, by_collection(app)).get("tweets", 0)

        async with quiet(app):
            # Each reader alone would send one query: 8. A reader whose look-up is answered
            # only after the shared read is done and stored finds the cache warm; one that
            # missed it just before the store reads again (a second query, on a slow day).
            assert 1 <= await queries(ids, ["t0", "t1", "t2"]) <= 2
            await cache.forget([str(ids[1])])  # changed: the next readers read it again
            assert 1 <= await queries(ids[:2], ["t0", "t1"]) <= 2
    finally:
        await redis.aclose()
