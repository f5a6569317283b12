"""Every index declared in server/db.py exists after start-up, exactly as declared."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError

from server.db import INDEXES, RETIRED, connect, ensure_indexes
from server.store import tweets as tweet_store

OPTIONS = ("unique", "sparse", "partialFilterExpression", "expireAfterSeconds")


@pytest.fixture
async def db(mongo_url: str, db_name: str) -> Any:
    client = connect(mongo_url)
    yield client[db_name]
    await client.drop_database(db_name)
    await client.close()


async def _existing(db: Any) -> dict[str, dict[str, dict[str, Any]]]:
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for collection in INDEXES:
        cursor = await db[collection].list_indexes()
        found[collection] = {ix["name"]: dict(ix) async for ix in cursor}
    return found


async def test_ensure_indexes_creates_every_declared_index(db):
    await ensure_indexes(db)
    existing = await _existing(db)
    for collection, models in INDEXES.items():
        for model in models:
            wanted = model.document
            got = existing[collection].get(wanted["name"])
            assert got is not None, (collection, wanted["name"])
            assert list(got["key"].items()) == list(wanted["key"].items()), wanted["name"]
            for option in OPTIONS:
                assert got.get(option) == wanted.get(option), (wanted["name"], option)


async def test_ensure_indexes_is_idempotent(db):
    await ensure_indexes(db)
    before = await _existing(db)
    await ensure_indexes(db)
    assert await _existing(db) == before


async def test_declared_names_are_unique_per_collection():
    for collection, models in INDEXES.items():
        names = [m.document["name"] for m in models]
        assert len(names) == len(set(names)), collection


async def test_user_names_and_emails_are_unique_lower_cased(db):
    await ensure_indexes(db)
    await db.users.insert_one({"user_name_lower": "alice", "email_lower": "a@example.com"})
    with pytest.raises(DuplicateKeyError):
        await db.users.insert_one({"user_name_lower": "alice", "email_lower": "b@example.com"})
    with pytest.raises(DuplicateKeyError):
        await db.users.insert_one({"user_name_lower": "bob", "email_lower": "a@example.com"})
    assert await db.users.count_documents({}) == 1


async def test_writes_wait_for_a_majority(db):
    assert db.write_concern.document == {"w": "majority"}


async def test_indexes_an_earlier_version_made_are_replaced(db):
    # As earlier versions declared them: every tweet in the tag and quote indexes, then
    # partial tag and quote indexes and a replies index beside them.
    await db.tweets.create_index([("tags", 1), ("_id", -1)], name="by_tag")
    await db.tweets.create_index(
        [("quote_of.tweet_id", 1), ("_id", -1)],
        name="quotes",
        partialFilterExpression={"quote_of.tweet_id": {"$exists": True}},
    )
    await db.tweets.create_index([("in_reply_to", 1), ("_id", 1)], name="replies")
    await ensure_indexes(db)
    names = set(await db.tweets.index_information())
    assert not names & set(RETIRED["tweets"])
    assert "links" in names
    await ensure_indexes(db)  # a second start (or another process) finds nothing to drop


async def test_tags_replies_and_quotes_are_read_on_one_index(db):
    await ensure_indexes(db)
    parent, other = "65a000000000000000000001", "65a000000000000000000002"
    await db.tweets.insert_many(
        [
            new_document(tags=[], in_reply_to=None),
            new_document(tags=["murmur"], in_reply_to=parent, quote_of={"tweet_id": other}),
            new_document(tags=["murmur", "news"], in_reply_to=other),
        ]
    )

    async def through_links(query: dict[str, Any]) -> int:
        return len(await db.tweets.find(query).hint("links").to_list(None))

    assert await through_links({"links": tweet_store.tag_link("murmur")}) == 2
    assert await through_links({"links": tweet_store.quote_link(other)}) == 1
    replies = [tweet_store.reply_link(parent), tweet_store.reply_link(other)]
    assert await through_links({"links": {"$in": replies}}) == 2


async def test_tweets_stored_before_links_get_them_at_start_up(db):
    """An earlier version's tweets (no ``links``) get theirs once, and the marker left makes
    the next start one read."""
    await ensure_indexes(db)
    parent = "65a000000000000000000001"
    old = [
        {"tags": ["tea"], "in_reply_to": None},
        {"tags": [], "in_reply_to": parent, "quote_of": {"tweet_id": parent}},
        {"tags": ["tea", "green"], "in_reply_to": None, "quote_of": None},
    ]
    await db.tweets.insert_many(old)
    await tweet_store.backfill_links(db, chunk=2)  # two chunks
    found = [d["links"] async for d in db.tweets.find({}).sort("_id", 1)]
    assert found == [["#tea"], [f"r:{parent}", f"q:{parent}"], ["#tea", "#green"]]
    await db.tweets.insert_one({"tags": ["late"]})
    await tweet_store.backfill_links(db)  # done: the marker says so
    assert await db.tweets.count_documents({"links": {"$exists": False}}) == 1


def new_document(**fields: Any) -> dict[str, Any]:
    from datetime import UTC, datetime

    extra = {"quote_of": fields.pop("quote_of")} if "quote_of" in fields else None
    return tweet_store.new_document(
        user_id="u", user_name="u", content="c", html="c", mentions=[], now=datetime.now(UTC),
        extra=extra, **fields,
    )  # fmt: skip
