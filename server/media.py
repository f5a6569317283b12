"""Image attachments: upload, describe, attach to a tweet, serve, and clean up.

An upload (``POST /media``) is checked and re-encoded off the event loop
(``server/images.py``); its record is inserted (``uploading``), its two renditions stored in
GridFS, then the record marked ``uploaded`` (``server/store/media.py``): a crash midway leaves
a record the sweep finds and removes with whatever files it has. Attaching needs no
transaction: ``tweets.compose`` claims the caller's unattached uploads for a tweet id chosen
in advance in one conditional ``update_many``, then inserts the tweet with copies of them;
the outbox worker marks them attached. A crash between the two leaves claims whose tweet
never came, which the sweep gives back.

Anything removed (a deleted tweet's images, a deleted account's, uploads never attached
within ``MEDIA_ORPHAN_SECONDS``) is first marked ``removing`` in one conditional update, so a
tweet cannot claim it any more, then its files and record go; a run cut short is finished by
the next.

Media ids are random (128 bits), not ObjectIds: an image's URL is known only to its uploader
and to readers of the tweet that carries it, and cannot be guessed from another id.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from gridfs.asynchronous.grid_file import AsyncGridOut

from .accounts import Caller
from .errors import ApiError, Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from .images import ImageRejected, Processed
from .models import MAX_TWEET_MEDIA, Media, Tweet, TweetMedia
from .services import Services
from .store import media as store
from .store import tweets as tweet_store
from .store.media import Rendition

MEDIA_ID_RE = re.compile(r"^[A-Za-z0-9_-]{22}$")
# A claim older than this whose tweet does not exist was cut short by a crash; younger
# ones may be a compose still between its claim and its insert.
CLAIM_GRACE = timedelta(minutes=10)
SWEEP_BATCH = 100


def urls(media_id: str) -> tuple[str, str]:
    """Where the original and the preview are served (paths on this server)."""
    return f"/media/{media_id}/original", f"/media/{media_id}/preview"


def to_model(doc: dict[str, Any]) -> Media:
    url, preview_url = urls(doc["_id"])
    original, preview = doc["files"]["original"], doc["files"]["preview"]
    return Media(
        media_id=doc["_id"],
        url=url,
        preview_url=preview_url,
        width=original["width"],
        height=original["height"],
        alt=doc.get("alt", ""),
        content_type=original["content_type"],
        preview_width=preview["width"],
        preview_height=preview["height"],
        size=original["size"],
        state=doc["state"],
    )


def _checked_id(media_id: str) -> str:
    if not MEDIA_ID_RE.match(media_id):
        raise NotFound("No such image.", code="media_not_found")
    return media_id


async def admit(svc: Services, caller: Caller) -> None:
    """Before reading an upload's body: the per-user rate limit (429) and a full quota (413)."""
    await svc.limits.hit(svc.settings.rate_limit_media, "media", caller.id)
    await _check_quota(svc, caller, 0)


async def _check_quota(svc: Services, caller: Caller, adding: int) -> None:
    quota = svc.settings.media_quota_bytes
    used = await store.usage(svc.db, owner=caller.id)
    if used + adding > quota or used >= quota:
        raise PayloadTooLarge(
            f"Your images use {used:,} of your {quota:,} bytes; delete some tweets with "
            "images to upload more.",
            code="media_quota_exceeded",
            details=[{"used": used, "quota": quota, "adding": adding}],
        )


async def upload(
    svc: Services,
    caller: Caller,
    data: bytes,
    *,
    content_type: str | None,
    filename: str | None,
    alt: str = "",
) -> Media:
    """Check, clean and store an uploaded image; its record is the last write."""
    try:
        processed = await svc.images.process(
            data,
            content_type=content_type,
            filename=filename,
            max_pixels=svc.settings.media_max_pixels,
        )
    except ImageRejected as exc:
        error = ApiError(exc.message, code=exc.code)
        error.status = exc.status
        raise error from exc
    stored = len(processed.original.data) + len(processed.preview.data)
    await _check_quota(svc, caller, stored)
    media_id = secrets.token_urlsafe(16)
    doc = _record(media_id, caller.id, processed, alt, svc.clock())
    await store.insert(svc.db, doc)  # first: a crash below leaves a record the sweep finds
    for rendition, r in (("original", processed.original), ("preview", processed.preview)):
        await store.put_file(
            svc.db, media_id=media_id, rendition=rendition, data=r.data,  # type: ignore[arg-type]
            content_type=r.content_type, sha256=r.sha256,
        )  # fmt: skip
    await store.stored(svc.db, media_id=media_id)
    doc["state"] = "uploaded"
    return to_model(doc)


def _record(
    media_id: str, owner: str, processed: Processed, alt: str, now: datetime
) -> dict[str, Any]:
    files: dict[str, dict[str, Any]] = {
        name: {
            "content_type": r.content_type,
            "width": r.width,
            "height": r.height,
            "size": len(r.data),
            "sha256": r.sha256,
        }  # fmt: skip
        for name, r in (("original", processed.original), ("preview", processed.preview))
    }
    return {
        "_id": media_id,
        "owner": owner,
        "state": "uploading",
        "created_at": now,
        "alt": alt,
        "source_format": processed.source_format,
        "files": files,
        "bytes": files["original"]["size"] + files["preview"]["size"],
    }


async def set_alt(svc: Services, caller: Caller, media_id: str, alt: str) -> Media:
    """Describe one's own upload; only before a tweet carries it (the tweet keeps a copy)."""
    doc = await store.set_alt(svc.db, media_id=_checked_id(media_id), owner=caller.id, alt=alt)
    if doc is None:
        current = await store.get(svc.db, media_id=media_id)
        _refuse(current, caller)
        raise AssertionError("unreachable")  # _refuse raises for every other state
    return to_model(doc)


