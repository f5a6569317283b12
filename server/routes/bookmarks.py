"""/tweets/{tweet_id}/bookmark and /users/me/bookmarks: private bookmarks."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, bookmarks, seen
from ..api import PAGING, TWEET_ID, Router
from ..http import json_response, page_query, page_response
from ..models import Page, Tweet
from ..services import services

router = Router("bookmarks")


@router.get("/users/me/bookmarks", "Your bookmarks, newest bookmark first (only you see them)",
            response=Page[Tweet], auth=True, params=PAGING)  # fmt: skip
async def my_bookmarks(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    items, after = await bookmarks.page(svc, who, page_query(request))
    return page_response(request, await seen.as_seen_by(svc, who, items), after)


@router.post("/tweets/{tweet_id}/bookmark", "Bookmark (idempotent, private)", response=Tweet,
             auth=True, params=(TWEET_ID,), errors=(404, 429))  # fmt: skip
async def bookmark(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    tweet = await bookmarks.bookmark(svc, who, request.path_params["tweet_id"])
    return json_response((await seen.as_seen_by(svc, who, [tweet]))[0])


@router.delete("/tweets/{tweet_id}/bookmark", "Remove a bookmark (idempotent)", response=Tweet,
               auth=True, params=(TWEET_ID,), errors=(404,))  # fmt: skip
async def unbookmark(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    tweet = await bookmarks.unbookmark(svc, who, request.path_params["tweet_id"])
    return json_response((await seen.as_seen_by(svc, who, [tweet]))[0])
