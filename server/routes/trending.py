"""Discovery lists: trending hashtags and users, and a hashtag's timeline."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, pages, trending
from ..api import PAGING, Param, Router
from ..errors import BadRequest, Unprocessable
from ..http import json_response, page_query, page_response, query_int
from ..models import Page, Tweet
from ..services import services
from ..trending import TagCount, TrendingTag, TrendingUser
from .users import PREFIX_SEARCH, prefix_query

router = Router("trending")

WINDOW = Param("window", "'1h' or '24h' (default)")
LIMIT = Param("limit", "1–50, default 10", type="integer")


class TrendingTags(BaseModel):
    items: list[TrendingTag]


class TrendingUsers(BaseModel):
    items: list[TrendingUser]


def _window(request: Request) -> str:
    window = request.query_params.get("window", "24h")
    if window not in trending.WINDOWS:
        raise Unprocessable("window must be '1h' or '24h'.", details=[{"field": "window"}])
    return window


@router.get(
    "/tags/trending",
    "Hashtags ranked by recent use, with time decay",
    response=TrendingTags,
    params=(WINDOW, LIMIT),
    errors=(422,),
)
async def trending_tags(request: Request) -> Response:
    window, limit = _window(request), query_int(request, "limit", 10, 1, 50)
    items = await trending.tags(services(request), window, limit)
    return json_response(TrendingTags(items=items))


@router.get(
    "/tags/search",
    "Hashtags starting with q, most used first (the composer's # autocomplete)",
    response=Page[TagCount],
    **PREFIX_SEARCH,
)
async def search_tags(request: Request) -> Response:
    svc = services(request)
    _, q, limit = await prefix_query(request, svc)
    return page_response(request, await trending.tags_matching(svc, q, limit), None)


@router.get(
    "/users/trending",
    "Users gaining followers and engagement fastest",
    response=TrendingUsers,
    params=(WINDOW, LIMIT),
    errors=(422,),
)
async def trending_users(request: Request) -> Response:
    window, limit = _window(request), query_int(request, "limit", 10, 1, 50)
    items = await trending.users(services(request), window, limit)
    return json_response(TrendingUsers(items=items))


@router.get(
    "/tags/{tag}/tweets",
    "A hashtag's timeline, newest first",
    response=Page[Tweet],
    params=(
        Param("tag", "without '#'", location="path", required=True),
        *PAGING,
    ),
)
async def tag_tweets(request: Request) -> Response:
    tag = request.path_params["tag"].lstrip("#").lower()
    if not tag:  # no tweet has it (and the tags index holds no empty tag to answer from)
        raise BadRequest("Name a hashtag.", code="invalid_tag", details=[{"field": "tag"}])
    svc, who = services(request), await accounts.optional_caller(request)
    items, after = await pages.hashtag(svc, who, tag, page_query(request))
    return page_response(request, items, after)
