"""GET /tweets reads a page's worth of the newest tweets, not the whole collection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

from server.store import tweets as tweet_store
from tests.dbcount import by_collection, moved, quiet


def commands(app: Any, collection: str) -> float:
    return by_collection(app).get(collection, 0)


async def backdated(app: Any, ages: list[timedelta], **fields: Any) -> list[str]:
    """Store tweets whose ids say they were written ``ages`` ago; their ids, newest first."""
    now = datetime.now(UTC)
    docs = []
    for i, age in enumerate(ages):
        stamp = ObjectId.from_datetime(now - age)
        oid = ObjectId(stamp.binary[:4] + ObjectId().binary[4:])  # that second, unique
        docs.append(
            tweet_store.new_document(
                tweet_id=oid, user_id=fields.get("user_id", "u-old"), user_name="old",
                content=f"old {i}", html=f"<p>old {i}</p>", tags=[], mentions=[],
                now=now - age, extra={k: v for k, v in fields.items() if k != "user_id"},
            )
        )  # fmt: skip
    await tweet_store.insert_many(app.state.services.db, docs)
    return [str(d["_id"]) for d in sorted(docs, key=lambda d: d["_id"], reverse=True)]


async def test_paging_crosses_quiet_spells_and_reaches_the_first_tweet(client, app):
    # Three bursts far apart: a page must never end early at a gap, nor repeat a tweet.
    ages = [timedelta(seconds=s) for s in range(12)]
    ages += [timedelta(days=2, seconds=s) for s in range(12)]
    ages += [timedelta(days=400, seconds=s) for s in range(7)]
    expected = await backdated(app, ages)
    hidden = await backdated(app, [timedelta(days=2, seconds=5, milliseconds=500)], hidden=True)

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        async with quiet(app):  # the worker's reads of pending tweets are not the page's
            before = commands(app, "tweets")
            r = await client.get("/tweets", params=params)
            assert r.status_code == 200, r.text
            assert commands(app, "tweets") - before <= 3  # the page, widened at most twice
        body = r.json()
        seen += [t["tweet_id"] for t in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert pages < 20
    assert seen == expected
    assert hidden[0] not in seen


async def test_a_warm_public_page_is_one_database_command(client, app, make_user, make_tweet):
    user = await make_user()
    for i in range(25):
        await make_tweet(user, f"tweet {i}")
    assert (await client.get("/tweets")).status_code == 200  # learns how far a page reaches
    await app.state.services.outbox.drain()  # the posts' fan-out, off the request path
    async with quiet(app):
        before = by_collection(app)
        r = await client.get("/tweets", params={"sort": "latest"})
        assert r.status_code == 200 and len(r.json()["items"]) == 20
        assert moved(before, by_collection(app)) == {"tweets": 1}


async def test_muted_authors_leave_the_page_full(client, app, make_user, make_tweet):
    reader, loud, quiet = await make_user(), await make_user(), await make_user()
    for i in range(6):
        await make_tweet(quiet, f"quiet {i}")
    for i in range(30):
        await make_tweet(loud, f"loud {i}")
    r = await client.post(f"/users/{loud.id}/mute", headers=reader.headers)
    assert r.status_code == 200, r.text
    r = await client.get("/tweets", params={"limit": 5}, headers=reader.headers)
    body = r.json()
    assert [t["content"] for t in body["items"]] == [f"quiet {i}" for i in (5, 4, 3, 2, 1)]
    r = await client.get("/tweets", params={"limit": 5, "cursor": body["next_cursor"]},
                         headers=reader.headers)  # fmt: skip
    assert [t["content"] for t in r.json()["items"]] == ["quiet 0"]
    assert r.json()["next_cursor"] is None


async def test_a_warm_signed_in_public_page_is_the_page_and_the_likes(
    client, app, make_user, make_tweet
):
    # Was 4 round trips: the session, the user, the page, the likes (and the block and mute
    # sets every 30 s). The caller now comes from the auth caches.
    reader, author = await make_user(), await make_user()
    for i in range(22):
        await make_tweet(author, f"tweet {i}")
    assert (await client.get("/tweets", headers=reader.headers)).status_code == 200
    await app.state.services.outbox.drain()
    async with quiet(app):
        before = by_collection(app)
        r = await client.get("/tweets", params={"sort": "latest"}, headers=reader.headers)
        assert r.status_code == 200 and len(r.json()["items"]) == 20
        # Without Redis each of the reader's marks (liked, reposted, bookmarked) is one batched
        # query per page; with Redis they come from cached sets (tests/realtime/test_read_caches).
        marks = {"likes": 1, "reposts": 1, "bookmarks": 1}
        assert moved(before, by_collection(app)) == {"tweets": 1, **marks}


async def test_a_timeline_shorter_than_a_page_is_one_command_once_its_start_is_known(
    client, app, make_user, make_tweet
):
    user = await make_user()
    made = [(await make_tweet(user, f"only {i}"))["tweet_id"] for i in range(3)]
    await app.state.services.outbox.drain()
    first = await client.get("/tweets")  # finds where the timeline starts (up to 3 ranges)
    assert [t["tweet_id"] for t in first.json()["items"]] == made[::-1]
    async with quiet(app):
        before = by_collection(app)
        again = await client.get("/tweets")
        assert [t["tweet_id"] for t in again.json()["items"]] == made[::-1]
        assert again.json()["next_cursor"] is None
        assert moved(before, by_collection(app)) == {"tweets": 1}
    # A tweet older than the known start (restored, or written with an old id) still shows.
    older = await backdated(app, [timedelta(days=3)])
    items = (await client.get("/tweets")).json()["items"]
    assert [t["tweet_id"] for t in items] == [*made[::-1], *older]
