"""The ``tweets`` collection. Ids are ObjectIds, so ``_id`` order is creation order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument, UpdateOne

from ..db import Database
from ..models import QuotedTweet, Tweet, TweetMedia
from ..paging import PageQuery
from . import backfills, idempotency, inlists, intents
from .group_insert import GroupInserts

# What reading a tweet fetches: not its edit history, nor the outbox worker's bookkeeping.
PROJECTION = {"edits": 0, "fx": 0, "fx_ops": 0, "entry": 0}

# Read everywhere: hidden by a moderator, or deleted and waiting for the worker to finish.
VISIBLE = {"hidden": {"$ne": True}}

# What the worker applied for a tweet stored before the outbox existed: everything. Only the
# first change of such a tweet needs it; an expression, read before the change's own $set.
_APPLIED_BEFORE = {
    "$ifNull": [
        "$fx",
        {
            "counted": True,
            "born": True,
            "tags": {"$cond": [{"$eq": ["$hidden", True]}, [], "$tags"]},
            "indexed": {"$ne": ["$hidden", True]},
            "shown": {"$ne": ["$hidden", True]},
        },
    ]
}


def _changed() -> dict[str, Any]:
    """The part of a pipeline ``$set`` that marks a change for the outbox worker."""
    return {"fx": _APPLIED_BEFORE, "v": {"$add": [{"$ifNull": ["$v", 1]}, 1]}, "pending": True}


def applied_when_new(tags: list[str]) -> dict[str, Any]:
    """What the worker records for a visible new tweet once it applied it
    (``effects/tweets.py``): counted, tags trending, indexed, born, shown at version 1. A new
    tweet is stored saying so; ``settle`` writes the real record only if it differs."""
    fx: dict[str, Any] = {"counted": True, "cflips": 1, "indexed": True, "born": True,
                          "shown": True, "announced": 1}  # fmt: skip
    if tags:
        fx.update(tags=tags, gflips=1)
    return fx


def to_model(doc: dict[str, Any]) -> Tweet:
    return Tweet(
        tweet_id=str(doc["_id"]),
        user_id=doc["user_id"],
        user_name=doc["user_name"],
        content=doc["content"],
        html=doc["html"],
        tags=doc.get("tags", []),
        mentions=doc.get("mentions", []),
        urls=doc.get("urls", []),
        created_at=doc["created_at"],
        edited=doc.get("edited", False),
        edited_at=doc.get("edited_at"),
        original_content=doc.get("original_content"),
        like_count=doc.get("like_count", 0),
        reply_count=doc.get("reply_count", 0),
        repost_count=doc.get("repost_count", 0),
        quote_count=doc.get("quote_count", 0),
        quote_of=QuotedTweet(**doc["quote_of"]) if doc.get("quote_of") else None,
        media=[TweetMedia(**m) for m in doc.get("media", ())],
        in_reply_to=doc.get("in_reply_to"),
        parent_deleted=doc.get("parent_deleted", False),
    )


async def insert(
    db: Database,
    *,
    user_id: str,
    user_name: str,
    content: str,
    html: str,
    tags: list[str],
    mentions: list[str],
    now: datetime,
    in_reply_to: str | None = None,
    extra: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    tweet_id: ObjectId | None = None,
    grouped: GroupInserts | None = None,
) -> tuple[Tweet, bool]:
    """Store a new tweet, pending its effects (the outbox worker applies them). With an
    ``idempotency_key`` (unique per user, kept 24 hours) a retry returns the first tweet:
    ``(tweet, False)``. ``grouped``: inserted together with concurrent requests' tweets."""
    doc = new_document(
        user_id=user_id,
        user_name=user_name,
        content=content,
        html=html,
        tags=tags,
        mentions=mentions,
        now=now,
        in_reply_to=in_reply_to,
        extra=extra,
        tweet_id=tweet_id,
    )

    async def store() -> tuple[dict[str, Any], bool]:
        # The outbox entry first: a tweet is never stored without one (store/intents.py).
        doc["entry"] = await intents.add(db, tweet_id=doc["_id"], now=now, grouped=grouped)
        stored, created = await idempotency.insert(
            db.tweets,
            doc,
            user_id=user_id,
            key=idempotency_key,
            now=now,
            projection=PROJECTION,
            grouped=grouped,
        )
        if not created and stored["_id"] != doc["_id"]:  # the key's first tweet instead
            await intents.forget(db, entry_id=doc["entry"], tweet_id=doc["_id"])
        return stored, created

    # To the end even if the request is cancelled (its client gone) once the entry is on
    # its way: the entry names the round's other tweets too, and it waits for every one.
    task = asyncio.create_task(store(), name="tweet-insert")
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
    stored, created = await asyncio.shield(task)
    return to_model(stored), created


