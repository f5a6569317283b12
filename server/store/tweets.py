"""The ``tweets`` collection. Ids are ObjectIds, so ``_id`` order is creation order."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from ..db import Database
from ..http import PageQuery
from ..models import Tweet

PROJECTION = {"edits": 0}  # what reading a tweet fetches: not its edit history


def to_model(doc: dict[str, Any]) -> Tweet:
    return Tweet(
        tweet_id=str(doc["_id"]),
        user_id=doc["user_id"],
        user_name=doc["user_name"],
        content=doc["content"],
        html=doc["html"],
        tags=doc.get("tags", []),
        mentions=doc.get("mentions", []),
        created_at=doc["created_at"],
        edited=doc.get("edited", False),
        edited_at=doc.get("edited_at"),
        original_content=doc.get("original_content"),
        like_count=doc.get("like_count", 0),
        reply_count=doc.get("reply_count", 0),
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
) -> Tweet:
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
    )
    await db.tweets.insert_one(doc)
    return to_model(doc)


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
) -> dict[str, Any]:
    """A new tweet's document, as ``insert`` stores it."""
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
        "hidden": False,
        **(extra or {}),
    }


async def get(db: Database, *, tweet_id: ObjectId, include_hidden: bool = False) -> Tweet | None:
    query: dict[str, Any] = {"_id": tweet_id}
    if not include_hidden:
        query["hidden"] = {"$ne": True}
    doc = await db.tweets.find_one(query, PROJECTION)
    return None if doc is None else to_model(doc)


async def history(db: Database, *, tweet_id: ObjectId) -> dict[str, Any] | None:
    return await db.tweets.find_one(
        {"_id": tweet_id, "hidden": {"$ne": True}},
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
    mentions: list[str],
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> Tweet | None:
    """Replace the text, but only if it is still ``previous`` (no lost concurrent edit)."""
    fields = {
        "content": content,
        "html": html,
        "tags": tags,
        "mentions": mentions,
        "edited": True,
        "edited_at": now,
        **(extra or {}),
    }
    doc = await db.tweets.find_one_and_update(
        {"_id": tweet_id, "content": previous},
        [
            {
                "$set": {
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


async def delete(db: Database, *, tweet_id: ObjectId) -> list[str] | None:
    """Delete a tweet and mark its replies ``parent_deleted``: None when it was not there,
    else the ids of the replies marked (their documents changed too: caches drop them)."""
    result = await db.tweets.delete_one({"_id": tweet_id})
    if not result.deleted_count:
        return None
    cursor = db.tweets.find({"in_reply_to": str(tweet_id)}, {"_id": 1})
    replies = [str(d["_id"]) async for d in cursor]
    # A reply written from now on finds its parent gone and marks itself (server/replies.py).
    if replies:
        await db.tweets.update_many(
            {"in_reply_to": str(tweet_id)}, {"$set": {"parent_deleted": True}}
        )
    return replies


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
    query = {**query, "hidden": {"$ne": True}}
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


async def add_to_counter(db: Database, *, tweet_id: str, field: str, delta: int) -> Tweet | None:
    doc = await db.tweets.find_one_and_update(
        {"_id": ObjectId(tweet_id)},
        {"$inc": {field: delta}},
        projection=PROJECTION,
        return_document=ReturnDocument.AFTER,
    )
    return None if doc is None else to_model(doc)


async def since_ids(
    db: Database, *, author: str, after: ObjectId | None, limit: int
) -> list[ObjectId]:
    """The newest ``limit`` tweet ids of ``author`` above ``after`` (a follow's back-fill)."""
    query: dict[str, Any] = {"user_id": author, "hidden": {"$ne": True}}
    if after is not None:
        query["_id"] = {"$gt": after}
    cursor = db.tweets.find(query, {"_id": 1}).sort("_id", -1).limit(limit)
    return [d["_id"] async for d in cursor]


async def by_ids(db: Database, *, tweet_ids: list[ObjectId]) -> list[Tweet]:
    """The visible tweets among ``tweet_ids``, in the order given (missing ones left out)."""
    found = {
        d["_id"]: to_model(d)
        async for d in db.tweets.find(
            {"_id": {"$in": tweet_ids}, "hidden": {"$ne": True}}, PROJECTION
        )
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
        {"_id": tweet_id, "hidden": {"$ne": hidden} if hidden else True},
        {"$set": {"hidden": hidden, "moderated_by": by, "moderated_at": now}},
        projection=PROJECTION,
        return_document=ReturnDocument.AFTER,
    )
    return None if doc is None else to_model(doc)


async def mark_parent_deleted(db: Database, *, tweet_id: str) -> None:
    """A reply whose parent vanished while it was being written."""
    await db.tweets.update_one({"_id": ObjectId(tweet_id)}, {"$set": {"parent_deleted": True}})
