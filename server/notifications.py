"""Notifications: follow, like, reply and mention, persisted and pushed to the recipient."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bson import ObjectId

from realtime.channels import notifications_stream

from . import social
from .events import NotificationCreated
from .ids import parse_id
from .models import Notification, NotificationKind
from .paging import PageQuery
from .services import Services
from .store import notifications as store
from .store.users import UserRecord

# A like, unlike and like again (or follow, unfollow, follow) inside this window notifies once.
DEDUPE_WINDOW = timedelta(minutes=1)
# Kinds a tweet makes once: stored with their key in ``once`` (unique), so a repeat (the
# worker running the tweet's round again) fails to insert; no claim to write first (an
# upsert of ~0.5 ms of SecantusDB's CPU each). The others (a like, a follow, a repost:
# undone and done again) claim their id for the window.
ONCE: frozenset[NotificationKind] = frozenset({"reply", "mention", "quote"})


@dataclass(frozen=True)
class Wanted:
    """A notification an action asks for: ``actor`` did ``kind`` to ``recipient``."""

    recipient: str
    kind: NotificationKind
    actor: UserRecord
    tweet_id: str | None = None


async def notify_many(svc: Services, wanted: Sequence[Wanted]) -> list[Notification]:
    """Store and push notifications (an outbox batch's at once: two writes for them all),
    leaving out those about yourself, between users who block each other, and repeats of
    one made within the last minute. Safe to repeat: the outbox worker may run a batch
    twice, and a retry stores and pushes nothing new."""
    now = svc.clock()
    docs: dict[str, dict[str, Any]] = {}  # claim key -> the notification it would store
    for w in wanted:
        if w.recipient == w.actor.id or await social.blocked_between(svc, w.recipient, w.actor.id):
            continue
        # Claim-then-insert: identical actions within the window share one notification id,
        # so of simultaneous ones, repeats and retries only one notification is ever stored
        # (a tweet's own ones: their unique ``once`` key).
        key = f"{w.recipient}|{w.kind}|{w.actor.id}|{w.tweet_id or ''}"
        docs.setdefault(key, store.new_document(
            recipient=w.recipient, kind=w.kind, actor_id=w.actor.id,
            actor_name=w.actor.user_name, tweet_id=w.tweet_id, now=now,
        ))  # fmt: skip
    for key, doc in docs.items():
        if doc["kind"] in ONCE and doc["tweet_id"]:
            doc["once"] = key
    claims = [key for key, doc in docs.items() if "once" not in doc]
    claimed = await store.claim_many(svc.db, keys=claims, now=now, window=DEDUPE_WINDOW)
    for key in claims:
        docs[key]["_id"] = claimed.get(key)
    stored = await store.insert_new(svc.db, [d for d in docs.values() if d["_id"] is not None])
    made = [store.to_model(d) for d in stored]
    await svc.publish_many(
        [([notifications_stream(d["recipient"])], NotificationCreated(data=n), None)
         for d, n in zip(stored, made, strict=True)]
    )  # fmt: skip
    return made


async def page(
    svc: Services, recipient: str, *, unread_only: bool, page: PageQuery
) -> tuple[list[Notification], ObjectId | None]:
    """Newest first, without those from users blocked either way (made before the block)."""
    return await store.page(
        svc.db,
        recipient=recipient,
        unread_only=unread_only,
        page=page,
        exclude_actors=await social.blocked_authors(svc, recipient),
    )


async def mark_read(svc: Services, recipient: str, up_to_id: str) -> int:
    """Mark the caller's notifications read, all or up to one id."""
    return await store.mark_read(
        svc.db, recipient=recipient, up_to=parse_id(up_to_id, "notification", code="not_found")
    )


async def unread_count(svc: Services, recipient: str) -> int:
    """How many of the caller's notifications are unread (blocked actors left out)."""
    blocked = await social.blocked_authors(svc, recipient)
    return await store.unread_count(svc.db, recipient=recipient, exclude_actors=blocked)