async def by_idempotency_key(
    db: Database, *, user_id: str, key: str, now: datetime
) -> Tweet | None:
    """The tweet ``user_id`` posted with this Idempotency-Key, while the key is kept."""
    doc = await db.tweets.find_one({"idempotency.key": f"{user_id}:{key}"}, PROJECTION)
    if doc is None or doc["idempotency"]["until"] <= now:
        return None
    return to_model(doc)


async def exists(db: Database, *, tweet_ids: list[ObjectId]) -> set[str]:
    """Which of these tweets have a document (deleted ones too, until the worker removes them)."""
    query = {"_id": {"$in": tweet_ids}, "tombstone": {"$ne": True}}
    return {str(d["_id"]) async for d in db.tweets.find(query, {"_id": 1})}


async def insert_many(db: Database, docs: list[dict[str, Any]]) -> None:
    """Store tweets built by ``new_document`` at once (the demo seed's bulk path)."""
    if docs:
        await db.tweets.insert_many(docs, ordered=False)


def new_document(
    *,
    user_id: str,
    user_name: str,
    content: str,
    html: str,
    tags: list[str],
    mentions: list[str],
    now: datetime,
    in_reply_to: str | None = None,
    extra: dict[str, Any] | None = None,
    tweet_id: ObjectId | None = None,
    settled: bool = False,
) -> dict[str, Any]:
    """A new tweet's document, as ``insert`` stores it: saying what the worker will have
    applied for it once its outbox entry (``store/intents.py``) is done, or ``settled``
    (the demo seed, which writes the counters, trends and index itself)."""
    if settled:
        outbox: dict[str, Any] = {
            "fx": {"counted": True, "born": True, "tags": tags, "indexed": True, "shown": True}
        }
    else:
        outbox = {"fx": applied_when_new(tags)}
    return {
        "_id": tweet_id or ObjectId(),
        "user_id": user_id,
        "user_name": user_name,
        "content": content,
        "html": html,
        "tags": tags,
        "mentions": mentions,
        "created_at": now,
        "edited": False,
        "edited_at": None,
        "original_content": None,
        "edits": [],
        "like_count": 0,
        "reply_count": 0,
        "in_reply_to": in_reply_to,
        "links": links(tags, in_reply_to, _quoted(extra or {})),
        "hidden": False,
        "v": 1,
        **outbox,
        **(extra or {}),
    }


def links(tags: list[str], in_reply_to: str | None, quoted: str | None) -> list[str]:
    """What a tweet points at, as keys of the ``links`` index (``server/db.py``): ``#tag``
    for each tag, ``r:<id>`` for the tweet it replies to, ``q:<id>`` for the one it quotes."""
    out = [tag_link(t) for t in tags]
    if in_reply_to:
        out.append(reply_link(in_reply_to))
    if quoted:
        out.append(quote_link(quoted))
    return out


def _quoted(doc: dict[str, Any]) -> str | None:
    return (doc.get("quote_of") or {}).get("tweet_id")


def tag_link(tag: str) -> str:
    return f"#{tag}"


def reply_link(parent_id: str) -> str:
    return f"r:{parent_id}"


def quote_link(quoted_id: str) -> str:
    return f"q:{quoted_id}"


_LINKS = backfills.Backfill(
    name="tweets.links",
    collection="tweets",
    field="links",
    reads={"tags": 1, "in_reply_to": 1, "quote_of": 1},
    value=lambda d: links(d.get("tags") or [], d.get("in_reply_to"), _quoted(d)),
)


async def backfill_links(db: Database, *, chunk: int = 500) -> None:
    """Give ``links`` to the tweets stored before it existed (at start-up: the hashtag
    timeline, replies and quotes are read on it)."""
    await _LINKS.complete(db, chunk=chunk)


async def get(db: Database, *, tweet_id: ObjectId, include_hidden: bool = False) -> Tweet | None:
    query: dict[str, Any] = {"_id": tweet_id, **(VISIBLE if not include_hidden else {})}
    query["deleted"] = {"$ne": True}
    doc = await db.tweets.find_one(query, PROJECTION)
    return None if doc is None else to_model(doc)


