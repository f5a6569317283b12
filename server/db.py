"""The MongoDB connection, collection names and every index, declared in one place."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, IndexModel, WriteConcern
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure
from pymongo.monitoring import CommandListener

log = logging.getLogger("murmur.db")

Database = AsyncDatabase[dict]

# A document with a write whose effects are not applied yet is its own outbox entry: only
# those are in the outbox indexes.
PENDING: dict[str, Any] = {"partialFilterExpression": {"pending": True}}
# A partial index's filter for "holds a non-empty string" (see the tweets' indexes).
ANY_STRING: dict[str, Any] = {"$gt": ""}


def _idempotency() -> IndexModel:
    """Idempotency-Key on a create: one document per (user, key) while the key is kept
    (``store/idempotency.py``)."""
    return IndexModel(
        [("idempotency.key", ASCENDING)],
        unique=True,
        name="idempotency",
        partialFilterExpression={"idempotency.key": {"$exists": True}},
    )


# collection name -> its indexes. ensure_indexes() creates them all at start-up.
INDEXES: dict[str, list[IndexModel]] = {
    "users": [
        IndexModel([("user_name_lower", ASCENDING)], unique=True, name="user_name_unique"),
        IndexModel([("email_lower", ASCENDING)], unique=True, name="email_unique"),
        IndexModel([("github_id", ASCENDING)], name="github_id", sparse=True),
        IndexModel([("follower_count", DESCENDING)], name="by_follower_count"),
        # People search (store/prefixed.py): one prefix, then a band of follower counts.
        IndexModel([("search_prefixes", ASCENDING), ("follower_count", DESCENDING)], name="search"),
        # Unverified accounts expire (the field is removed on verification); sign-up and
        # verify also treat an expired one as gone, whenever the TTL monitor runs.
        IndexModel([("unverified_expires_at", ASCENDING)], expireAfterSeconds=0, name="unverified"),
        # A deleted account's document goes when its name may be taken again.
        IndexModel([("deleted_expires_at", ASCENDING)], expireAfterSeconds=0, name="deleted"),
        IndexModel([("pending", ASCENDING), ("_id", ASCENDING)], name="outbox", **PENDING),
    ],
    "tweets": [
        IndexModel([("user_id", ASCENDING), ("_id", DESCENDING)], name="by_author"),
        # What a tweet points at, one key each (``store/tweets.py:links``): its tags
        # (``#tag``), the tweet it replies to (``r:<id>``) and the one it quotes (``q:<id>``),
        # for the hashtag timeline, a tweet's replies (many parents at once: $in) and its
        # quotes. One index for the three: on SecantusDB the three cost a post more than this
        # one does (1.55-1.64 against 1.73-1.85 ms of database CPU, measured in situ; the
        # cost was theirs: `replies` had an entry for every tweet, `tagged` for every tagged
        # one, while dropping an index posts do not write, or `newest`, gained nothing).
        # Not partial: SecantusDB answers $in on a partial index by reading every tweet.
        IndexModel([("links", ASCENDING), ("_id", DESCENDING)], name="links"),
        # The analyzed ``terms`` have an index only with the $text back-end, which filters
        # on them (store/search.py:create_text_index); the keyword back-end has postings.
        # The whole timeline's pages are _id ranges (store/latest.py). SecantusDB
        # plans no range on its built-in _id index (it has no entries), so this one serves
        # them; on a real mongod it duplicates _id_ (one more index entry per tweet).
        IndexModel([("_id", DESCENDING)], name="newest"),
        # The outbox: tweets whose effects the worker has not applied (server/outbox.py).
        IndexModel([("pending", ASCENDING), ("_id", ASCENDING)], name="outbox", **PENDING),
        _idempotency(),  # POST /tweets
    ],
    # Tag search: one document per hashtag ever used, its count kept by the outbox worker.
    "tags": [
        IndexModel([("search_prefixes", ASCENDING), ("count", DESCENDING)], name="search"),
    ],
    "sessions": [
        IndexModel([("user_id", ASCENDING)], name="by_user"),
    ],
    "refresh_tokens": [
        IndexModel([("token_hash", ASCENDING)], unique=True, name="token_hash"),
        IndexModel([("session_id", ASCENDING)], name="by_session"),
    ],
    # Reset links, e-mail change codes, sign-in challenges (server/store/account_codes.py).
    "account_codes": [
        IndexModel([("code_hash", ASCENDING)], unique=True, name="code"),
        IndexModel([("user_id", ASCENDING), ("purpose", ASCENDING)], name="by_user"),
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry"),
    ],
    "otps": [
        IndexModel([("user_id", ASCENDING)], unique=True, name="one_per_user"),
    ],
    # --- discovery and trust (issue 5) ---
    "reports": [
        IndexModel([("tweet_id", ASCENDING), ("reporter_id", ASCENDING)], unique=True, name="once"),
        IndexModel([("status", ASCENDING), ("_id", ASCENDING)], name="queue"),
    ],
    "tag_trends": [
        IndexModel([("tag", ASCENDING), ("bucket", ASCENDING)], unique=True, name="tag_bucket"),
        IndexModel([("bucket", ASCENDING)], name="by_bucket"),
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry"),
    ],
    "user_trends": [
        IndexModel([("user_id", ASCENDING), ("bucket", ASCENDING)], unique=True, name="by_user"),
        IndexModel([("bucket", ASCENDING)], name="by_bucket"),
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry"),
    ],
    # Search's keyword back-end: postings in buckets, read by (term) or (term, seq); see
    # store/postings.py. search_terms and search_slots are read by _id only.
    "search_postings": [
        IndexModel([("term", ASCENDING), ("seq", ASCENDING)], unique=True, name="bucket"),
    ],
    "ws_tickets": [
        IndexModel([("ticket_hash", ASCENDING)], unique=True, name="ticket"),
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry"),
    ],
    "oauth_states": [
        IndexModel([("state_hash", ASCENDING)], unique=True, name="state"),
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0, name="expiry"),
    ],
    # --- social graph, likes, timelines, notifications (issue 3) ---
    "follows": [
        IndexModel([("follower", ASCENDING), ("followee", ASCENDING)], unique=True, name="edge"),
        IndexModel([("followee", ASCENDING), ("_id", DESCENDING)], name="followers"),
        IndexModel([("follower", ASCENDING), ("_id", DESCENDING)], name="following"),
        IndexModel([("pending", ASCENDING), ("_id", ASCENDING)], name="outbox", **PENDING),
    ],
    "relations": [
        IndexModel(
            [("owner", ASCENDING), ("kind", ASCENDING), ("target", ASCENDING)],
            unique=True,
            name="relation",
        ),
        IndexModel([("owner", ASCENDING), ("kind", ASCENDING), ("_id", DESCENDING)], name="list"),
        IndexModel([("target", ASCENDING), ("kind", ASCENDING)], name="by_target"),
    ],
    "likes": [
        IndexModel([("tweet_id", ASCENDING), ("user_id", ASCENDING)], unique=True, name="like"),
        IndexModel([("tweet_id", ASCENDING), ("_id", DESCENDING)], name="likers"),
        IndexModel([("user_id", ASCENDING), ("tweet_id", ASCENDING)], name="by_user"),
        IndexModel([("pending", ASCENDING), ("_id", ASCENDING)], name="outbox", **PENDING),
    ],
    "reposts": [
        IndexModel([("tweet_id", ASCENDING), ("user_id", ASCENDING)], unique=True, name="repost"),
        IndexModel([("user_id", ASCENDING), ("tweet_id", ASCENDING)], name="by_user"),
        # Big reposters' newest reposts, pulled into their followers' home timelines.
        IndexModel([("user_id", ASCENDING), ("_id", DESCENDING)], name="newest_by_user"),
        IndexModel([("pending", ASCENDING), ("_id", ASCENDING)], name="outbox", **PENDING),
    ],
    "bookmarks": [
        IndexModel([("user_id", ASCENDING), ("tweet_id", ASCENDING)], unique=True, name="bookmark"),
        IndexModel([("user_id", ASCENDING), ("_id", DESCENDING)], name="list"),
        IndexModel([("tweet_id", ASCENDING)], name="by_tweet"),
    ],
    "pins": [
        IndexModel([("user_id", ASCENDING), ("tweet_id", ASCENDING)], unique=True, name="pin"),
        IndexModel([("user_id", ASCENDING), ("slot", ASCENDING)], unique=True, name="slot"),
        IndexModel([("tweet_id", ASCENDING)], name="by_tweet"),
    ],
    "timelines": [
        # One entry per (owner, tweet): a retried fan-out can never duplicate an entry.
        # The only index: each extra one roughly doubles the cost of a fan-out on SecantusDB.
        IndexModel([("owner", ASCENDING), ("tweet_id", DESCENDING)], unique=True, name="entry"),
    ],
    # A reposted tweet enters a reader's timeline once (server/store/repost_claims.py).
    "repost_claims": [
        IndexModel([("tweet_id", ASCENDING), ("owner", ASCENDING)], unique=True, name="claim"),
        IndexModel([("owner", ASCENDING), ("repost_id", DESCENDING)], name="by_owner"),
    ],
    "notifications": [
        IndexModel([("recipient", ASCENDING), ("_id", DESCENDING)], name="inbox"),
        IndexModel([("recipient", ASCENDING), ("read", ASCENDING)], name="unread"),
        # A tweet's reply, quote and mention notifications, once each (server/notifications.py).
        IndexModel(
            [("once", ASCENDING)],
            unique=True,
            name="once",
            partialFilterExpression={"once": ANY_STRING},
        ),
    ],
    # --- direct messages (issue 12) ---
    "conversations": [
        # One conversation per participant set: POST /conversations is idempotent.
        IndexModel([("key", ASCENDING)], unique=True, name="participants"),
        IndexModel([("members", ASCENDING), ("activity", DESCENDING)], name="inbox"),
    ],
    "messages": [
        IndexModel([("conversation_id", ASCENDING), ("_id", DESCENDING)], name="thread"),
        IndexModel([("sender_id", ASCENDING), ("_id", ASCENDING)], name="by_sender"),  # export
        IndexModel([("pending", ASCENDING), ("_id", ASCENDING)], name="outbox", **PENDING),
        _idempotency(),  # POST /conversations/{id}/messages
    ],
    # One claim per (recipient, kind, actor, tweet), keyed by _id: see notifications.notify.
    "notification_claims": [
        IndexModel([("until", ASCENDING)], expireAfterSeconds=0, name="expiry"),
    ],
    # --- image attachments (issue 12): records, and their bytes in GridFS (server/media.py) ---
    "media": [
        IndexModel([("owner", ASCENDING), ("state", ASCENDING)], name="by_owner"),
        IndexModel([("tweet_id", ASCENDING)], name="by_tweet", sparse=True),
        # The sweep: unattached uploads by age, claims by age, and what is being removed.
        IndexModel([("state", ASCENDING), ("created_at", ASCENDING)], name="by_state"),
        IndexModel([("state", ASCENDING), ("claimed_at", ASCENDING)], name="claims", sparse=True),
    ],
    # GridFS's own indexes, under the names its driver would give them.
    "images.files": [
        IndexModel(
            [("filename", ASCENDING), ("uploadDate", ASCENDING)], name="filename_1_uploadDate_1"
        ),
    ],
    "images.chunks": [
        IndexModel([("files_id", ASCENDING), ("n", ASCENDING)], unique=True, name="files_id_1_n_1"),
    ],
}


def connect(url: str, listeners: Sequence[CommandListener] = ()) -> AsyncMongoClient[dict]:
    """A client whose writes are acknowledged by a majority when the server is a replica set.

    ``listeners`` see every command (``server/dbmetrics.py`` counts them for ``/metrics``)."""
    return AsyncMongoClient(
        url,
        event_listeners=list(listeners),
        tz_aware=True,
        w="majority",
        serverSelectionTimeoutMS=5000,
        connectTimeoutMS=5000,
        appname="murmur",
    )


INDEX_NOT_FOUND = 27
# A second index on the same keys with other options: refused by servers before MongoDB 5.0.
INDEX_CONFLICTS = (85, 86)

# collection name -> indexes earlier versions made that a declared one replaces: dropped
# once the new ones exist (a query always has one of the two to use).
RETIRED: dict[str, list[str]] = {"tweets": ["quotes", "by_tag", "replies", "quoted", "tagged"]}


async def ensure_indexes(db: Database) -> None:
    """Create every declared index (idempotent: creating an existing index is a no-op), then
    drop the ones they replace."""
    for name, indexes in INDEXES.items():
        try:
            await db[name].create_indexes(indexes)
        except OperationFailure as exc:
            if exc.code not in INDEX_CONFLICTS or name not in RETIRED:
                raise
            await _drop_retired(db, name)  # first, then: the server keeps one per key pattern
            await db[name].create_indexes(indexes)
    for name in RETIRED:
        await _drop_retired(db, name)
    log.info("indexes ensured on %d collections", len(INDEXES))


async def _drop_retired(db: Database, name: str) -> None:
    existing = set(await db[name].index_information())
    for index in RETIRED[name]:
        if index in existing:
            try:
                await db[name].drop_index(index)
            except OperationFailure as exc:  # another process starting dropped it first
                if exc.code != INDEX_NOT_FOUND:
                    raise


def majority(db: Database) -> Database:
    return db.with_options(write_concern=WriteConcern("majority"))
