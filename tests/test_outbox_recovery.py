"""A worker that dies after moving counters but before recording them, then the write is undone.

The worker records what it applied (an edge's ``counted``, a tweet's ``fx``) after the
counters move. Killed in between, and with the like, follow or tweet undone before the next
round, the next round reads "off, not counted": it must still take the count back, or the
counter stays one too high for good (seen in the SIGKILL test, once in a few runs). The
worker's recording step is made to fail here, exactly where a kill would land, so each case
runs every time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bson import ObjectId

from server.store import edges
from server.store import tweets as tweet_store
from server.store import users as user_store


async def _user(db: Any, user_id: str) -> dict[str, Any]:
    """The user as stored, counters included (its tweet_count lives in user_stats)."""
    user = await user_store.by_id(db, user_id=user_id)
    assert user is not None
    return user.model_dump()


class Killed(Exception):
    """Stands for the SIGKILL: the worker stops right here."""


@pytest.fixture
async def worker(app: Any) -> Any:
    """The app's outbox worker, stopped: the test runs its rounds by hand, each one whole
    (new tweets finished in the round that shows them)."""
    outbox = app.state.services.outbox
    await outbox.stop()
    outbox.finish_seconds = 0
    return outbox


async def die_before_recording(worker: Any, monkeypatch: Any, module: Any, name: str) -> None:
    """One round that moves the counters and dies before ``module.name`` records them."""

    async def killed(*args: Any, **kwargs: Any) -> None:
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(module, name, killed)
        with pytest.raises(Killed):
            await worker.run_once()


async def test_a_like_undone_after_a_dead_round_is_uncounted(
    app, raw, worker, monkeypatch, make_user, make_tweet
):
    author, fan = await make_user(), await make_user()
    tweet = await make_tweet(author, "count me once")
    await worker.drain()
    path = f"/tweets/{tweet['tweet_id']}/likes"
    assert (await raw.post(path, headers=fan.headers)).status_code in (200, 201)
    await die_before_recording(worker, monkeypatch, edges, "settle")
    db = app.state.services.db
    counted = await db.tweets.find_one({"_id": ObjectId(tweet["tweet_id"])})
    assert counted["like_count"] == 1  # the dead round moved it
    assert (await raw.delete(path, headers=fan.headers)).status_code in (200, 204)
    await worker.drain()
    after = await db.tweets.find_one({"_id": ObjectId(tweet["tweet_id"])})
    assert after["like_count"] == 0
    assert await db.likes.count_documents({}) == 0
    # Liked again: counted again, once.
    assert (await raw.post(path, headers=fan.headers)).status_code in (200, 201)
    await worker.drain()
    await worker.drain()
    again = await db.tweets.find_one({"_id": ObjectId(tweet["tweet_id"])})
    assert again["like_count"] == 1


async def test_a_follow_undone_after_a_dead_round_is_uncounted(
    app, raw, worker, monkeypatch, make_user
):
    star, fan = await make_user(), await make_user()
    await worker.drain()
    path = f"/users/{star.id}/follow"
    assert (await raw.post(path, headers=fan.headers)).status_code == 200
    await die_before_recording(worker, monkeypatch, edges, "settle")
    assert (await raw.delete(path, headers=fan.headers)).status_code in (200, 204)
    await worker.drain()
    db = app.state.services.db
    users = {str(u["_id"]): u async for u in db.users.find({})}
    assert users[star.id]["follower_count"] == 0
    assert users[fan.id]["following_count"] == 0
    assert await db.follows.count_documents({}) == 0


async def test_a_tweet_deleted_after_a_dead_round_is_uncounted(
    app, raw, worker, monkeypatch, make_user
):
    author = await make_user()
    await worker.drain()
    r = await raw.post("/tweets", json={"content": "gone soon"}, headers=author.headers)
    assert r.status_code == 201, r.text
    await die_before_recording(worker, monkeypatch, tweet_store, "settle")
    db = app.state.services.db
    user = await _user(db, author.id)
    assert user["tweet_count"] == 1  # the dead round counted it
    tweet_id = r.json()["tweet_id"]
    assert (await raw.delete(f"/tweets/{tweet_id}", headers=author.headers)).status_code == 204
    await worker.drain()
    user = await _user(db, author.id)
    assert user["tweet_count"] == 0
    assert await db.tweets.count_documents({}) == 0


async def test_stopping_the_worker_mid_batch_is_not_swallowed(worker):
    """A stop (cancellation) that lands while a failed batch winds down its lease renewal
    must stop the worker; swallowed, the worker retried forever and shutdown hung."""
    import asyncio

    async def failing_batch() -> None:
        async with worker._renewing():
            asyncio.current_task().cancel()  # the stop arrives ...
            raise RuntimeError("the database went away")  # ... as the batch fails

    task = asyncio.create_task(failing_batch())
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_a_worker_stopped_while_taking_its_lease_gives_it_back(app, clock):
    """Stopped at any moment of its first round (before, while and after it takes its lease),
    the worker gives the lease back: a take that landed after the give-back would make the
    lease outlive the worker (with this test clock, frozen, for ever; in production for a
    whole term), and no other process would apply anything meanwhile."""
    from server.outbox import LEASE_ID, Outbox

    svc = app.state.services
    await svc.outbox.stop()
    for delay in range(20):  # from before it sends to after it is answered
        outbox = Outbox(svc)
        outbox.start()
        await asyncio.sleep(delay / 2000)  # its first command is on its way
        await outbox.stop()
        lease = await svc.db.outbox_lease.find_one({"_id": LEASE_ID})
        assert lease is None or lease["until"] <= clock(), lease


# A new tweet's outbox entry lives in ``outbox`` (server/store/intents.py); its windows:


async def test_an_entry_whose_tweet_never_came_is_dropped_and_its_id_refused(
    app, raw, worker, clock, make_user
):
    """Killed between a new tweet's outbox entry and the tweet: the entry waits out the grace
    period (its request may still be storing the tweet), then a tombstone takes the id, so
    a request slower than that cannot store it, and nothing was counted or shown."""
    from pymongo.errors import DuplicateKeyError

    author = await make_user()
    await worker.drain()
    db, svc = app.state.services.db, app.state.services
    lost = ObjectId()
    await db.outbox.insert_one({"_id": lost, "pending": True, "at": clock()})
    await worker.drain()
    assert await db.outbox.count_documents({}) == 1  # within the grace: kept
    clock.advance(seconds=svc.settings.outbox_intent_grace_seconds + 1)
    await worker.drain()
    assert await db.outbox.count_documents({}) == 0
    with pytest.raises(DuplicateKeyError):  # the slow request's tweet, too late
        await tweet_store.insert(
            db, tweet_id=lost, user_id=author.id, user_name=author.user_name, content="late",
            html="<p>late</p>", tags=[], mentions=[], now=clock(),
        )  # fmt: skip
    await db.outbox.delete_many({})  # that request's own entry, which its process would drop
    assert (await raw.get(f"/tweets/{lost}")).status_code == 404
    assert (await raw.get(f"/users/{author.id}/tweets")).json()["items"] == []
    assert (await raw.get("/tweets")).json()["items"] == []
    user = await _user(db, author.id)
    assert user["tweet_count"] == 0
    assert await tweet_store.exists(db, tweet_ids=[lost]) == set()
    # Killed after the tombstone, before the entry went: the next round just drops it.
    await db.outbox.insert_one({"_id": lost, "pending": True, "at": clock()})
    await worker.drain()
    assert await db.outbox.count_documents({}) == 0


async def test_a_round_of_posts_shares_one_entry_and_each_tweet_is_applied_once(
    app, raw, worker, make_user
):
    """Posts stored in one group-commit round have one outbox entry between them: fewer
    entries than tweets, each tweet named once, and all of them applied (and the entries
    gone) in one drain."""
    authors = [await make_user() for _ in range(3)]
    await worker.drain()
    db = app.state.services.db
    posts = [
        raw.post("/tweets", json={"content": f"round {i}"}, headers=authors[i % 3].headers)
        for i in range(12)
    ]
    ids = {r.json()["tweet_id"] for r in await asyncio.gather(*posts)}
    entries = await db.outbox.find({}).to_list(None)
    named = [str(t) for e in entries for t in e["tweets"]]
    assert sorted(named) == sorted(ids)
    assert len(entries) < len(ids)
    await worker.drain()
    assert await db.outbox.count_documents({}) == 0
    for author in authors:
        user = await _user(db, author.id)
        assert user["tweet_count"] == 4


async def test_an_entry_waits_for_all_its_tweets_then_buries_the_missing_one(
    app, raw, worker, clock, make_user
):
    """Killed while a round's tweets were on their way, with one of them never stored: the
    entry's stored tweets wait (the missing one may still come) without holding up later
    rounds, then past the grace the missing id gets a tombstone and the others are applied,
    once."""
    author = await make_user()
    await worker.drain()
    db, svc = app.state.services.db, app.state.services
    r = await raw.post("/tweets", json={"content": "kept"}, headers=author.headers)
    kept = ObjectId(r.json()["tweet_id"])
    lost = ObjectId()
    await db.outbox.update_one({"tweets": kept}, {"$push": {"tweets": lost}})
    # A later round's tweet is not held up by the waiting entry, even with rounds of one.
    worker.batch_size = worker._batch = 1
    r = await raw.post("/tweets", json={"content": "later"}, headers=author.headers)
    later = r.json()["tweet_id"]
    await worker.drain()
    user = await _user(db, author.id)
    assert user["tweet_count"] == 1 and await db.outbox.count_documents({}) == 1
    clock.advance(seconds=svc.settings.outbox_intent_grace_seconds + 1)
    await worker.drain()
    await worker.drain()
    user = await _user(db, author.id)
    assert user["tweet_count"] == 2 and await db.outbox.count_documents({}) == 0
    assert (await db.tweets.find_one({"_id": lost}))["tombstone"] is True
    page = (await raw.get("/tweets")).json()["items"]
    assert [t["tweet_id"] for t in page] == [later, str(kept)]


async def test_a_new_tweet_deleted_while_its_entry_waits_behind_others_is_never_counted(
    app, raw, worker, make_user
):
    """The worker behind (rounds of one tweet here): a new tweet edited or deleted before its
    entry's round shows up as changed first. Taken then, its stored ``fx`` (what will have
    been applied) would read as counted, and the delete would take back a count never
    made; it waits for its entry instead, and the author's count ends right."""
    author = await make_user()
    await worker.drain()
    db = app.state.services.db
    posted = []
    for text in ["kept #a", "gone #b"]:
        r = await raw.post("/tweets", json={"content": text}, headers=author.headers)
        posted.append(r.json()["tweet_id"])
    r = await raw.delete(f"/tweets/{posted[1]}", headers=author.headers)
    assert r.status_code == 204
    assert await db.outbox.count_documents({}) == 2
    worker.batch_size = worker._batch = 1
    assert await worker.run_once()  # the first entry; the deleted tweet's is not reached
    user = await _user(db, author.id)
    assert user["tweet_count"] == 1
    assert await db.tweets.find_one({"_id": ObjectId(posted[1])}) is not None
    await worker.drain()
    user = await _user(db, author.id)
    assert user["tweet_count"] == 1 and await db.outbox.count_documents({}) == 0
    assert await db.tweets.find_one({"_id": ObjectId(posted[1])}) is None
    tags = {t["_id"]: t["count"] async for t in db.tags.find({})}
    assert tags.get("a") == 1 and not tags.get("b")


