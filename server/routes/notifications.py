"""/notifications: the signed-in user's follow, like, reply and mention notifications."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, notifications
from ..api import CURSOR, LIMIT, Param, Router
from ..http import json_response, page_query, page_response, query_bool, read_json
from ..models import MarkRead, Notification, Page, UnreadCount
from ..services import services

router = Router("notifications")


@router.get(
    "/notifications",
    "Your notifications, newest first",
    response=Page[Notification],
    auth=True,
    params=(
        Param("unread_only", "true for unread ones only", type="boolean"),
        LIMIT,
        CURSOR,
    ),
)
async def list_notifications(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    items, after = await notifications.page(
        svc, who.id, unread_only=query_bool(request, "unread_only"), page=page_query(request)
    )
    return page_response(request, items, after)


@router.get("/notifications/unread-count", "How many are unread", response=UnreadCount, auth=True)
async def unread_count(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    return json_response(UnreadCount(unread_count=await notifications.unread_count(svc, who.id)))


@router.post(
    "/notifications/read",
    "Mark every notification up to and including up_to_id read",
    body=MarkRead,
    response=UnreadCount,
    auth=True,
    errors=(404, 422),
)
async def mark_read(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    req = await read_json(request, MarkRead, svc.settings.max_body_bytes)
    await notifications.mark_read(svc, who.id, req.up_to_id)
    return json_response(UnreadCount(unread_count=await notifications.unread_count(svc, who.id)))
