"""The recent-id sets (server/store/recent_redis.py) against a real Redis and database."""

from __future__ import annotations

import asyncio

from bson import ObjectId

from realtime.redis_backend import connect_redis
from server import pages
from server.store.recent_redis import PUBLIC, RecentIds


async def test_readers_of_a_cold_set_share_one_rebuild(app, make_user, make_tweet, redis_server):
    author = await make_user()
    made = [ObjectId((await make_tweet(author, f"t{i}"))["tweet_id"]) for i in range(3)]
    load = pages.recent_loader(app.state.services.db)
    loads: list[str] = []

    async def counted(who: str, limit: int) -> list[tuple[ObjectId, str]]:
        loads.append(who)
        return await load(who, limit)

    redis = connect_redis(redis_server.url)
    try:
        recent = RecentIds(redis, prefix=f"t{ObjectId()}:", load=counted)
        # Eight connections open first, so the eight readers' reads go out together.
        await asyncio.gather(*(redis.ping() for _ in range(8)))
        found = await asyncio.gather(
            *(recent.newest([PUBLIC], before=None, limit=2) for _ in range(8))
        )
        assert all(ids == made[:0:-1] for ids in found)
        # Each reader used to rebuild the set (8 loads, each dropping the others' work). A
        # reader that found it stale only after the shared rebuild was done finds it built
        # when it claims it, and reads nothing more.
        assert loads == [PUBLIC]
        loads.clear()
        assert await recent.newest([PUBLIC], before=None, limit=2) == made[:0:-1]
        assert loads == []  # built: read from Redis alone
    finally:
        await redis.aclose()


async def test_two_processes_never_show_a_set_another_is_rebuilding(
    app, make_user, make_tweet, redis_server
):
    """Two processes find the public set stale at once. The second used to rebuild it too:
    its DEL emptied the set the first had just marked built, and a reader saw an empty,
    complete page (a resync's refetch missed a tweet so). Now one claims the rebuild; the
    other's readers ask the database meanwhile, and nobody empties a built set."""
    author = await make_user()
    made = [ObjectId((await make_tweet(author, f"t{i}"))["tweet_id"]) for i in range(3)]
    load = pages.recent_loader(app.state.services.db)
    go, loading = asyncio.Event(), asyncio.Event()
    loads: list[str] = []

    async def slow(who: str, limit: int) -> list[tuple[ObjectId, str]]:
        loads.append(who)
        loading.set()
        await go.wait()
        return await load(who, limit)

    redis = connect_redis(redis_server.url)
    prefix = f"t{ObjectId()}:"  # one Redis, two processes' RecentIds
    first = RecentIds(redis, prefix=prefix, load=slow)
    second = RecentIds(redis, prefix=prefix, load=slow)
    try:
        reading = asyncio.create_task(first.newest([PUBLIC], before=None, limit=5))
        async with asyncio.timeout(10):
            await loading.wait()  # the first process holds the rebuild
        assert await second.newest([PUBLIC], before=None, limit=5) is None  # the database
        assert loads == [PUBLIC]  # the second did not rebuild (nor empty) it
        go.set()
        assert await reading == made[::-1]
        # Built: the second reads the set, and a late rebuild finds it built and keeps it.
        assert await second.newest([PUBLIC], before=None, limit=5) == made[::-1]
        assert await second._rebuild(PUBLIC) is None and loads == [PUBLIC]
        assert await second.newest([PUBLIC], before=None, limit=5) == made[::-1]

        # A marker dropped while a rebuild reads the database (a failed add): that rebuild
        # does not mark the set built, so the next reader rebuilds it with the tweet.
        go.clear()
        loading.clear()
        await first.distrust(author=author.id)
        reading = asyncio.create_task(first.newest([PUBLIC], before=None, limit=5))
        async with asyncio.timeout(10):
            await loading.wait()
        await first.distrust(author=author.id)
        later = ObjectId((await make_tweet(author, "added while the set was rebuilt"))["tweet_id"])
        go.set()
        assert await reading is None  # its claim was gone: the database
        assert await second.newest([PUBLIC], before=None, limit=5) == [later, *made[::-1]]
    finally:
        await redis.aclose()


async def test_a_failed_add_from_the_request_makes_readers_rebuild(
    app, make_user, make_tweet, redis_server, monkeypatch
):
    """The request's add fails (Redis answered the others: a failover's transient error):
    until the worker's retry lands, readers must not read the sets as they stand, which lack
    the tweet; they rebuild them from the database."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from server.models import Tweet

    svc = app.state.services
    author = await make_user()
    await make_tweet(author, "before")
    redis = connect_redis(redis_server.url)
    try:
        recent = RecentIds(redis, prefix=f"t{ObjectId()}:", load=pages.recent_loader(svc.db))
        assert len(await recent.newest([PUBLIC], before=None, limit=5) or []) == 1  # built
        stored = await make_tweet(author, "its add fails")  # in the database, not in the set
        monkeypatch.setattr(svc, "recent", recent)

        async def failing(*_: object) -> None:
            raise RedisConnectionError("lost mid-command")

        monkeypatch.setattr(recent, "added_many", failing)
        await pages.at_once(svc, pages.shown, [Tweet(**stored)])
        newest = await recent.newest([PUBLIC], before=None, limit=5)
        assert newest is not None and ObjectId(stored["tweet_id"]) in newest
        assert ObjectId(stored["tweet_id"]) in (
            await recent.newest([author.id], before=None, limit=5) or []
        )
    finally:
        await redis.aclose()
