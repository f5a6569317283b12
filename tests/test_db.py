"""Every index declared in server/db.py exists after start-up, exactly as declared."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import DuplicateKeyError

from server.db import INDEXES, RETIRED, connect, ensure_indexes

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
    # As an earlier version declared them: every tweet in the tag and quote indexes.
    await db.tweets.create_index([("tags", 1), ("_id", -1)], name="by_tag")
    await db.tweets.create_index(
        [("quote_of.tweet_id", 1), ("_id", -1)],
        name="quotes",
        partialFilterExpression={"quote_of.tweet_id": {"$exists": True}},
    )
    await ensure_indexes(db)
    names = set(await db.tweets.index_information())
    assert not names & set(RETIRED["tweets"])
    assert {"tagged", "quoted"} <= names
    await ensure_indexes(db)  # a second start (or another process) finds nothing to drop


async def test_only_tagged_tweets_and_quotes_are_in_their_indexes(db):
    await ensure_indexes(db)
    await db.tweets.insert_many(
        [
            {"tags": [], "quote_of": None},
            {"tags": ["murmur"], "quote_of": {"tweet_id": "65a000000000000000000001"}},
            {"tags": ["murmur", "news"]},
        ]
    )
    found = await db.tweets.find({"tags": "murmur"}).hint("tagged").to_list(None)
    assert len(found) == 2
    quoted = {"quote_of.tweet_id": "65a000000000000000000001"}
    assert len(await db.tweets.find(quoted).hint("quoted").to_list(None)) == 1
    # Everything the tag index holds, read through it: the untagged tweet is not there.
    assert await db.tweets.count_documents({}, hint="tagged") == 2