async def test_a_new_tweet_changed_before_its_first_round_is_applied_once(
    app, raw, worker, make_user
):
    """Edited, or deleted, before the worker first saw it: the entry says nothing was
    applied whatever the document's ``fx`` says, so it is counted once, then not at all."""
    author = await make_user()
    await worker.drain()
    db = app.state.services.db
    r = await raw.post("/tweets", json={"content": "first #one"}, headers=author.headers)
    kept = r.json()["tweet_id"]
    r = await raw.patch(f"/tweets/{kept}", json={"content": "then #two"}, headers=author.headers)
    assert r.status_code == 200, r.text
    r = await raw.post("/tweets", json={"content": "gone #three"}, headers=author.headers)
    gone = r.json()["tweet_id"]
    assert (await raw.delete(f"/tweets/{gone}", headers=author.headers)).status_code == 204
    assert await db.outbox.count_documents({}) == 2
    await worker.drain()
    assert await db.outbox.count_documents({}) == 0
    user = await _user(db, author.id)
    assert user["tweet_count"] == 1
    tags = {t["_id"]: t["count"] async for t in db.tags.find({})}
    assert tags.get("two") == 1 and not tags.get("one") and not tags.get("three")
    doc = await db.tweets.find_one({"_id": ObjectId(kept)})
    assert "pending" not in doc and doc["fx"]["tags"] == ["two"]
    assert await db.tweets.find_one({"_id": ObjectId(gone)}) is None
    # A later delete of the kept tweet takes back exactly what was counted.
    assert (await raw.delete(f"/tweets/{kept}", headers=author.headers)).status_code == 204
    await worker.drain()
    user = await _user(db, author.id)
    assert user["tweet_count"] == 0
    assert {t["_id"]: t["count"] async for t in db.tags.find({})}.get("two") == 0


