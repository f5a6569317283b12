"""Reports and the moderators' tools: ``/tweets/{id}/report`` and ``/moderation/*``."""

from __future__ import annotations

from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, moderation
from ..api import CURSOR, LIMIT, Param, Router
from ..errors import Unprocessable
from ..http import json_response, page_query, page_response, read_json
from ..models import Page, PublicUser, Role, Strict, Tweet
from ..services import services
from ..store.reports import Report, Status

router = Router("moderation")

TWEET_ID = Param("tweet_id", location="path", required=True)
USER_ID = Param("user_id", location="path", required=True)


class ReportRequest(Strict):
    reason: str = Field(min_length=1, max_length=500)


class RoleRequest(Strict):
    role: Role


@router.post(
    "/tweets/{tweet_id}/report",
    "Report a tweet to the moderators (once per tweet)",
    body=ReportRequest,
    response=Report,
    status=201,
    auth=True,
    params=(TWEET_ID,),
    errors=(404, 409, 422),
)
async def report_tweet(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    req = await read_json(request, ReportRequest, svc.settings.max_body_bytes)
    filed = await moderation.report(svc, who, request.path_params["tweet_id"], req.reason)
    return json_response(filed, status=201)


@router.get(
    "/moderation/reports",
    "The review queue, oldest first (moderators)",
    response=Page[Report],
    auth=True,
    params=(
        Param("status", "'open' (default), 'resolved' or 'dismissed'"),
        LIMIT,
        CURSOR,
    ),
    errors=(403, 422),
)
async def list_reports(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    status = request.query_params.get("status", "open")
    if status not in ("open", "resolved", "dismissed"):
        raise Unprocessable(
            "status must be open, resolved or dismissed.", details=[{"field": "status"}]
        )
    chosen: Status = status  # type: ignore[assignment]
    items, after = await moderation.queue(svc, who, chosen, page_query(request))
    return page_response(request, items, after)


@router.post(
    "/moderation/reports/{report_id}/dismiss",
    "Close a report without acting (moderators)",
    response=Report,
    auth=True,
    params=(Param("report_id", location="path", required=True),),
    errors=(403, 404),
)
async def dismiss_report(request: Request) -> Response:
    who = await accounts.caller(request)
    done = await moderation.dismiss(services(request), who, request.path_params["report_id"])
    return json_response(done)


@router.post(
    "/moderation/tweets/{tweet_id}/hide",
    "Hide a tweet everywhere (moderators)",
    response=Tweet,
    auth=True,
    params=(TWEET_ID,),
    errors=(403, 404),
)
async def hide_tweet(request: Request) -> Response:
    who = await accounts.caller(request)
    return json_response(
        await moderation.hide(services(request), who, request.path_params["tweet_id"])
    )


@router.post(
    "/moderation/tweets/{tweet_id}/restore",
    "Show a hidden tweet again (moderators)",
    response=Tweet,
    auth=True,
    params=(TWEET_ID,),
    errors=(403, 404),
)
async def restore_tweet(request: Request) -> Response:
    who = await accounts.caller(request)
    return json_response(
        await moderation.restore(services(request), who, request.path_params["tweet_id"])
    )


@router.post(
    "/moderation/users/{user_id}/suspend",
    "Suspend an account: no sign-in, no posting, sessions and sockets closed (moderators)",
    response=PublicUser,
    auth=True,
    params=(USER_ID,),
    errors=(403, 404, 422),
)
async def suspend_user(request: Request) -> Response:
    who = await accounts.caller(request)
    user = await moderation.suspend(services(request), who, request.path_params["user_id"])
    return json_response(user.public())


@router.post(
    "/moderation/users/{user_id}/unsuspend",
    "Lift a suspension (moderators)",
    response=PublicUser,
    auth=True,
    params=(USER_ID,),
    errors=(403, 404, 422),
)
async def unsuspend_user(request: Request) -> Response:
    who = await accounts.caller(request)
    user = await moderation.unsuspend(services(request), who, request.path_params["user_id"])
    return json_response(user.public())


@router.post(
    "/moderation/users/{user_id}/role",
    "Set a user's role (admins)",
    body=RoleRequest,
    response=PublicUser,
    auth=True,
    params=(USER_ID,),
    errors=(403, 404, 422),
)
async def set_role(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    req = await read_json(request, RoleRequest, svc.settings.max_body_bytes)
    user = await moderation.set_role(svc, who, request.path_params["user_id"], req.role)
    return json_response(user.public())
