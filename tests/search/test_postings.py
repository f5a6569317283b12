"""The keyword back-end's postings: kept in step with every change, read rarest term first."""

from __future__ import annotations

from typing import Any

import pytest
from bson import ObjectId

from server.search import keyword
from server.settings import Settings
from server.store import postings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"admin_emails": ["boss@example.com"]})


@pytest.fixture
def db(app: Any) -> Any:
    if app.state.services.search_backend != "keyword":
        pytest.fail("these tests need the keyword back-end (a server without text indexes)")
    return app.state.services.db


async def holders(db: Any, term: str) -> set[str]:
    """The tweet ids in ``term``'s postings, and its document frequency must agree."""
    found = (await postings.read(db, terms=[term]))[term]
    df = (await postings.document_frequencies(db, terms=[term])).get(term, 0)
    assert df == len(found), (term, df, len(found))
    return {str(i) for i in found}


async def test_create_edit_delete_keep_the_postings_in_step(client, db, make_user, make_tweet):
    u = await make_user()
    t = await make_tweet(u, "cats and cats, #pets @bob")
    tid = t["tweet_id"]
    for term in ("cat", "#pets", "@bob"):
        assert await holders(db, term) == {tid}
    [entry] = [e for term, _seq, e in (await slots(db, tid)) if term == "cat"]
    assert entry == postings.encode(ObjectId(tid), entry_time(entry), 2)  # counted twice

    r = await client.patch(f"/tweets/{tid}", json={"content": "dogs and cats"}, headers=u.headers)
    assert r.status_code == 200
    assert await holders(db, "dog") == {tid}
    assert await holders(db, "cat") == {tid}  # one entry, now counted once
    assert await holders(db, "#pets") == set()

    r = await client.delete(f"/tweets/{tid}", headers=u.headers)
    assert r.status_code == 204
    for term in ("dog", "cat"):
        assert await holders(db, term) == set()
    assert await db.search_slots.count_documents({}) == 0


async def test_hide_and_restore_take_a_tweet_out_and_back(client, db, make_user, make_tweet):
    boss, u = await make_user("boss"), await make_user()
    t = await make_tweet(u, "moderated musings")
    r = await client.post(f"/moderation/tweets/{t['tweet_id']}/hide", headers=boss.headers)
    assert r.status_code in (200, 204), r.text
    assert await holders(db, "muse") == set()
    r = await client.post(f"/moderation/tweets/{t['tweet_id']}/restore", headers=boss.headers)
    assert r.status_code in (200, 204), r.text
    assert await holders(db, "muse") == {t["tweet_id"]}
    r = await client.get("/search/tweets", params={"q": "musings"})
    assert [i["tweet_id"] for i in r.json()["items"]] == [t["tweet_id"]]


async def test_the_rarest_term_is_read_first_and_a_far_commoner_one_checked_on_tweets(
    client, db, make_user, make_tweet, monkeypatch
):
    u = await make_user()
    for i in range(6):
        await make_tweet(u, f"common words number {i}")
    await make_tweet(u, "common and unusual together")
    await make_tweet(u, "unusual alone")
    reads: list[list[str]] = []
    real_read = postings.read

    async def recording_read(db: Any, *, terms: list[str]) -> Any:
        reads.append(terms)
        return await real_read(db, terms=terms)

    monkeypatch.setattr(postings, "read", recording_read)
    r = await client.get("/search/tweets", params={"q": "common unusual"})
    assert [t["content"] for t in r.json()["items"]] == ["common and unusual together"]
    assert reads[-1] == ["unusu", "common"]  # rarest first, both read (df 2 vs 7)

    monkeypatch.setattr(keyword, "RESIDUAL_RATIO", 1)  # now 'common' is checked on the tweets
    for params in ({"q": "common unusual"}, {"q": "common unusual", "sort": "latest"}):
        r = await client.get("/search/tweets", params=params)
        assert [t["content"] for t in r.json()["items"]] == ["common and unusual together"]
        assert reads[-1] == ["unusu"]
    r = await client.get("/search/tweets", params={"q": "unusual -common"})
    assert [t["content"] for t in r.json()["items"]] == ["unusual alone"]


async def test_bulk_load_builds_what_one_by_one_indexing_builds(db, make_user, make_tweet):
    u, v = await make_user(), await make_user()
    for i in range(5):
        await make_tweet(u if i % 2 else v, f"bulk #load test {i} @someone load")
    built = await dump(db)
    tweets = await db.tweets.find({}, {"user_id": 1, "created_at": 1, "terms": 1}).to_list()
    for name in ("search_postings", "search_terms", "search_slots"):
        await db[name].delete_many({})
    await postings.bulk_load(db, tweets)
    assert await dump(db) == built


async def slots(db: Any, tweet_id: str) -> list[list[Any]]:
    doc = await db.search_slots.find_one({"_id": ObjectId(tweet_id)})
    return list(doc["at"])


def entry_time(entry: str) -> Any:
    return next(iter(postings.decode(entry).values())).created_at


