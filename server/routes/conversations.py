"""/conversations: direct messages between 2 to 20 people, for their members only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, conversations, messages
from ..api import IDEMPOTENCY_KEY, PAGING, Param, Router
from ..http import idempotency_key, json_response, page_query, page_response, read_json
from ..models import Conversation, MarkRead, Message, MessageContent, NewConversation, Page
from ..services import services

router = Router("messages")

CONVERSATION_ID = Param("conversation_id", location="path", required=True)


@router.post(
    "/conversations",
    "Start a conversation with 1–19 others (201); the same people again: the same one (200)",
    body=NewConversation,
    response=Conversation,
    status=201,
    auth=True,
    errors=(403, 404, 413, 415, 422, 429),
)
async def create_conversation(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    req = await read_json(request, NewConversation, svc.settings.max_body_bytes)
    conversation, created = await conversations.create(svc, who, req.participant_ids)
    return json_response(conversation, status=201 if created else 200)


@router.get(
    "/conversations",
    "Your conversations, newest activity first, with the last message and unread counts",
    response=Page[Conversation],
    auth=True,
    params=PAGING,
)
async def list_conversations(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    items, after = await conversations.page(svc, who, page_query(request))
    return page_response(request, items, after)


@router.get(
    "/conversations/{conversation_id}",
    "One of your conversations",
    response=Conversation,
    auth=True,
    params=(CONVERSATION_ID,),
    errors=(404,),
)
async def get_conversation(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    cid = request.path_params["conversation_id"]
    return json_response(await conversations.get(svc, who, cid))


@router.get(
    "/conversations/{conversation_id}/messages",
    "A conversation's messages, newest first",
    response=Page[Message],
    auth=True,
    params=(CONVERSATION_ID, *PAGING),
    errors=(404,),
)
async def list_messages(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    cid = request.path_params["conversation_id"]
    items, after = await messages.page(svc, who, cid, page_query(request))
    return page_response(request, items, after)


@router.post(
    "/conversations/{conversation_id}/messages",
    "Send a message (Markdown, 1–1000 characters)",
    body=MessageContent,
    response=Message,
    status=201,
    auth=True,
    params=(CONVERSATION_ID, IDEMPOTENCY_KEY),
    errors=(403, 404, 413, 415, 422, 429),
)
async def send_message(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    key = idempotency_key(request)
    req = await read_json(request, MessageContent, svc.settings.max_body_bytes)
    cid = request.path_params["conversation_id"]
    message, _ = await messages.send(svc, who, cid, req.content, idempotency_key=key)
    return json_response(message, status=201)


@router.post(
    "/conversations/{conversation_id}/read",
    "Mark the conversation read up to and including a message (a read receipt for the others)",
    body=MarkRead,
    response=Conversation,
    auth=True,
    params=(CONVERSATION_ID,),
    errors=(404, 422),
)
async def mark_conversation_read(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    req = await read_json(request, MarkRead, svc.settings.max_body_bytes)
    cid = request.path_params["conversation_id"]
    return json_response(await conversations.mark_read(svc, who, cid, req.up_to_id))


@router.post(
    "/conversations/{conversation_id}/typing",
    "Tell the others you are typing (live only; at most once per 2 s per conversation)",
    status=204,
    auth=True,
    params=(CONVERSATION_ID,),
    errors=(404, 429),
)
async def conversation_typing(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    cid = request.path_params["conversation_id"]
    found = await conversations.membership(svc, who.id, cid)  # 404 before the limit counts
    # Keyed by the stored id: the path's may spell the same hex id in any case.
    await svc.limits.hit(svc.settings.rate_limit_typing, "typing", who.id, str(found.id))
    await conversations.typing(svc, who.id, cid)
    return Response(status_code=204)


@router.delete(
    "/conversations/{conversation_id}/participants/me",
    "Leave a conversation",
    status=204,
    auth=True,
    params=(CONVERSATION_ID,),
    errors=(404,),
)
async def leave_conversation(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    await conversations.leave(svc, who, request.path_params["conversation_id"])
    return Response(status_code=204)
