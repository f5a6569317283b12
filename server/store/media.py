"""Uploaded images: the ``media`` collection and their bytes in GridFS (bucket ``images``).

A media document is the upload's record: its owner, its state (``uploaded`` → ``claimed``
for a tweet about to be stored → ``attached`` once the worker has seen the tweet), the
tweet's id, sizes, digests and alt text. Its two renditions are GridFS files with ids derived
from the media id (``<id>:original``, ``<id>:preview``), so serving one is a single lookup
by id and removing them needs no read first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from gridfs import AsyncGridFSBucket
from gridfs.asynchronous.grid_file import AsyncGridOut
from gridfs.errors import NoFile

from ..db import Database

BUCKET = "images"
Rendition = Literal["original", "preview"]
RENDITIONS: tuple[Rendition, ...] = ("original", "preview")


def file_id(media_id: str, rendition: Rendition) -> str:
    """The GridFS id of one rendition of a media item."""
    return f"{media_id}:{rendition}"


def bucket(db: Database) -> AsyncGridFSBucket:
    """The GridFS bucket the images live in (its indexes are declared in ``db.INDEXES``)."""
    return AsyncGridFSBucket(db, bucket_name=BUCKET)


# --- bytes ---


async def put_file(
    db: Database, *, media_id: str, rendition: Rendition, data: bytes, content_type: str,
    sha256: str,
) -> None:  # fmt: skip
    """Store one rendition's bytes (chunked by GridFS)."""
    fid = file_id(media_id, rendition)
    metadata = {"media_id": media_id, "content_type": content_type, "sha256": sha256}
    await bucket(db).upload_from_stream_with_id(fid, fid, data, metadata=metadata)


async def open_file(db: Database, *, media_id: str, rendition: Rendition) -> AsyncGridOut | None:
    """A download stream over one rendition (its file document read, no chunk yet), or None."""
    try:
        return await bucket(db).open_download_stream(file_id(media_id, rendition))
    except NoFile:
        return None


async def set_hidden(db: Database, *, media_ids: list[str], hidden: bool) -> None:
    """Mark these items' renditions hidden (their tweet was hidden by a moderator) or not;
    the flag sits on the file document, which serving reads anyway."""
    fids = [file_id(m, r) for m in media_ids for r in RENDITIONS]
    await db[f"{BUCKET}.files"].update_many(
        {"_id": {"$in": fids}}, {"$set": {"metadata.hidden": hidden}}
    )


async def remove_files(db: Database, *, media_ids: list[str]) -> None:
    """Remove these items' renditions. Chunks go first: a crash midway leaves a file
    document whose record still exists, and the caller's retry removes both."""
    if not media_ids:
        return
    fids = [file_id(m, r) for m in media_ids for r in RENDITIONS]
    await db[f"{BUCKET}.chunks"].delete_many({"files_id": {"$in": fids}})
    await db[f"{BUCKET}.files"].delete_many({"_id": {"$in": fids}})


# --- records ---


async def insert(db: Database, doc: dict[str, Any]) -> None:
    """Store a new upload's record, ``uploading`` until its files are stored."""
    await db.media.insert_one(doc)


async def stored(db: Database, *, media_id: str) -> None:
    """The upload's files are stored: it may be attached now."""
    await db.media.update_one(
        {"_id": media_id, "state": "uploading"}, {"$set": {"state": "uploaded"}}
    )


async def get(db: Database, *, media_id: str) -> dict[str, Any] | None:
    return await db.media.find_one({"_id": media_id})


async def find(db: Database, *, media_ids: list[str]) -> list[dict[str, Any]]:
    return [d async for d in db.media.find({"_id": {"$in": media_ids}})]


async def usage(db: Database, *, owner: str) -> int:
    """Bytes stored for ``owner``'s uploads (both renditions), for the quota."""
    rows = db.media.aggregate(
        [{"$match": {"owner": owner}}, {"$group": {"_id": None, "bytes": {"$sum": "$bytes"}}}]
    )
    async for row in await rows:
        return int(row["bytes"])
    return 0


async def set_alt(db: Database, *, media_id: str, owner: str, alt: str) -> dict[str, Any] | None:
    """Change the alt text of one's own upload that no tweet has claimed; None otherwise."""
    return await db.media.find_one_and_update(
        {"_id": media_id, "owner": owner, "state": "uploaded"},
        {"$set": {"alt": alt}},
        return_document=True,
    )


async def claim(
    db: Database, *, media_ids: list[str], owner: str, tweet_id: str, now: datetime
) -> int:
    """Claim ``owner``'s unattached uploads for the tweet about to be stored, in one
    conditional update; how many it claimed (all or the caller gives them back)."""
    result = await db.media.update_many(
        {"_id": {"$in": media_ids}, "owner": owner, "state": "uploaded"},
        {"$set": {"state": "claimed", "tweet_id": tweet_id, "claimed_at": now}},
    )
    return result.modified_count


async def release(db: Database, *, tweet_id: str) -> None:
    """Give uploads claimed for a tweet that was never stored back to their owner."""
    await db.media.update_many(
        {"tweet_id": tweet_id, "state": "claimed"},
        {"$set": {"state": "uploaded"}, "$unset": {"tweet_id": "", "claimed_at": ""}},
    )


async def attach(db: Database, *, tweet_id: str, owner: str, media_ids: list[str]) -> None:
    """The worker has seen this tweet: the uploads it carries are attached for good."""
    await db.media.update_many(
        {"_id": {"$in": media_ids}, "owner": owner, "state": {"$in": ["claimed", "uploaded"]}},
        {"$set": {"state": "attached", "tweet_id": tweet_id}},
    )


async def mark_removing(db: Database, query: dict[str, Any]) -> None:
    """Mark the records matching ``query`` for removal: no tweet can claim them any more."""
    await db.media.update_many(
        {"$and": [query, {"state": {"$ne": "removing"}}]}, {"$set": {"state": "removing"}}
    )


async def ids_for(db: Database, query: dict[str, Any], limit: int = 0) -> list[str]:
    """Ids of the records matching ``query`` (a tweet's, an owner's, the stale ones)."""
    return [d["_id"] async for d in db.media.find(query, {"_id": 1}, limit=limit)]


async def stale_claims(db: Database, *, before: datetime, limit: int = 100) -> list[dict[str, Any]]:
    """Claims older than ``before`` (their tweet should long be stored), for the sweep."""
    query = {"state": "claimed", "claimed_at": {"$lt": before}}
    return [d async for d in db.media.find(query, {"tweet_id": 1}, limit=limit)]


async def remove(db: Database, *, media_ids: list[str]) -> None:
    """Remove records (after their files)."""
    if media_ids:
        await db.media.delete_many({"_id": {"$in": media_ids}})