async def dump(db: Any) -> tuple[Any, ...]:
    buckets = (
        await db.search_postings.find({}, {"_id": 0}).sort([("term", 1), ("seq", 1)]).to_list()
    )
    terms = await db.search_terms.find({}).sort("_id", 1).to_list()
    at = await db.search_slots.find({}).sort("_id", 1).to_list()
    return buckets, terms, at


async def test_concurrent_tweets_with_the_same_words_are_all_indexed(client, db, make_user):
    """Many tweets sharing terms at once: every POST succeeds and every tweet is findable."""
    import asyncio

    users = [await make_user() for _ in range(5)]

    async def post(i: int) -> Any:
        who = users[i % len(users)]
        return await client.post(
            "/tweets", json={"content": f"shared words storm {i}"}, headers=who.headers
        )

    answers = await asyncio.gather(*(post(i) for i in range(40)))
    assert [r.status_code for r in answers] == [201] * 40
    ids = {r.json()["tweet_id"] for r in answers}
    assert await holders(db, "storm") == ids
    seen: set[str] = set()
    cursor = None
    while True:
        params = {"q": "shared storm", "limit": 100, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/search/tweets", params=params)).json()
        seen |= {t["tweet_id"] for t in page["items"]}
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids


async def test_new_buckets_are_inserted_and_partial_ones_extended(db, monkeypatch):
    """Buckets of 3: a batch that fills one bucket and opens the next, a batch that
    extends a partial bucket, the same batch again (a retried round), and slots taken by a
    round that died before writing its buckets: every posting is read back exactly once."""
    from datetime import UTC, datetime

    monkeypatch.setattr(postings, "BUCKET_SIZE", 3)
    when = datetime.now(UTC)

    def batch(n: int) -> list[postings.Indexed]:
        return [postings.Indexed(ObjectId(), when, ["word"]) for _ in range(n)]

    first, second, third = batch(4), batch(4), batch(2)
    await postings.add_many(db, first)  # slots 0-3: bucket 0 full, bucket 1 opened
    await postings.add_many(db, second)  # 4-7: bucket 1 extended, bucket 2 opened
    await postings.add_many(db, second)  # a retried round: nothing new
    # A round that died after taking slots 8-9: bucket 3 is opened by the next round's
    # run (slots 10-11), bucket 2 never receives entries 8 and 9.
    await db.search_terms.update_one({"_id": "word"}, {"$inc": {"slots": 2}})
    await postings.add_many(db, third)
    buckets = await db.search_postings.find({"term": "word"}).sort("seq", 1).to_list()
    assert [(b["seq"], len(b["s"]) // 38) for b in buckets] == [(0, 3), (1, 3), (2, 2), (3, 2)]
    expected = {t.tweet_id for t in first + second + third}
    assert set((await postings.read(db, terms=["word"]))["word"]) == expected
    assert (await postings.document_frequencies(db, terms=["word"]))["word"] == 10


async def test_from_reads_the_authors_tweets_and_blocked_authors_are_checked_on_tweets(
    client, db, make_user, make_tweet, clock
):
    """Postings carry no author term: ``from:`` walks the author's own tweets (words,
    exclusions, phrases, pages), and a reader's blocked author is dropped from full pages."""
    ann, ben, reader = await make_user("ann"), await make_user("ben"), await make_user()
    texts = ["green tea at noon", "green apples", "green tea, black tea", "a tea garden"]
    for text in texts:
        await make_tweet(ann, text)
        clock.advance(seconds=1)
    for i in range(6):
        await make_tweet(ben, f"green tea {i}")
        clock.advance(seconds=1)
    assert await db.search_terms.count_documents({"_id": {"$regex": "^~"}}) == 0

    async def contents(params: dict[str, str], headers: Any = None) -> tuple[list[str], Any]:
        r = await client.get("/search/tweets", params={"sort": "latest", **params}, headers=headers)
        assert r.status_code == 200, r.text
        return [t["content"] for t in r.json()["items"]], r.json()["next_cursor"]

    by_ann = {"from_user": "ann"}
    assert (await contents({"q": "green tea", **by_ann}))[0] == texts[2::-2]
    assert (await contents({"q": "tea -black", **by_ann}))[0] == [texts[3], texts[0]]
    assert (await contents({"q": '"black tea"', **by_ann}))[0] == [texts[2]]
    assert (await contents({"q": "green tea", "from_user": "ben"}))[0][0] == "green tea 5"
    first, cursor = await contents({"q": "tea", "limit": "2", **by_ann})
    rest, _ = await contents({"q": "tea", "limit": "2", "cursor": cursor, **by_ann})
    assert first + rest == [texts[3], texts[2], texts[0]]

    # ben's six are the newest "green" tweets: blocking him still leaves a full page of ann's.
    r = await client.post(f"/users/{ben.id}/block", headers=reader.headers)
    assert r.status_code == 200
    page, _ = await contents({"q": "green", "limit": "2"}, reader.headers)
    assert page == [texts[2], texts[1]]
    r = await client.get("/search/tweets", params={"q": "green"}, headers=reader.headers)
    assert {t["user_id"] for t in r.json()["items"]} == {ann.id}
