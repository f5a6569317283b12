"""Search queries over the ``tweets`` collection.

The ``$text`` back-end filters on a text index created at start-up when the server has
them; the keyword back-end finds ids in its postings (``store/postings.py``) and comes here
only to check candidates against their text, to read an author's tweets (``from:``) and to
fetch the page.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.cursor import AsyncCursor
from pymongo.errors import OperationFailure

from ..db import Database
from ..models import Tweet
from ..search.query import SearchQuery
from .tweets import to_model

Backend = Literal["keyword", "text"]

TEXT_INDEX = "search_text"


TERMS_INDEX = "by_term"


async def create_text_index(db: Database) -> bool:
    """Try to create the text index (tags weigh more than content) and the index on the
    analyzed ``terms`` its filters use; False when unsupported."""
    try:
        await db.tweets.create_index(
            [("content", "text"), ("tags", "text")],
            weights={"content": 1, "tags": 3},
            default_language="english",
            name=TEXT_INDEX,
        )
    except OperationFailure as exc:
        # 67 CannotCreateIndex (SecantusDB), 115/303 on servers with text search disabled.
        if exc.code in (67, 115, 303) or "text" in str(exc).lower():
            return False
        raise
    await db.tweets.create_index([("terms", ASCENDING), ("_id", DESCENDING)], name=TERMS_INDEX)
    return True


async def drop_terms_index(db: Database) -> None:
    """The keyword back-end never filters tweets on ``terms``: an index on them (multikey, a
    dozen entries a tweet) would only make every post dearer. Earlier versions made one."""
    with contextlib.suppress(OperationFailure):  # 27 IndexNotFound: never made, or dropped
        await db.tweets.drop_index(TERMS_INDEX)


def _phrase_regex(phrase: str) -> str:
    return "(^| )" + re.escape(phrase) + "( |$)"


def build_filter(
    q: SearchQuery,
    *,
    user_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    exclude_authors: Iterable[str] = (),
) -> dict[str, Any]:
    """The ``$text`` back-end's filter for ``q`` (hidden tweets are always left out)."""
    f: dict[str, Any] = {"hidden": {"$ne": True}}
    search = [*q.words, *(f'"{p}"' for p in q.phrases), *(f"-{w}" for w in q.excluded_words)]
    if q.words or q.phrases:
        f["$text"] = {"$search": " ".join(search)}
    entity_terms = [t for t in q.terms if t[0] in "#@"]
    excluded_entities = [t for t in q.excluded if t[0] in "#@"]
    if entity_terms or excluded_entities:
        f["terms"] = {
            **({"$all": entity_terms} if entity_terms else {}),
            **({"$nin": excluded_entities} if excluded_entities else {}),
        }
    clauses: list[dict[str, Any]] = [
        {"search_text": {"$regex": _phrase_regex(p)}} for p in q.phrases
    ]
    clauses += [{"search_text": {"$not": re.compile(_phrase_regex(p))}} for p in q.excluded_phrases]
    if clauses:
        f["$and"] = clauses
    if user_id is not None:
        f["user_id"] = user_id
    elif exclude_authors:
        f["user_id"] = {"$nin": sorted(exclude_authors)}
    if since is not None or until is not None:
        f["created_at"] = {
            **({"$gte": since} if since else {}),
            **({"$lt": until} if until else {}),
        }
    return f


async def candidates(db: Database, *, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    """The best ``limit`` matches by text score, light: id, terms, creation time, score."""
    projection: dict[str, Any] = {"terms": 1, "created_at": 1}
    cursor = db.tweets.find(query, projection)
    if "$text" in query:
        projection["score"] = {"$meta": "textScore"}
        cursor = db.tweets.find(query, projection).sort([("score", {"$meta": "textScore"})])
    else:
        cursor = cursor.sort("_id", -1)
    return await cursor.limit(limit).to_list(length=limit)


async def check_fields(db: Database, *, ids: list[ObjectId]) -> dict[ObjectId, dict[str, Any]]:
    """``terms``, ``search_text``, ``user_id`` of the visible tweets among ``ids`` (a few dozen)."""
    docs = db.tweets.find(
        {"_id": {"$in": ids}, "hidden": {"$ne": True}},
        {"terms": 1, "search_text": 1, "user_id": 1},
    )
    return {d["_id"]: d async for d in docs}


def by_author(
    db: Database,
    *,
    user_id: str,
    terms: list[str],
    excluded: list[str],
    since: datetime | None,
    until: datetime | None,
    before: ObjectId | None,
    limit: int | None,
) -> AsyncCursor[dict[str, Any]]:
    """``terms``, ``search_text``, ``created_at`` of ``user_id``'s visible tweets holding every
    one of ``terms`` and none of ``excluded``, newest first (below ``before``, at most
    ``limit``), on the ``by_author`` index. The caller closes the cursor."""
    query: dict[str, Any] = {"user_id": user_id, "hidden": {"$ne": True}, "deleted": {"$ne": True}}
    if terms or excluded:  # (an empty $all matches nothing)
        query["terms"] = {
            **({"$all": terms} if terms else {}),
            **({"$nin": excluded} if excluded else {}),
        }
    if before is not None:
        query["_id"] = {"$lt": before}
    if since is not None or until is not None:
        query["created_at"] = {
            **({"$gte": since} if since is not None else {}),
            **({"$lt": until} if until is not None else {}),
        }
    fields = {"terms": 1, "search_text": 1, "created_at": 1}
    cursor = db.tweets.find(query, fields).sort("_id", DESCENDING).hint("by_author")
    return cursor if limit is None else cursor.limit(limit)


async def by_ids(db: Database, *, ids: list[ObjectId]) -> list[Tweet]:
    """Tweets in the order of ``ids`` (ones hidden or deleted meanwhile are skipped)."""
    docs = db.tweets.find({"_id": {"$in": ids}, "hidden": {"$ne": True}}, {"edits": 0})
    found = {d["_id"]: d async for d in docs}
    return [to_model(found[i]) for i in ids if i in found]
