"""/users: profiles and the signed-in user's own account."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import accounts
from ..api import USER_ID, Param, Router
from ..errors import NotFound
from ..http import cached_json, json_response, read_json
from ..models import Me, ProfileChanges, PublicUser
from ..services import services
from ..store import users as user_store

router = Router("users")


@router.get(
    "/users/me", "The signed-in user, with private fields", response=Me, auth=True, etag=True
)
async def get_me(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    return cached_json(request, (await accounts.current_user(svc, who)).me())


@router.patch(
    "/users/me",
    "Change profile fields (null clears a field) and dm_policy (who may message you)",
    body=ProfileChanges,
    response=Me,
    auth=True,
    errors=(422,),
)
async def patch_me(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    body = await read_json(request, ProfileChanges, svc.settings.max_body_bytes)
    changes = body.model_dump(exclude_unset=True)
    policy = changes.pop("dm_policy", None)  # null leaves it as it is
    user = await user_store.update_metadata(
        svc.db, user_id=who.id, changes=changes, fields={"dm_policy": policy} if policy else None
    )
    await svc.users_changed([who.id])
    return json_response(user.me())


@router.get(
    "/users/by-name/{user_name}",
    "A public profile by user name",
    response=PublicUser,
    params=(Param("user_name", location="path", required=True),),
    etag=True,
)
async def by_name(request: Request) -> Response:
    user = await user_store.by_name(
        services(request).db, user_name=request.path_params["user_name"]
    )
    if user is None or user.deleted:
        raise NotFound("No such user.", code="user_not_found")
    return cached_json(request, user.public())


@router.get(
    "/users/{user_id}",
    "A public profile with follower, following and tweet counts",
    response=PublicUser,
    params=(USER_ID,),
    etag=True,
)
async def by_id(request: Request) -> Response:
    user = await resolve_user(request)
    return cached_json(request, user.public())


async def resolve_user(request: Request) -> user_store.UserRecord:
    """The user named by the ``user_id`` path parameter; ``me`` is the caller."""
    raw = request.path_params["user_id"]
    if raw == "me":
        svc = services(request)
        return await accounts.current_user(svc, await accounts.caller(request))
    svc = services(request)
    # From the per-process user cache when it runs (server/authcache.py).
    user = await (svc.auth.user(raw) if svc.auth else user_store.by_id(svc.db, user_id=raw))
    if user is None or user.deleted:
        raise NotFound("No such user.", code="user_not_found")
    return user