async def test_a_new_tweet_costs_the_worker_no_update_of_its_document(app, raw, worker, make_user):
    """What the worker applies for a new tweet is what it was stored saying (so recording
    it needs no update of the tweet, only the entry's removal)."""

    def tweet_updates() -> float:
        return _updates(app, "tweets")

    author = await make_user()
    await worker.drain()
    for text in ["plain", "with #tag and @nobody"]:
        r = await raw.post("/tweets", json={"content": text}, headers=author.headers)
        assert r.status_code == 201
    before = tweet_updates()
    await worker.drain()
    assert tweet_updates() == before
    assert await app.state.services.db.outbox.count_documents({}) == 0
    user = await _user(app.state.services.db, author.id)
    assert user["tweet_count"] == 2


def _updates(app: Any, collection: str) -> float:
    """``update`` commands sent to ``collection`` so far (``/metrics``' counter)."""
    return sum(
        s.value
        for metric in app.state.db_metrics.commands.collect()
        for s in metric.samples
        if s.name == "murmur_db_commands_total"
        and s.labels["collection"] == collection
        and s.labels["command"] == "update"
    )


async def test_posts_are_counted_in_user_stats_not_on_the_user_document(
    app, raw, client, worker, make_user
):
    author = await make_user()
    await worker.drain()
    before = _updates(app, "users")
    for n in range(3):
        r = await raw.post("/tweets", json={"content": f"count {n}"}, headers=author.headers)
        assert r.status_code == 201
    await worker.drain()
    assert _updates(app, "users") == before  # the user's document (nine indexes) is left alone
    db = app.state.services.db
    stats = await db.user_stats.find_one({"_id": ObjectId(author.id)})
    assert stats is not None and stats["tweet_count"] == 3
    assert (await client.get(f"/users/{author.id}")).json()["tweet_count"] == 3


