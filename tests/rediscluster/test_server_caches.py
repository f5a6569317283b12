"""The server's Redis caches on a real Redis Cluster (``REDIS_CLUSTER=true``), in-process: the
tweet cache, liked sets, recent ids and spam counters, with their keys on every master."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from bson import ObjectId
from redis.asyncio.cluster import ClusterNode

from server import seen, spam
from server.accounts import Caller
from server.models import Tweet
from server.store import tweets as tweet_store
from server.store import users as user_store
from server.tweetcache import hydrate
from tests.rediscluster import clusterapp
from tests.rediscluster.spread import on_every_master, same_slot

settings, svc = clusterapp.settings, clusterapp.svc  # an in-process app on the cluster


async def test_tweet_cache_stores_reads_and_drops_tweets_on_every_master(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, redis_cluster: Any
) -> None:
    author, reader = await make_user(), await make_user()
    cache = svc.tweet_cache
    counter = iter(range(100))

    async def post() -> str:
        return str((await make_tweet(author, f"tweet {next(counter)}"))["tweet_id"])

    _, ids = await on_every_master(post, cache._key, redis_cluster)
    assert all(same_slot(cache._key(t), cache._version_key(t)) for t in ids)

    await cache.forget(ids)  # cold
    found, seen = await cache.lookup(ids)
    assert found == {} and set(seen) == set(ids)
    hydrated = await hydrate(cache, svc.db, [ObjectId(t) for t in ids])
    assert [t.tweet_id for t in hydrated] == ids
    found, seen = await cache.lookup(ids)  # one MGET per slot, all of them back
    assert set(found) == set(ids) and seen == {}
    assert found[ids[0]].content == "tweet 0"

    # A read that raced with a change is not stored; the others are.
    first, second = ids[0], ids[1]
    await cache.forget([first, second])
    _, seen = await cache.lookup(ids)
    fresh = await tweet_store.by_ids(svc.db, tweet_ids=[ObjectId(first), ObjectId(second)])
    await cache.forget([first])  # changed while it was being read
    await cache.store(fresh, seen)
    found, _ = await cache.lookup(ids)
    assert first not in found and second in found

    # Edits and deletes show on the next read, through the API.
    r = await client.patch(f"/tweets/{second}", json={"content": "edited"}, headers=author.headers)
    assert r.status_code == 200, r.text
    r = await client.get(f"/tweets/{second}", headers=reader.headers)
    assert r.json()["content"] == "edited"
    assert (await client.delete(f"/tweets/{ids[2]}", headers=author.headers)).status_code == 204
    assert (await client.get(f"/tweets/{ids[2]}", headers=reader.headers)).status_code == 404
    r = await client.get(
        f"/users/{author.id}/tweets", headers=reader.headers, params={"limit": 100}
    )
    assert ids[2] not in [t["tweet_id"] for t in r.json()["items"]]


async def test_liked_sets_of_readers_on_every_master(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, redis_cluster: Any
) -> None:
    author = await make_user()
    liked, other = (
        (await make_tweet(author, "like me"))["tweet_id"],
        (await make_tweet(author, "not me"))["tweet_id"],
    )
    set_key = lambda user: svc.liked._keys(user.id)[1]  # noqa: E731
    readers, _ = await on_every_master(make_user, set_key, redis_cluster)

    for reader in readers:
        assert same_slot(*svc.liked._keys(reader.id))  # the fill script's keys
        r = await client.post(f"/tweets/{liked}/likes", headers=reader.headers)
        assert r.status_code == 200, r.text
    for reader in readers:
        r = await client.get(f"/users/{author.id}/tweets", headers=reader.headers)
        marks = {t["tweet_id"]: t["liked_by_me"] for t in r.json()["items"]}
        assert marks == {liked: True, other: False}
        version, members, marker = svc.liked._keys(reader.id)
        assert await svc.cache_redis.smembers(members) == {liked}  # filled on the cluster
        assert await svc.cache_redis.get(marker) == "all"

    unliker = readers[0]
    assert (
        await client.delete(f"/tweets/{liked}/likes", headers=unliker.headers)
    ).status_code == 200
    r = await client.get(f"/tweets/{liked}", headers=unliker.headers)
    assert r.json()["liked_by_me"] is False
    r = await client.get(f"/tweets/{liked}", headers=readers[1].headers)
    assert r.json()["liked_by_me"] is True


async def test_recent_ids_of_authors_on_every_master_and_a_lost_marker(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, redis_cluster: Any
) -> None:
    recent = svc.recent
    authors, _ = await on_every_master(make_user, lambda u: recent._key(u.id), redis_cluster)
    assert all(same_slot(recent._key(a.id), recent._marker(a.id)) for a in authors)
    posted = [(await make_tweet(a, f"by {a.user_name}"))["tweet_id"] for a in authors]
    newest_first = sorted(posted, reverse=True)

    who = [a.id for a in authors]
    assert [str(t) for t in await recent.newest(who, before=None, limit=10)] == newest_first
    r = await client.get("/tweets", headers=authors[0].headers)
    assert [t["tweet_id"] for t in r.json()["items"]] == newest_first

    # A marker from another server run (a lost shard, a failover) has that set rebuilt, and
    # the new marker names the run of the master holding the set.
    lost = authors[1].id
    await svc.cache_redis.set(recent._marker(lost), "0" * 40 + ":1")
    await svc.cache_redis.delete(recent._key(lost))
    assert [str(t) for t in await recent.newest(who, before=None, limit=10)] == newest_first
    run_id = redis_cluster.master_of(recent._key(lost)).cli("info", "server")
    marker = await svc.cache_redis.get(recent._marker(lost))
    assert f"run_id:{marker.rpartition(':')[0]}" in run_id

    gone = posted[2]
    assert (await client.delete(f"/tweets/{gone}", headers=authors[2].headers)).status_code == 204
    remaining = [t for t in newest_first if t != gone]
    assert [str(t) for t in await recent.newest(who, before=None, limit=10)] == remaining


async def test_spam_repeat_counters_on_every_master(
    client: httpx.AsyncClient, make_user: Any, make_tweet: Any, svc: Any, redis_cluster: Any
) -> None:
    text = "buy my stuff"
    digest_key = lambda u: spam.repeat_key(svc, u.id, text)  # noqa: E731
    spammers, _ = await on_every_master(make_user, digest_key, redis_cluster)
    for spammer in spammers:
        first = await make_tweet(spammer, text)
        # Screening the first again (a re-run batch) still counts it once.
        assert await spam.repeated_post(svc, [Tweet(**first)]) == [False]
        for _ in range(2):
            await make_tweet(spammer, text)
        assert await svc.cache_redis.scard(digest_key(spammer)) == 3  # counted in the cluster
    queued = await svc.db.reports.find({"reason": "spam:repeated_post"}).to_list()
    assert len(queued) == len(spammers)


async def test_a_page_of_tweets_costs_one_round_trip_per_master(
    client: httpx.AsyncClient,
    make_user: Any,
    make_tweet: Any,
    svc: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A page's keys are spread over every slot, yet reading and storing it sends each master
    one request (a pipeline), not one per key."""
    author = await make_user()
    ids = [str((await make_tweet(author, f"page {i}"))["tweet_id"]) for i in range(8)]
    cache = svc.tweet_cache
    await cache.forget(ids)
    sent: list[str] = []

    def counting(method: Any) -> Any:
        async def call(node: ClusterNode, *args: Any, **kwargs: Any) -> Any:
            sent.append(node.name)
            return await method(node, *args, **kwargs)

        return call

    for name in ("execute_command", "execute_pipeline"):
        monkeypatch.setattr(ClusterNode, name, counting(getattr(ClusterNode, name)))
    absent = [str(ObjectId()) for _ in range(30)]
    await cache.lookup(absent)  # 60 keys
    assert len(sent) == len(set(sent)) == 3  # 30 slots, 3 masters: one request each
    sent.clear()
    await hydrate(cache, svc.db, [ObjectId(t) for t in ids])  # a lookup, then a store
    assert sent and all(sent.count(node) <= 2 for node in sent)
    found, _ = await cache.lookup(ids)
    assert set(found) == set(ids)

    # A page with the reader's marks (their three sets share the reader's slot): still one
    # request per master, once the sets are built.
    reader = await make_user()
    record = (await user_store.by_ids(svc.db, user_ids=[reader.id]))[reader.id]
    caller, oids = Caller(record, "session"), [ObjectId(t) for t in ids]
    assert (await client.post(f"/tweets/{ids[3]}/likes", headers=reader.headers)).is_success
    await seen.hydrate(svc, caller, oids)  # builds the reader's sets
    sent.clear()
    shown = await seen.hydrate(svc, caller, oids)
    assert len(sent) == len(set(sent)) <= 3, sent
    assert [t.tweet_id for t in shown] == ids
    assert [t.liked_by_me for t in shown] == [t == ids[3] for t in ids]
