"""The ``fanout_jobs`` collection: durable work for the timeline fan-out worker.

A job is written before the request that caused it returns, claimed with a lease (so a job
whose worker died is picked up again once the lease runs out), and deleted when done.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from ..db import Database


async def enqueue(db: Database, *, kind: str, now: datetime, fields: dict[str, Any]) -> ObjectId:
    doc = {
        "_id": ObjectId(),
        "kind": kind,
        "state": "pending",
        "next_at": now,
        "attempts": 0,
        "after": None,
        "created_at": now,
        **fields,
    }
    await db.fanout_jobs.insert_one(doc)
    return doc["_id"]


async def claim(db: Database, *, now: datetime, lease: timedelta) -> dict[str, Any] | None:
    """Take the oldest due job (or one whose lease expired), first come first served."""
    return await db.fanout_jobs.find_one_and_update(
        {
            "$or": [
                {"state": "pending", "next_at": {"$lte": now}},
                {"state": "running", "lease_until": {"$lte": now}},
            ]
        },
        {"$set": {"state": "running", "lease_until": now + lease}, "$inc": {"attempts": 1}},
        sort=[("_id", 1)],
        return_document=ReturnDocument.AFTER,
    )


async def progress(db: Database, *, job_id: ObjectId, after: ObjectId) -> None:
    """Remember the last follower edge handled, so a retry resumes after it."""
    await db.fanout_jobs.update_one({"_id": job_id}, {"$set": {"after": after}})


async def finish(db: Database, *, job_id: ObjectId) -> None:
    await db.fanout_jobs.delete_one({"_id": job_id})


async def retry(db: Database, *, job_id: ObjectId, at: datetime, error: str, failed: bool) -> None:
    state = "failed" if failed else "pending"
    await db.fanout_jobs.update_one(
        {"_id": job_id}, {"$set": {"state": state, "next_at": at, "error": error[:500]}}
    )


async def count(db: Database, *, state: str | None = None) -> int:
    return await db.fanout_jobs.count_documents({} if state is None else {"state": state})
