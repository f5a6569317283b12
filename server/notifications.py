"""Notifications: follow, like, reply and mention, persisted and pushed to the recipient."""

from __future__ import annotations

from datetime import timedelta

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


async def notify(
    svc: Services,
    *,
    recipient: str,
    kind: NotificationKind,
    actor: UserRecord,
    tweet_id: str | None = None,
) -> Notification | None:
    """Store and push one notification, unless it is about yourself, between users who block
    each other, or a repeat of one made within the last minute. Safe to repeat: the outbox
    worker may run it twice for one like, follow, reply or mention."""
    if recipient == actor.id:
        return None
    if await social.blocked_between(svc, recipient, actor.id):
        return None
    now = svc.clock()
    # Claim-then-insert: identical actions within the window share one notification id, so
    # of simultaneous ones, repeats and retries only one notification is ever stored.
    key = f"{recipient}|{kind}|{actor.id}|{tweet_id or ''}"
    doc = store.new_document(
        recipient=recipient,
        kind=kind,
        actor_id=actor.id,
        actor_name=actor.user_name,
        tweet_id=tweet_id,
        now=now,
    )
    claimed = await store.claim(svc.db, key=key, now=now, window=DEDUPE_WINDOW)
    if claimed is None:
        return None
    doc["_id"] = claimed
    if not await store.insert_once(svc.db, doc):
        return None
    note = store.to_model(doc)
    await svc.publish([notifications_stream(recipient)], NotificationCreated(data=note))
    return note


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
