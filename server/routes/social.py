"""/users/{user_id}/follow|block|mute and the lists of followers, following, blocks, mutes."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, profiles, social
from ..api import PAGING, USER_ID, Router
from ..http import json_response, page_query, page_response
from ..models import Page, PublicUser, Relationship
from ..services import services
from .users import resolve_user

router = Router("social")

CHANGE = {
    "auth": True,
    "response": Relationship,
    "params": (USER_ID,),
    "errors": (403, 404, 422, 429),
}


@router.get("/users/me/blocks", "Users you blocked, newest first", response=Page[PublicUser],
            auth=True, params=PAGING)  # fmt: skip
async def my_blocks(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    return page_response(request, *await profiles.relations(svc, who, "block", page_query(request)))


@router.get("/users/me/mutes", "Users you muted, newest first", response=Page[PublicUser],
            auth=True, params=PAGING)  # fmt: skip
async def my_mutes(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    return page_response(request, *await profiles.relations(svc, who, "mute", page_query(request)))


@router.get("/users/{user_id}/followers", "Who follows this user, newest first",
            response=Page[PublicUser], params=(USER_ID, *PAGING), errors=(404,))  # fmt: skip
async def followers(request: Request) -> Response:
    svc, user = services(request), await resolve_user(request)
    return page_response(request, *await profiles.followers(svc, user, page_query(request)))


@router.get("/users/{user_id}/following", "Whom this user follows, newest first",
            response=Page[PublicUser], params=(USER_ID, *PAGING), errors=(404,))  # fmt: skip
async def following(request: Request) -> Response:
    svc, user = services(request), await resolve_user(request)
    return page_response(request, *await profiles.following(svc, user, page_query(request)))


@router.get("/users/{user_id}/relationship", "How you and this user are related",
            response=Relationship, auth=True, params=(USER_ID,), errors=(404,))  # fmt: skip
async def relationship(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    user = await resolve_user(request)
    return json_response(await social.relationship(svc, who.id, user.id))


@router.post("/users/{user_id}/follow", "Follow (idempotent)", **CHANGE)
async def follow(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    return json_response(await social.follow(svc, who, request.path_params["user_id"]))


@router.delete("/users/{user_id}/follow", "Unfollow (idempotent)", **CHANGE)
async def unfollow(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    return json_response(await social.unfollow(svc, who, request.path_params["user_id"]))


async def _relation(request: Request, kind: social.Kind, on: bool) -> Response:
    svc, who = services(request), await accounts.caller(request)
    uid = request.path_params["user_id"]
    return json_response(await social.set_relation(svc, who, uid, kind, on))


@router.post("/users/{user_id}/block", "Block (removes follows both ways)", **CHANGE)
async def block(request: Request) -> Response:
    return await _relation(request, "block", True)


@router.delete("/users/{user_id}/block", "Unblock", **CHANGE)
async def unblock(request: Request) -> Response:
    return await _relation(request, "block", False)


@router.post("/users/{user_id}/mute", "Mute (their tweets leave your timelines)", **CHANGE)
async def mute(request: Request) -> Response:
    return await _relation(request, "mute", True)


@router.delete("/users/{user_id}/mute", "Unmute", **CHANGE)
async def unmute(request: Request) -> Response:
    return await _relation(request, "mute", False)
