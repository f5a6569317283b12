"""Conversations: direct messages between 2 to 20 people.

Only members (participants who have not left) may read or write a conversation; anyone
else gets the same 404 as for one that does not exist. A block either way between two
people stops new conversations and messages between them, and a user whose ``dm_policy``
is ``following`` is reachable only by people they follow. Creating, leaving and reading
are one write each and have no effects to apply later, so they take no outbox entry; a
message does (``server/messages.py``).
"""

from __future__ import annotations

from bson import ObjectId

from realtime.channels import messages_stream, typing_stream

from . import social
from .accounts import Caller
from .errors import Forbidden, NotFound, Unprocessable
from .events import ConversationRead, ConversationTyping
from .ids import parse_id
from .models import Conversation, ConversationMember, ReadReceipt, Typing
from .paging import PageQuery
from .services import Services
from .store import conversations as store
from .store import messages as message_store
from .store import users as user_store
from .store.conversations import ConversationRecord
from .store.users import UserRecord

UNREAD_CAP = 99  # counted at read time, so it never races a read receipt; shown as "99+"


def _not_found() -> NotFound:
    return NotFound("No such conversation.", code="conversation_not_found")


async def membership(svc: Services, user_id: str, conversation_id: str) -> ConversationRecord:
    """The conversation if ``user_id`` is a member; 404 otherwise (a malformed id, a missing
    conversation and someone else's answer alike)."""
    oid = parse_id(conversation_id, "conversation")
    found = await store.member_view(svc.db, conversation_id=oid, user_id=user_id)
    if found is None:
        raise _not_found()
    return found


async def check_reachable(svc: Services, sender: str, others: list[UserRecord]) -> None:
    """403 unless ``sender`` may message every one of ``others``: no block either way, and
    each whose ``dm_policy`` is ``following`` follows the sender."""
    blocked = await social.blocked_authors(svc, sender)
    if any(o.id in blocked for o in others):
        raise Forbidden("You cannot message this user.", code="blocked")
    for other in others:
        if other.dm_policy == "following" and sender not in await social.followees(svc, other.id):
            raise Forbidden(
                f"{other.user_name} accepts messages only from people they follow.",
                code="dm_not_allowed",
                details=[{"user_id": other.id}],
            )


async def create(
    svc: Services, caller: Caller, participant_ids: list[str]
) -> tuple[Conversation, bool]:
    """The conversation between the caller and ``participant_ids``: the existing one for the
    same set of people (the caller rejoins it if they had left), or a new one (``True``)."""
    limit = svc.settings.conversation_max_participants
    wanted = sorted({p for p in participant_ids if p != caller.id})
    if not wanted:
        raise Unprocessable(
            "Name at least one other participant.", code="conversation_needs_others",
            details=[{"field": "participant_ids"}],
        )  # fmt: skip
    if len(wanted) + 1 > limit:
        raise Unprocessable(
            f"A conversation has at most {limit} participants, you included.",
            code="too_many_participants",
            details=[{"field": "participant_ids", "max_items": limit}],
        )
    users = await user_store.by_ids(svc.db, user_ids=wanted)
    # Suspended accounts are as unreachable as deleted ones (their profiles are hidden too).
    usable = {u: r for u, r in users.items() if not (r.deleted or r.suspended) and r.email_verified}
    unknown = [u for u in wanted if u not in usable]
    if unknown:
        raise NotFound("No such user.", code="user_not_found", details=[{"user_ids": unknown}])
    others = [usable[u] for u in wanted]
    await check_reachable(svc, caller.id, others)
    await svc.limits.hit(svc.settings.rate_limit_message, "conversation", caller.id)
    people = [caller.user, *others]
    found, created = await store.open_or_join(
        svc.db,
        caller=caller.id,
        participants=[ConversationMember(user_id=p.id, user_name=p.user_name) for p in people],
        now=svc.clock(),
    )
    return await _view(svc, caller.id, found), created


async def get(svc: Services, caller: Caller, conversation_id: str) -> Conversation:
    """One of the caller's conversations (404 for anyone else)."""
    return await _view(svc, caller.id, await membership(svc, caller.id, conversation_id))


async def page(
    svc: Services, caller: Caller, query: PageQuery
) -> tuple[list[Conversation], ObjectId | None]:
    """The caller's conversations, newest activity first, with unread counts."""
    found = await store.page(svc.db, user_id=caller.id, page=query)
    items = [await _view(svc, caller.id, c) for c in found]
    after = found[-1].activity if len(found) == query.limit else None
    return items, after


async def _view(svc: Services, user_id: str, found: ConversationRecord) -> Conversation:
    """A conversation as ``user_id`` sees it, with their unread count."""
    marker = found.read.get(user_id)
    unread = 0
    if found.last_message and (marker is None or found.activity > marker):
        unread = await message_store.unread(
            svc.db, conversation_id=found.id, user_id=user_id, after=marker, cap=UNREAD_CAP
        )
    return found.view(unread=unread)


async def leave(svc: Services, caller: Caller, conversation_id: str) -> None:
    """Leave a conversation: it is gone from the caller's list, and from then on they can
    neither read it nor hear of it (404)."""
    found = await membership(svc, caller.id, conversation_id)
    await store.leave(svc.db, conversation_id=found.id, user_id=caller.id)


async def mark_read(
    svc: Services, caller: Caller, conversation_id: str, up_to_id: str
) -> Conversation:
    """Move the caller's read marker to a message of this conversation (never backwards)
    and send the read receipt to every member's ``messages`` stream (but those a block
    separates from the caller)."""
    found = await membership(svc, caller.id, conversation_id)
    up_to = parse_id(up_to_id, "message")
    if not await message_store.exists(svc.db, conversation_id=found.id, message_id=up_to):
        raise NotFound("No such message.", code="message_not_found")
    before = found.read.get(caller.id)
    after = await store.mark_read(svc.db, conversation_id=found.id, user_id=caller.id, up_to=up_to)
    if after is None:  # left meanwhile
        raise _not_found()
    if before is None or before < up_to:
        receipt = ReadReceipt(
            conversation_id=str(found.id), reader_id=caller.id, up_to_id=str(up_to)
        )
        # Not to members a block separates from the reader, as with typing.
        blocked = await social.blocked_authors(svc, caller.id)
        streams = [messages_stream(m) for m in after.members if m not in blocked]
        await svc.publish(streams, ConversationRead(data=receipt))
    return await _view(svc, caller.id, after)


async def typing(svc: Services, user_id: str, conversation_id: str) -> None:
    """``user_id`` is writing: the other members hear it live (never logged or replayed),
    except those a block separates from them."""
    found = await membership(svc, user_id, conversation_id)
    blocked = await social.blocked_authors(svc, user_id)
    others = [m for m in found.members if m != user_id and m not in blocked]
    name = found.name_of(user_id)
    data = Typing(conversation_id=str(found.id), sender_id=user_id, sender_name=name)
    await svc.publish([typing_stream(m) for m in others], ConversationTyping(data=data))