async def test_a_count_kept_on_the_user_document_carries_over_exactly(
    app, raw, client, worker, make_user
):
    """An earlier version counted tweets on the user's document, with the ids it applied:
    the first count here starts from there, and a round that version applied but did not
    record is not counted twice."""
    author = await make_user()
    await worker.drain()
    r = await raw.post(
        "/tweets", json={"content": "counted before the upgrade"}, headers=author.headers
    )
    assert r.status_code == 201
    first = ObjectId(r.json()["tweet_id"])
    db = app.state.services.db
    # As the earlier version left it: 7 counted there, this tweet's count among them (its
    # round died before recording it, so the tweet's entry still waits).
    legacy = [f"t{ObjectId()}c0" for _ in range(6)] + [f"t{first}c0"]
    await db.users.update_one(
        {"_id": ObjectId(author.id)}, {"$set": {"tweet_count": 7, "fx_ops": legacy}}
    )
    await app.state.services.users_changed([author.id])  # cached copies go
    assert (await client.get(f"/users/{author.id}")).json()["tweet_count"] == 7  # read there
    r = await raw.post("/tweets", json={"content": "after"}, headers=author.headers)
    assert r.status_code == 201
    await worker.drain()
    stats = await db.user_stats.find_one({"_id": ObjectId(author.id)})
    assert stats["tweet_count"] == 8 and f"t{first}c0" in stats["fx_ops"]
    user = await db.users.find_one({"_id": ObjectId(author.id)})
    assert user["tweet_count"] == 7  # no longer moved
    assert (await client.get(f"/users/{author.id}")).json()["tweet_count"] == 8
    # Deleting the carried-over tweet takes its count back from the stats.
    assert (await raw.delete(f"/tweets/{first}", headers=author.headers)).status_code == 204
    await worker.drain()
    assert (await db.user_stats.find_one({"_id": ObjectId(author.id)}))["tweet_count"] == 7


