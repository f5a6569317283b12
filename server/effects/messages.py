"""What follows a direct message, applied by the outbox worker: its conversation's last
message and activity move to it (only forward, so a re-run changes nothing), the sender's
read marker too, and the other members hear ``message.created`` on their ``messages``
stream (the sender's own was told by the request). Then the batch is settled."""

from __future__ import annotations

from typing import Any

from realtime.channels import messages_stream

from .. import social
from ..events import MessageCreated
from ..services import Services
from ..store import conversations as conversation_store
from ..store import messages as message_store


async def apply(svc: Services, messages: list[dict[str, Any]]) -> None:
    """Record and announce each pending message, then mark the batch applied."""
    ids = list({m["conversation_id"] for m in messages})
    members = await conversation_store.members_of(svc.db, conversation_ids=ids)
    for message in messages:
        await conversation_store.record_message(svc.db, message=message)
        # A block made after the message was sent: it stays in the history (it was sent
        # before), but is not pushed to the one who blocked or was blocked meanwhile.
        sender = message["sender_id"]
        blocked = await social.blocked_authors(svc, sender)
        others = [
            u
            for u in members.get(message["conversation_id"], [])
            if u != sender and u not in blocked
        ]
        event = MessageCreated(data=message_store.to_model(message))
        # Named, so a round re-run after a worker died sends it to nobody twice.
        once = f"message:{message['_id']}:created"
        await svc.publish([messages_stream(u) for u in others], event, once=once)
    await message_store.settle(svc.db, message_ids=[m["_id"] for m in messages])
