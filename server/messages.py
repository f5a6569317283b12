"""Direct messages: send and read, inside a conversation (``server/conversations.py``).

Sending is one write: the message is inserted marked ``pending`` (its outbox entry), then
announced on the sender's own ``messages`` stream. The outbox worker
(``server/effects/messages.py``) moves the conversation's last message and activity to it
and announces it to the other members. Messages are rendered and sanitized like tweets
and appear in no search, trend or public stream.
"""

from __future__ import annotations

from bson import ObjectId

from realtime.channels import messages_stream

from . import markdown
from .accounts import Caller
from .conversations import check_reachable, membership
from .errors import Conflict
from .events import MessageCreated
from .models import Message
from .paging import PageQuery
from .services import Services
from .store import messages as store
from .store import users as user_store


async def send(
    svc: Services,
    caller: Caller,
    conversation_id: str,
    content: str,
    idempotency_key: str | None = None,
) -> tuple[Message, bool]:
    """Post a message to a conversation the caller is in. A retry with the same
    ``idempotency_key`` returns the first message (``created`` False) and writes nothing;
    the same key for another conversation is a 409 (a client bug, not a retry)."""
    found = await membership(svc, caller.id, conversation_id)
    text = markdown.checked_text(content, svc.settings.message_max_chars, "message")
    others = [m for m in found.members if m != caller.id]
    records = await user_store.by_ids(svc.db, user_ids=others)
    await check_reachable(svc, caller.id, [records[m] for m in others if m in records])
    await svc.limits.hit(svc.settings.rate_limit_message, "message", caller.id)
    stored, created = await store.insert(
        svc.db,
        conversation_id=found.id,
        sender_id=caller.id,
        sender_name=caller.user.user_name,
        content=text,
        html=markdown.render(text).html,
        now=svc.clock(),
        idempotency_key=idempotency_key,
    )
    if not created and stored["conversation_id"] != found.id:
        raise Conflict(
            "This Idempotency-Key was used for a message to another conversation.",
            code="idempotency_key_reused",
            details=[{"header": "Idempotency-Key"}],
        )
    message = store.to_model(stored)
    if created:
        svc.written()
        # The sender's other devices at once; the others' from the worker.
        await svc.publish([messages_stream(caller.id)], MessageCreated(data=message))
    return message, created


async def page(
    svc: Services, caller: Caller, conversation_id: str, query: PageQuery
) -> tuple[list[Message], ObjectId | None]:
    """A conversation's messages, newest first (404 unless the caller is a member)."""
    found = await membership(svc, caller.id, conversation_id)
    items = await store.page(svc.db, conversation_id=found.id, page=query)
    after = ObjectId(items[-1].message_id) if len(items) == query.limit else None
    return items, after