async def _home(raw: Any, user: Any) -> list[str]:
    r = await raw.get("/tweets/following", params={"limit": 100}, headers=user.headers)
    assert r.status_code == 200, r.text
    return [t["tweet_id"] for t in r.json()["items"]]


async def _found(raw: Any, words: str) -> list[str]:
    r = await raw.get("/search/tweets", params={"q": words})
    assert r.status_code == 200, r.text
    return [t["tweet_id"] for t in r.json()["items"]]


async def _mentions(raw: Any, user: Any) -> list[str]:
    r = await raw.get("/notifications", params={"limit": 100}, headers=user.headers)
    assert r.status_code == 200, r.text
    return [n["tweet_id"] for n in r.json()["items"] if n["kind"] == "mention"]


async def _posted(raw: Any, author: Any, text: str) -> str:
    r = await raw.post("/tweets", json={"content": text}, headers=author.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["tweet_id"])


@pytest.fixture
def holding(worker: Any, monkeypatch: Any) -> list[str]:
    """The worker finishing only once nothing new is waiting (as under load, between its
    ``FINISH_SECONDS``); the ids of the tweets each ``show`` got, in order."""
    from server.effects import tweets as tweet_effects

    worker.finish_seconds = 3600
    shown: list[str] = []
    show = tweet_effects.show

    async def recording(svc: Any, docs: list[dict[str, Any]]) -> Any:
        shown.extend(str(d["_id"]) for d in docs)
        return await show(svc, docs)

    monkeypatch.setattr(tweet_effects, "show", recording)
    return shown


async def test_new_tweets_are_shown_each_round_and_finished_together(
    app, raw, worker, holding, make_user
):
    """Followers hear of a new tweet in the round that finds it; its counters, search and
    record come with the others' once no more are waiting, and none is shown twice."""
    author, fan, named = await make_user(), await make_user(), await make_user()
    assert (await raw.post(f"/users/{author.id}/follow", headers=fan.headers)).status_code == 200
    await worker.drain()
    db = app.state.services.db
    first = await _posted(raw, author, f"first zebra @{named.user_name}")
    assert await worker.run_once()
    assert await _home(raw, fan) == [first]  # shown ...
    assert await _mentions(raw, named) == [first]
    assert (await _user(db, author.id))["tweet_count"] == 0  # ... not finished
    assert await _found(raw, "zebra") == []
    assert await db.outbox.count_documents({}) == 1
    second = await _posted(raw, author, "second zebra")
    assert await worker.run_once()
    assert await _home(raw, fan) == [second, first]
    assert (await _user(db, author.id))["tweet_count"] == 0
    assert not await worker.run_once()  # nothing new: the shown ones are finished
    assert holding == [first, second]
    assert (await _user(db, author.id))["tweet_count"] == 2
    assert sorted(await _found(raw, "zebra")) == sorted([first, second])
    assert await db.outbox.count_documents({}) == 0


async def test_tweets_shown_by_a_worker_that_died_are_applied_once(
    app, raw, worker, holding, make_user
):
    """Killed between showing and finishing, the worker leaves the entries: the next one
    applies them whole. Counted once, notified once, in the timeline once."""
    author, fan, named = await make_user(), await make_user(), await make_user()
    assert (await raw.post(f"/users/{author.id}/follow", headers=fan.headers)).status_code == 200
    await worker.drain()
    db = app.state.services.db
    tweet = await _posted(raw, author, f"twice shown @{named.user_name} #twice")
    assert await worker.run_once()
    worker._shown.clear()  # what a kill -9 takes with the process
    await worker.drain()
    assert holding == [tweet, tweet]
    assert await _home(raw, fan) == [tweet]
    assert await _mentions(raw, named) == [tweet]
    assert (await _user(db, author.id))["tweet_count"] == 1
    assert (await db.tags.find_one({"_id": "twice"}))["count"] == 1
    assert await db.outbox.count_documents({}) == 0


async def test_stopping_the_worker_finishes_what_it_showed(app, raw, worker, holding, make_user):
    author = await make_user()
    await worker.drain()
    db = app.state.services.db
    await _posted(raw, author, "before the stop")
    assert await worker.run_once()
    assert (await _user(db, author.id))["tweet_count"] == 0
    await worker.stop()
    assert (await _user(db, author.id))["tweet_count"] == 1
    assert await db.outbox.count_documents({}) == 0