async def history(db: Database, *, tweet_id: ObjectId) -> dict[str, Any] | None:
    return await db.tweets.find_one(
        {"_id": tweet_id, **VISIBLE},
        {"user_id": 1, "content": 1, "original_content": 1, "edits": 1},
    )


async def edit(
    db: Database,
    *,
    tweet_id: ObjectId,
    previous: str,
    content: str,
    html: str,
    tags: list[str],
    links: list[str],
    mentions: list[str],
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> Tweet | None:
    """Replace the text, but only if it is still ``previous`` (no lost concurrent edit).
    ``links``: the tweet's (``links``) with the new tags."""
    fields = {
        "content": content,
        "html": html,
        "tags": tags,
        "links": links,
        "mentions": mentions,
        "edited": True,
        "edited_at": now,
        **(extra or {}),
    }
    doc = await db.tweets.find_one_and_update(
        {"_id": tweet_id, "content": previous, **VISIBLE},
        [
            {
                "$set": {
                    **_changed(),
                    "original_content": {"$ifNull": ["$original_content", "$content"]},
                    "edits": {
                        "$concatArrays": [
                            {"$ifNull": ["$edits", []]},
                            [{"content": {"$literal": content}, "edited_at": now}],
                        ]
                    },
                    # $literal: user text that starts with "$" must not be read as a field path.
                    **{k: {"$literal": v} for k, v in fields.items()},
                }
            }
        ],
        projection=PROJECTION,
        return_document=ReturnDocument.AFTER,
    )
    return None if doc is None else to_model(doc)


async def delete(db: Database, *, tweet_id: ObjectId, now: datetime) -> bool:
    """Mark a tweet deleted: hidden from every read at once; the outbox worker undoes its
    effects and then removes the document (``remove``). True when this call deleted it."""
    result = await db.tweets.update_one(
        {"_id": tweet_id, "deleted": {"$ne": True}},
        [{"$set": {**_changed(), "deleted": True, "hidden": True, "deleted_at": now}}],
    )
    return result.modified_count == 1


async def delete_by_author(db: Database, *, user_id: str, now: datetime) -> None:
    """Mark every tweet of an author deleted (an account's deletion), as ``delete`` does."""
    await db.tweets.update_many(
        {"user_id": user_id, "deleted": {"$ne": True}},
        [{"$set": {**_changed(), "deleted": True, "hidden": True, "deleted_at": now}}],
    )


async def remove(db: Database, *, tweet_id: ObjectId, version: int) -> list[str]:
    """The worker's last step for a deleted tweet: its replies are marked ``parent_deleted``
    (their ids are returned: caches drop them), then the document goes (unless it changed
    since the worker read it)."""
    replying = {"links": reply_link(str(tweet_id))}
    replies = [str(d["_id"]) async for d in db.tweets.find(replying, {"_id": 1})]
    if replies:
        await db.tweets.update_many(replying, {"$set": {"parent_deleted": True}})
    await db.tweets.delete_one({"_id": tweet_id, "v": version, "deleted": True})
    return replies


# Marks a document ``pending`` read for an outbox entry (store/intents.py); its value is
# the ``fx`` the tweet was stored with (the worker's reading of it is ``{}``: nothing applied).
NEW = "_new_fx"
ENTRY = intents.ENTRY


async def pending(
    db: Database, *, limit: int, now: datetime, grace: timedelta, after: ObjectId | None = None
) -> list[dict[str, Any]]:
    """The oldest tweets whose effects the worker has not applied yet (whole documents):
    changed ones (``pending``) and new ones (named by an outbox entry, whose id they carry
    as ``ENTRY``: ``clear_entries`` deletes it), oldest first.

    A new tweet changed (edited, deleted) before its entry was applied is its entry's to
    apply, whole: taken as merely changed it would be read as already counted (its stored
    ``fx``) and a delete would take back a count never made. So a changed tweet whose entry
    (``entry``, set at insert) still waits is left for a later round.

    ``after``: only entries after that one (the worker's, shown and not yet finished,
    still exist)."""
    cursor = db.tweets.find({"pending": True}, {"edits": 0}).sort("_id", 1).limit(limit)
    changed = await cursor.to_list(length=limit)
    ready, found = await _ready_entries(db, limit=limit, now=now, grace=grace, after=after)
    # An entry of an earlier version has the tweet's own id, and a tweet of then no "entry".
    own = [d.get("entry", d["_id"]) for d in changed]
    waiting = await intents.existing(db, entry_ids=own) - {e["_id"] for e in ready}
    docs = {d["_id"]: d for d, entry in zip(changed, own, strict=True) if entry not in waiting}
    for entry in ready:
        for t in intents.tweet_ids(entry):
            if (doc := found.get(t)) is not None and not doc.get("tombstone"):
                docs[t] = {**doc, "fx": {}, NEW: doc.get("fx") or {}, ENTRY: entry["_id"]}
    return [docs[k] for k in sorted(docs)]


async def _ready_entries(
    db: Database, *, limit: int, now: datetime, grace: timedelta, after: ObjectId | None
) -> tuple[list[dict[str, Any]], dict[ObjectId, dict[str, Any]]]:
    """The oldest entries that can be applied now, naming about ``limit`` tweets, and the
    documents read for them. Entries that wait (a tweet of theirs not stored yet) do not
    use up the round: the read goes on past them, a few times at most, unless the newest
    one read waits too (rounds still on their way, as under load: reading on would find
    only more of them)."""
    ready: list[dict[str, Any]] = []
    found: dict[ObjectId, dict[str, Any]] = {}
    want = limit
    for _ in range(4):
        entries = await intents.oldest(db, limit=want, after=after)
        ids = [t for e in entries for t in intents.tweet_ids(e)]
        if ids:
            # Whole documents: a new tweet's ``edits`` is empty, and SecantusDB copies every
            # document it projects (0.08 against 0.11 ms a tweet read).
            found.update({d["_id"]: d for d in await inlists.find(db.tweets, "_id", ids)})
        now_ready = await intents.ready(db, entries=entries, found=found, now=now, grace=grace)
        ready += now_ready
        if len(ids) < want:  # nothing more is waiting
            break
        want = limit - sum(len(intents.tweet_ids(e)) for e in ready)
        if want <= 0 or (now_ready and entries[-1] is not now_ready[-1]):
            break  # the newest read waits: the rounds still on their way, not one stuck
        after = entries[-1]["_id"]
    return ready, found


async def clear_entries(db: Database, *, docs: list[dict[str, Any]]) -> None:
    """The worker applied (and recorded) these tweets: their outbox entries go. Last: while
    its entry exists a new tweet counts as not applied at all."""
    await intents.remove(db, entry_ids=sorted({d[ENTRY] for d in docs if ENTRY in d}))


async def settle(db: Database, *, applied: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
    """Record what the worker applied for each (document as read, its new ``fx``): no longer
    pending unless it changed again since it was read (then the next round takes it). A new
    tweet's record is already on it (``applied_when_new``): its outbox entry goes after
    (``clear_entries``)."""
    done, fixes = [], []
    for doc, fx in applied:
        if NEW in doc and not doc.get("pending"):
            if fx != doc[NEW]:  # applied otherwise than foreseen (the $text back-end, say)
                fixes.append(UpdateOne({"_id": doc["_id"]}, {"$set": {"fx": fx}}))
            continue
        done.append(
            UpdateOne(
                {"_id": doc["_id"], "v": doc.get("v", 1)},
                {"$set": {"fx": fx}, "$unset": {"pending": ""}},
            )
        )
    if fixes:
        await db.tweets.bulk_write(fixes, ordered=False)
    if done:
        result = await db.tweets.bulk_write(done, ordered=False)
        if result.matched_count < len(done):
            # Some changed again (or went) since they were read: keep them pending, but
            # record what was applied. Rare, so a second round trip only then.
            await db.tweets.bulk_write(
                [
                    UpdateOne(
                        {"_id": doc["_id"], "v": {"$ne": doc.get("v", 1)}}, {"$set": {"fx": fx}}
                    )
                    for doc, fx in applied
                ],
                ordered=False,
            )


async def find_page(
    db: Database,
    *,
    query: dict[str, Any],
    page: PageQuery,
    oldest_first: bool = False,
    exclude_authors: Iterable[str] = (),
) -> tuple[list[Tweet], ObjectId | None]:
    """One page of tweets matching ``query``, by id, and the id to continue after (or None).

    ``exclude_authors`` (a reader's blocked/muted set) is part of the query, so pages stay full.
    ``query`` should name an indexed key (an author, a tag, a parent): every tweet under that
    key is read (see ``store/latest.py`` for why); the whole timeline is ``latest.page``.
    """
    docs = await _page_docs(db, query, page, oldest_first, exclude_authors, PROJECTION)
    return paged(docs, page.limit)


async def page_ids(
    db: Database, *, query: dict[str, Any], page: PageQuery, exclude_authors: Iterable[str] = ()
) -> list[ObjectId]:
    """The ids ``find_page`` would return, newest first, and one more when there are more."""
    docs = await _page_docs(db, query, page, False, exclude_authors, {"_id": 1})
    return [d["_id"] for d in docs]


async def _page_docs(
    db: Database,
    query: dict[str, Any],
    page: PageQuery,
    oldest_first: bool,
    exclude_authors: Iterable[str],
    projection: dict[str, int],
) -> list[dict[str, Any]]:
    query = {**query, **VISIBLE}
    excluded = sorted(exclude_authors)
    if excluded:
        if isinstance(query.get("user_id"), str):
            if query["user_id"] in excluded:
                return []
        else:
            query["user_id"] = {"$nin": excluded}
    if page.after is not None:
        query["_id"] = {"$gt" if oldest_first else "$lt": page.after}
    cursor = (
        db.tweets.find(query, projection)
        .sort("_id", 1 if oldest_first else -1)
        .skip(page.skip)
        .limit(page.limit + 1)
    )
    return await cursor.to_list(length=page.limit + 1)


def paged(docs: list[dict[str, Any]], limit: int) -> tuple[list[Tweet], ObjectId | None]:
    more = len(docs) > limit
    docs = docs[:limit]
    return [to_model(d) for d in docs], (docs[-1]["_id"] if more and docs else None)


async def counts(db: Database, *, tweet_ids: list[ObjectId]) -> list[Tweet]:
    """The current state (counters included) of these tweets, for a ``tweet.counts`` event."""
    return [to_model(d) async for d in db.tweets.find({"_id": {"$in": tweet_ids}}, PROJECTION)]


async def since_ids(
    db: Database, *, author: str, after: ObjectId | None, limit: int
) -> list[ObjectId]:
    """The newest ``limit`` tweet ids of ``author`` above ``after`` (a follow's back-fill)."""
    query: dict[str, Any] = {"user_id": author, **VISIBLE}
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = db.tweets.find(query, {"_id": 1}).sort("_id", -1).limit(limit)
    return [d["_id"] async for d in cursor]


async def reply_links(
    db: Database, *, parents: list[str], exclude_authors: Iterable[str], limit: int
) -> list[tuple[ObjectId, str]]:
    """(id, parent id) of the visible direct replies to any of ``parents``, oldest first, up
    to ``limit`` (one level of a conversation, in one query)."""
    query: dict[str, Any] = {"links": {"$in": [reply_link(p) for p in parents]}, **VISIBLE}
    if excluded := sorted(exclude_authors):
        query["user_id"] = {"$nin": excluded}
    cursor = db.tweets.find(query, {"in_reply_to": 1}).sort("_id", 1).limit(limit)
    return [(d["_id"], d["in_reply_to"]) async for d in cursor]


async def by_ids(db: Database, *, tweet_ids: list[ObjectId]) -> list[Tweet]:
    """The visible tweets among ``tweet_ids``, in the order given (missing ones left out)."""
    found = {
        d["_id"]: to_model(d)
        async for d in db.tweets.find({"_id": {"$in": tweet_ids}, **VISIBLE}, PROJECTION)
    }
    return [found[t] for t in tweet_ids if t in found]


async def count_identical(
    db: Database, *, user_id: str, content: str, since: datetime, exclude: str
) -> int:
    """How many other tweets by ``user_id`` since ``since`` have exactly this text (spam)."""
    return await db.tweets.count_documents(
        {
            "user_id": user_id,
            "content": content,
            "created_at": {"$gte": since},
            "_id": {"$ne": ObjectId(exclude)},
        }
    )


async def set_hidden(
    db: Database, *, tweet_id: ObjectId, hidden: bool, by: str, now: datetime
) -> Tweet | None:
    """Hide or restore a tweet (moderation); None when it is missing or already so."""
    doc = await db.tweets.find_one_and_update(
        {"_id": tweet_id, "hidden": {"$ne": hidden} if hidden else True, "deleted": {"$ne": True}},
        [{"$set": {**_changed(), "hidden": hidden, "moderated_by": by, "moderated_at": now}}],
        projection=PROJECTION,
        return_document=ReturnDocument.AFTER,
    )
    return None if doc is None else to_model(doc)


async def mark_parent_deleted(db: Database, *, tweet_ids: list[ObjectId]) -> None:
    """Replies whose parent vanished while they were being written."""
    if tweet_ids:
        await db.tweets.update_many({"_id": {"$in": tweet_ids}}, {"$set": {"parent_deleted": True}})
