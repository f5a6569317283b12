"""The ``users`` collection."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pydantic import BaseModel
from pymongo import ReturnDocument, UpdateOne
from pymongo.errors import DuplicateKeyError

from ..db import Database
from ..errors import Conflict
from ..models import DmPolicy, Me, PublicUser, Role, UserMetadata
from . import backfills, inlists, prefixed, userstats


class UserRecord(BaseModel):
    id: str
    user_name: str
    email: str
    password_hash: str | None
    email_verified: bool
    user_metadata: UserMetadata
    created_at: datetime
    follower_count: int = 0
    following_count: int = 0
    tweet_count: int = 0
    role: Role = "user"
    suspended: bool = False
    # Set on sign-up, removed on verification: an account not confirmed by then is deleted.
    unverified_expires_at: datetime | None = None
    # Two-factor sign-in is on (the secret itself stays in store/twofactor.py's fields).
    totp_enabled: bool = False
    # Deleted by its owner: nothing of it is shown; the name stays taken for a while.
    deleted: bool = False
    # Who may message this user (direct messages): anyone, or only people they follow.
    dm_policy: DmPolicy = "everyone"

    def public(self) -> PublicUser:
        return PublicUser(user_id=self.id, **self.model_dump(include=_PUBLIC_FIELDS))

    def me(self) -> Me:
        return Me(
            user_id=self.id,
            email=self.email,
            email_verified=self.email_verified,
            two_factor_enabled=self.totp_enabled,
            dm_policy=self.dm_policy,
            **self.model_dump(include=_PUBLIC_FIELDS),
        )


_PUBLIC_FIELDS = {
    "user_name", "user_metadata", "created_at", "follower_count",
    "following_count", "tweet_count", "role", "suspended",
}  # fmt: skip


async def records(db: Database, *, docs: list[dict[str, Any]]) -> list[UserRecord]:
    """The models of stored user documents, with their counts (``store/userstats.py``)."""
    return [_record(doc) for doc in await userstats.merged(db, docs)]


async def _one(db: Database, doc: dict[str, Any] | None) -> UserRecord | None:
    return None if doc is None else (await records(db, docs=[doc]))[0]


def _record(doc: dict[str, Any]) -> UserRecord:
    return UserRecord(id=str(doc["_id"]), **{k: v for k, v in doc.items() if k != "_id"})


async def create(
    db: Database,
    *,
    user_name: str,
    email: str,
    password_hash: str | None,
    metadata: UserMetadata,
    now: datetime,
    email_verified: bool = False,
    role: Role = "user",
    extra: dict[str, Any] | None = None,
) -> UserRecord:
    doc: dict[str, Any] = {
        "user_name": user_name,
        "user_name_lower": user_name.lower(),
        "email": email,
        "email_lower": email.lower(),
        "password_hash": password_hash,
        "email_verified": email_verified,
        "user_metadata": metadata.model_dump(exclude_none=True),
        "created_at": now,
        "follower_count": 0,
        "following_count": 0,
        "tweet_count": 0,
        "role": role,
        "suspended": False,
        prefixed.FIELD: search_prefixes(user_name, metadata.display_name),
        **(extra or {}),
    }
    try:
        result = await db.users.insert_one(doc)
    except DuplicateKeyError as exc:
        # keyPattern names the index's field; the message would also contain the user's text.
        pattern = (exc.details or {}).get("keyPattern") or {}
        field = "email" if "email_lower" in pattern else "user_name"
        raise Conflict(
            f"That {field.replace('_', ' ')} is already taken.",
            code=f"{field}_taken",
            details=[{"field": field}],
        ) from exc
    doc["_id"] = result.inserted_id
    return _record(doc)  # counts nothing yet


async def by_id(db: Database, *, user_id: str | ObjectId) -> UserRecord | None:
    try:
        oid = ObjectId(user_id)
    except Exception:
        return None
    # The stats at the same time: the id is known.
    doc, found = await asyncio.gather(db.users.find_one({"_id": oid}), userstats.counts(db, [oid]))
    return None if doc is None else _record(userstats.with_counts(doc, found))


async def by_name(db: Database, *, user_name: str) -> UserRecord | None:
    return await _one(db, await db.users.find_one({"user_name_lower": user_name.lower()}))


async def by_names(db: Database, *, user_names: list[str]) -> list[UserRecord]:
    """The users among these names (case-insensitive; unknown names left out)."""
    if not user_names:
        return []
    query = {"user_name_lower": {"$in": sorted({n.lower() for n in user_names})}}
    return await records(db, docs=await db.users.find(query).to_list(None))


async def by_email(db: Database, *, email: str) -> UserRecord | None:
    return await _one(db, await db.users.find_one({"email_lower": email.lower()}))


async def name_taken(db: Database, *, user_name: str) -> bool:
    return await db.users.count_documents({"user_name_lower": user_name.lower()}, limit=1) > 0


async def by_ids(db: Database, *, user_ids: list[str]) -> dict[str, UserRecord]:
    oids = [ObjectId(u) for u in user_ids if ObjectId.is_valid(u)]
    return {r.id: r for r in await records(db, docs=await inlists.find(db.users, "_id", oids))}


async def delete(db: Database, *, user_id: str) -> None:
    await db.users.delete_one({"_id": ObjectId(user_id)})


async def set_verified(db: Database, *, user_id: str, role: Role | None = None) -> None:
    """Mark the e-mail verified (and give the role settings grant that address, if any)."""
    changes: dict[str, Any] = {"email_verified": True}
    if role is not None:
        changes["role"] = role
    await db.users.update_one(
        {"_id": ObjectId(user_id)}, {"$set": changes, "$unset": {"unverified_expires_at": ""}}
    )


def search_prefixes(user_name: str, display_name: str | None) -> list[str]:
    """What people search finds a user by: prefixes of the user name and of each display-name
    word, case- and accent-folded (``store/prefixed.py``)."""
    return prefixed.prefixes(user_name, display_name)


async def update_metadata(
    db: Database,
    *,
    user_id: str,
    user_name: str,
    changes: dict[str, Any],
    fields: dict[str, Any] | None = None,
) -> UserRecord:
    """Change profile fields (None removes one) and top-level ``fields`` (``dm_policy``); a
    new display name is searchable at once."""
    sets = {f"user_metadata.{k}": v for k, v in changes.items() if v is not None}
    if "display_name" in changes:  # same write: the search keys never disagree with the name
        sets[prefixed.FIELD] = search_prefixes(user_name, changes["display_name"])
    sets.update(fields or {})
    unsets = {f"user_metadata.{k}": "" for k, v in changes.items() if v is None}
    update: dict[str, Any] = {}
    if sets:
        update["$set"] = sets
    if unsets:
        update["$unset"] = unsets
    if not update:
        record = await by_id(db, user_id=user_id)
    else:
        record = await _one(
            db,
            await db.users.find_one_and_update(
                {"_id": ObjectId(user_id)}, update, return_document=ReturnDocument.AFTER
            ),
        )
    assert record is not None
    return record


async def add_to_counters(db: Database, *, deltas: dict[str, dict[str, int]]) -> None:
    """``$inc`` several counters of many users in one round trip: user id -> field -> delta."""
    ops = [UpdateOne({"_id": ObjectId(u)}, {"$inc": inc}) for u, inc in deltas.items() if inc]
    if ops:
        await db.users.bulk_write(ops, ordered=False)


async def add_to_counter(db: Database, *, user_id: str, field: str, delta: int) -> None:
    """Atomic $inc: counters stay exact under concurrent writers."""
    await db.users.update_one({"_id": ObjectId(user_id)}, {"$inc": {field: delta}})


async def set_role(db: Database, *, user_id: str, role: Role) -> None:
    await db.users.update_one({"_id": ObjectId(user_id)}, {"$set": {"role": role}})


async def names_of(db: Database, *, user_ids: list[str]) -> list[dict[str, Any]]:
    """``_id``, ``user_name``, display name and ``follower_count`` of these users, read in
    short lists (``store/inlists.py``)."""
    fields = {"user_name": 1, "user_metadata.display_name": 1, "follower_count": 1}
    oids = [ObjectId(u) for u in user_ids if ObjectId.is_valid(u)]
    return await inlists.find(db.users, "_id", oids, None, fields)


async def ids_with_followers_above(db: Database, *, threshold: int) -> list[str]:
    """Users with more than ``threshold`` followers (the timeline's pull-path authors)."""
    query = {"follower_count": {"$gt": threshold}}
    return [str(d["_id"]) async for d in db.users.find(query, {"_id": 1})]


async def mark_deleted(db: Database, *, user_id: str, now: datetime, keep_name: timedelta) -> bool:
    """An account deleted by its owner: suspended, its address freed at once, its name kept
    until ``keep_name`` has passed (a TTL index removes the document), and pending for the
    outbox worker, which removes what it owns. True when this call deleted it."""
    result = await db.users.update_one(
        {"_id": ObjectId(user_id), "deleted": {"$ne": True}},
        {
            "$set": {
                "deleted": True,
                "suspended": True,
                "pending": True,
                "email": "",
                "email_lower": f"deleted:{user_id}",
                "password_hash": None,
                "deleted_expires_at": now + keep_name,
            }
        },
    )
    return result.modified_count == 1


async def pending_deletions(db: Database, *, limit: int) -> list[str]:
    """Accounts whose deletion the worker has not finished."""
    cursor = db.users.find({"pending": True}, {"_id": 1}).sort("_id", 1).limit(limit)
    return [str(d["_id"]) async for d in cursor]


async def deletion_done(db: Database, *, user_id: str) -> None:
    await db.users.update_one({"_id": ObjectId(user_id)}, {"$unset": {"pending": ""}})


async def set_suspended(db: Database, *, user_id: str, suspended: bool) -> bool:
    """Suspend or reinstate; True when the flag changed."""
    result = await db.users.update_one(
        {"_id": ObjectId(user_id), "suspended": not suspended},
        {"$set": {"suspended": suspended}},
    )
    return result.modified_count == 1


async def by_github_id(db: Database, *, github_id: int) -> UserRecord | None:
    return await _one(db, await db.users.find_one({"github_id": github_id}))


async def link_github(db: Database, *, user_id: str, github_id: int) -> bool:
    """Attach a GitHub account to a verified account that has none; False when it was not.

    Only a verified account is linked: an unverified one proves nobody owns the address.
    An existing ``github_id`` is never replaced.
    """
    result = await db.users.update_one(
        {"_id": ObjectId(user_id), "email_verified": True, "github_id": {"$exists": False}},
        {"$set": {"github_id": github_id}},
    )
    return result.modified_count == 1


async def set_password(db: Database, *, user_id: str, password_hash: str) -> None:
    changes = {"$set": {"password_hash": password_hash}}
    await db.users.update_one({"_id": ObjectId(user_id)}, changes)


async def set_email(db: Database, *, user_id: str, email: str) -> None:
    """Change the (verified) address; Conflict ``email_taken`` if another account has it."""
    try:
        await db.users.update_one(
            {"_id": ObjectId(user_id)},
            {"$set": {"email": email, "email_lower": email.lower(), "email_verified": True}},
        )
    except DuplicateKeyError as exc:
        raise Conflict(
            "That e-mail is already taken.", code="email_taken", details=[{"field": "email"}]
        ) from exc


async def delete_unverified(db: Database, *, user_id: str) -> bool:
    """Delete the account only if its e-mail is still unverified; True when it was deleted."""
    result = await db.users.delete_one({"_id": ObjectId(user_id), "email_verified": False})
    return result.deleted_count == 1


def _prefixes(d: dict[str, Any]) -> list[str]:
    display = (d.get("user_metadata") or {}).get("display_name")
    return search_prefixes(d.get("user_name", ""), display)


_PREFIXES = backfills.Backfill(
    name="users.search_prefixes",
    collection="users",
    field=prefixed.FIELD,
    reads={"user_name": 1, "user_metadata.display_name": 1},
    value=_prefixes,
)


async def backfill_search_prefixes(db: Database, *, limit: int = 500) -> bool:
    """Give ``search_prefixes`` to up to ``limit`` users stored before people search existed;
    True once none is left (the outbox worker calls it a batch a round until then)."""
    return await _PREFIXES.batch(db, limit=limit)
