"""/users: profiles and the signed-in user's own account."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, people, profiles
from ..api import USER_ID, Param, Router
from ..http import cached_json, json_response, page_response, query_int, read_json, validate
from ..models import Me, Page, ProfileChanges, PublicUser, Suggestion
from ..ratelimit import client_address
from ..services import Services, services
from ..store.users import UserRecord

router = Router("users")


class PrefixQuery(BaseModel):
    """``?q=``: the start of a name (a leading ``@`` or ``#`` is ignored)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    q: str = Field(min_length=1, max_length=50)


PREFIX = Param(
    "q", "the start of a name, 1–50 characters (case and accents ignored)", required=True
)
LIMIT = Param("limit", f"1–{people.MAX_LIMIT}, default 10", type="integer")
# What every prefix search (people, tags) declares besides its summary and response.
PREFIX_SEARCH: dict[str, Any] = {"params": (PREFIX, LIMIT), "errors": (422, 429)}


async def prefix_query(request: Request, svc: Services) -> tuple[accounts.Caller | None, str, int]:
    """The caller (if signed in), ``q`` and ``limit`` of a prefix search, counted against
    the caller's (signed out: the address's) rate limit; 422 when ``q`` is empty or too long."""
    who = await accounts.optional_caller(request)
    await svc.limits.hit(
        svc.settings.rate_limit_people_search,
        "prefix-search",
        who.id if who else client_address(request),
    )
    q = validate(PrefixQuery, dict(request.query_params)).q
    return who, q, query_int(request, "limit", 10, 1, people.MAX_LIMIT)


@router.get(
    "/users/search",
    "People whose user name or display name starts with q: people you follow first, then "
    "by follower count",
    response=Page[PublicUser],
    **PREFIX_SEARCH,
)
async def search(request: Request) -> Response:
    svc = services(request)
    who, q, limit = await prefix_query(request, svc)
    return page_response(request, await people.search(svc, who, q, limit), None)


@router.get(
    "/users/suggestions",
    "Whom to follow: people followed by the people you follow, by how many of them",
    response=Page[Suggestion],
    auth=True,
    params=(LIMIT,),
    errors=(422,),
)
async def suggestions(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    limit = query_int(request, "limit", 10, 1, people.MAX_LIMIT)
    return page_response(request, await people.suggestions(svc, who, limit), None)


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
    user = await profiles.update_own(svc, who, body.model_dump(exclude_unset=True))
    return json_response(user.me())


@router.get(
    "/users/by-name/{user_name}",
    "A public profile by user name",
    response=PublicUser,
    params=(Param("user_name", location="path", required=True),),
    etag=True,
)
async def by_name(request: Request) -> Response:
    user = await profiles.by_name(services(request), request.path_params["user_name"])
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


async def resolve_user(request: Request) -> UserRecord:
    """The user named by the ``user_id`` path parameter; ``me`` is the caller."""
    raw = request.path_params["user_id"]
    if raw == "me":
        svc = services(request)
        return await accounts.current_user(svc, await accounts.caller(request))
    return await profiles.by_id(services(request), raw)