def _refuse(doc: dict[str, Any] | None, caller: Caller) -> None:
    """Why one's upload cannot be used or changed: missing, someone else's, or taken."""
    if doc is None or doc["state"] == "removing":
        raise NotFound("No such image.", code="media_not_found")
    if doc["owner"] != caller.id:
        raise Forbidden("Only the uploader can use this image.", code="media_not_yours")
    if doc["state"] == "uploading":
        raise Conflict("This image is still being stored; try again.", code="media_not_ready")
    if doc["state"] != "uploaded":
        raise Conflict("This image already belongs to a tweet.", code="media_already_attached")


async def claim(
    svc: Services, caller: Caller, media_ids: list[str], tweet_id: ObjectId
) -> list[dict[str, Any]]:
    """Claim the caller's uploads for the tweet about to be stored as ``tweet_id``; the
    copies the tweet carries, in the order given. 4xx (nothing claimed) when any is missing,
    someone else's or already taken."""
    if len(set(media_ids)) != len(media_ids) or len(media_ids) > MAX_TWEET_MEDIA:
        raise Unprocessable(
            f"Attach at most {MAX_TWEET_MEDIA} different images.",
            code="invalid_media_ids",
            details=[{"field": "media_ids", "max_items": MAX_TWEET_MEDIA}],
        )
    for mid in media_ids:
        _checked_id(mid)
    tid = str(tweet_id)
    claimed = await store.claim(
        svc.db, media_ids=media_ids, owner=caller.id, tweet_id=tid, now=svc.clock()
    )
    docs = {d["_id"]: d for d in await store.find(svc.db, media_ids=media_ids)}
    if claimed != len(media_ids):
        await store.release(svc.db, tweet_id=tid)
        for mid in media_ids:
            if docs.get(mid, {}).get("tweet_id") != tid:
                _refuse(docs.get(mid), caller)
        raise Conflict("An image changed while posting; try again.", code="media_changed")
    return [tweet_media(to_model(docs[mid])).model_dump() for mid in media_ids]


def tweet_media(item: Media) -> TweetMedia:
    """The copy of an upload a tweet carries."""
    return TweetMedia(**item.model_dump(include=set(TweetMedia.model_fields)))


async def release(svc: Services, tweet_id: ObjectId) -> None:
    """The tweet was not stored (an error, or a retry that found the first one)."""
    await store.release(svc.db, tweet_id=str(tweet_id))


async def attach(svc: Services, tweets: list[Tweet]) -> None:
    """The worker saw these new tweets: their uploads are attached for good (also when a
    sweep gave a slow compose's claim back meanwhile)."""
    for tweet in tweets:
        if tweet.media:
            ids = [m.media_id for m in tweet.media]
            await store.attach(svc.db, tweet_id=tweet.tweet_id, owner=tweet.user_id, media_ids=ids)


async def remove_for_tweets(svc: Services, tweet_ids: list[str]) -> None:
    """Deleted tweets' images go (idempotent)."""
    if tweet_ids:
        await store.mark_removing(svc.db, {"tweet_id": {"$in": tweet_ids}})
        await purge(svc)


async def remove_for_user(svc: Services, user_id: str) -> None:
    """A deleted account's uploads go, attached or not (idempotent)."""
    await store.mark_removing(svc.db, {"owner": user_id})
    await purge(svc)


async def purge(svc: Services) -> int:
    """Remove the files, then the records, of everything marked ``removing``."""
    removed = 0
    while ids := await store.ids_for(svc.db, {"state": "removing"}, limit=SWEEP_BATCH):
        await store.remove_files(svc.db, media_ids=ids)
        await store.remove(svc.db, media_ids=ids)
        removed += len(ids)
    return removed


async def sweep(svc: Services, now: datetime) -> int:
    """Periodic clean-up (run by the outbox worker; ``now`` from the app's clock): claims a
    crash cut short are given back; uploads never attached within ``MEDIA_ORPHAN_SECONDS``
    (and uploads a crash left half-stored) are removed. How many images were removed."""
    stale = await store.stale_claims(svc.db, before=now - CLAIM_GRACE, limit=SWEEP_BATCH)
    tweet_ids = sorted({d["tweet_id"] for d in stale if ObjectId.is_valid(d.get("tweet_id"))})
    stored = await tweet_store.exists(svc.db, tweet_ids=[ObjectId(t) for t in tweet_ids])
    for tid in tweet_ids:
        if tid not in stored:  # no tweet owns them: give them back
            await store.release(svc.db, tweet_id=tid)
    cutoff = now - timedelta(seconds=svc.settings.media_orphan_seconds)
    unattached = {"state": {"$in": ["uploading", "uploaded"]}, "created_at": {"$lt": cutoff}}
    await store.mark_removing(svc.db, unattached)
    return await purge(svc)


async def open_rendition(svc: Services, media_id: str, rendition: Rendition) -> AsyncGridOut:
    """A stream over a stored image (its file document read), or 404 ``media_not_found``
    (also while its tweet is hidden)."""
    found = await store.open_file(svc.db, media_id=_checked_id(media_id), rendition=rendition)
    if found is not None and (found.metadata or {}).get("hidden"):
        await found.close()  # its tweet is hidden: the image is not handed out either
        found = None
    if found is None:
        raise NotFound("No such image.", code="media_not_found")
    return found


async def shown(svc: Services, tweets: list[tuple[Tweet, bool]]) -> None:
    """Serve these tweets' images (True) or not (False: a moderator hid the tweet)."""
    for tweet, visible in tweets:
        if tweet.media:
            ids = [m.media_id for m in tweet.media]
            await store.set_hidden(svc.db, media_ids=ids, hidden=not visible)
