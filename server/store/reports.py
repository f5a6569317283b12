"""The ``reports`` collection: the moderation queue. One report per reporter per tweet;
reports the spam screen files have ``reporter_id`` ``"system"``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from bson import ObjectId
from pydantic import BaseModel
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from ..db import Database
from ..errors import Conflict
from ..models import Tweet, UtcTime
from ..paging import PageQuery

SYSTEM = "system"
Status = Literal["open", "resolved", "dismissed"]


class Report(BaseModel):
    report_id: str
    tweet_id: str
    reporter_id: str  # a user id, or "system" for the spam screen
    reason: str
    status: Status
    created_at: UtcTime
    resolved_at: UtcTime | None = None
    resolved_by: str | None = None
    action: str | None = None
    tweet: Tweet | None = None  # filled in for the moderators' queue


def _model(doc: dict[str, Any]) -> Report:
    return Report(report_id=str(doc["_id"]), **{k: v for k, v in doc.items() if k != "_id"})


async def file(
    db: Database, *, tweet_id: str, reporter_id: str, reason: str, now: datetime
) -> Report:
    """Insert a report; 409 when this reporter already reported this tweet."""
    doc: dict[str, Any] = {
        "_id": ObjectId(),
        "tweet_id": tweet_id,
        "reporter_id": reporter_id,
        "reason": reason,
        "status": "open",
        "created_at": now,
        "resolved_at": None,
        "resolved_by": None,
        "action": None,
    }
    try:
        await db.reports.insert_one(doc)
    except DuplicateKeyError as exc:
        raise Conflict("You already reported this tweet.", code="already_reported") from exc
    return _model(doc)


async def page(
    db: Database, *, status: Status, page: PageQuery
) -> tuple[list[Report], ObjectId | None]:
    """Reports with ``status``, oldest first."""
    query: dict[str, Any] = {"status": status}
    if page.after is not None:
        query["_id"] = {"$gt": page.after}
    cursor = db.reports.find(query).sort("_id", 1).skip(page.skip).limit(page.limit + 1)
    docs = await cursor.to_list(length=page.limit + 1)
    more = len(docs) > page.limit
    docs = docs[: page.limit]
    return [_model(d) for d in docs], (docs[-1]["_id"] if more and docs else None)


async def resolve_for_tweet(
    db: Database, *, tweet_id: str, by: str, action: str, now: datetime
) -> int:
    """Close every open report on a tweet once a moderator acted on it."""
    result = await db.reports.update_many(
        {"tweet_id": tweet_id, "status": "open"},
        {"$set": {"status": "resolved", "resolved_at": now, "resolved_by": by, "action": action}},
    )
    return result.modified_count


async def dismiss(db: Database, *, report_id: ObjectId, by: str, now: datetime) -> Report | None:
    doc = await db.reports.find_one_and_update(
        {"_id": report_id, "status": "open"},
        {"$set": {"status": "dismissed", "resolved_at": now, "resolved_by": by}},
        return_document=ReturnDocument.AFTER,
    )
    return None if doc is None else _model(doc)
