"""The home timeline, likes and replies: /tweets/following, /tweets/{id}/likes|comments,
/tweets/{id}/context."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, likes, profiles, replies, seen, threads, timeline, tweets
from ..api import CURSOR, IDEMPOTENCY_KEY, PAGING, TWEET_ID, Param, Router
from ..http import (
    encode_cursor,
    idempotency_key,
    json_response,
    latest_only,
    next_link,
    page_query,
    page_response,
    query_cursor,
    query_int,
    read_json,
)
from ..models import Page, PublicUser, Tweet, TweetContent, TweetContext
from ..services import services

router = Router("timeline")


@router.get(
    "/tweets/following",
    "Your home timeline: people you follow plus yourself, newest first",
    response=Page[Tweet],
    auth=True,
    params=(Param("sort", "only 'latest'"), *PAGING),
)
async def home(request: Request) -> Response:
    latest_only(request)
    svc, who = services(request), await accounts.caller(request)
    items, after = await timeline.home(svc, who, page_query(request))
    return page_response(request, items, after)


@router.post("/tweets/{tweet_id}/likes", "Like (idempotent)", response=Tweet, auth=True,
             params=(TWEET_ID,), errors=(403, 404, 429))  # fmt: skip
async def like(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    return json_response(await likes.like(svc, who, request.path_params["tweet_id"]))


@router.delete("/tweets/{tweet_id}/likes", "Unlike (idempotent)", response=Tweet, auth=True,
               params=(TWEET_ID,), errors=(404,))  # fmt: skip
async def unlike(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    return json_response(await likes.unlike(svc, who, request.path_params["tweet_id"]))


@router.get("/tweets/{tweet_id}/likes", "Who liked this tweet, newest first",
            response=Page[PublicUser], params=(TWEET_ID, *PAGING), errors=(404,))  # fmt: skip
async def likers(request: Request) -> Response:
    svc, who = services(request), await accounts.optional_caller(request)
    tweet = await tweets.visible(svc, who, request.path_params["tweet_id"])
    return page_response(request, *await profiles.likers(svc, tweet.tweet_id, page_query(request)))


@router.post("/tweets/{tweet_id}/comments", "Reply to a tweet (a reply is a tweet)",
             body=TweetContent, response=Tweet, status=201, auth=True,
             params=(TWEET_ID, IDEMPOTENCY_KEY), errors=(403, 404, 413, 415, 422, 429))  # fmt: skip
async def comment(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    key = idempotency_key(request)
    req = await read_json(request, TweetContent, svc.settings.max_body_bytes)
    child = await replies.reply(
        svc, who, request.path_params["tweet_id"], req.content, idempotency_key=key
    )
    return json_response(child, status=201)


@router.get("/tweets/{tweet_id}/comments", "Direct replies, oldest first",
            response=Page[Tweet], params=(TWEET_ID, *PAGING), errors=(404,))  # fmt: skip
async def comments(request: Request) -> Response:
    svc, who = services(request), await accounts.optional_caller(request)
    items, after = await replies.comments(
        svc, who, request.path_params["tweet_id"], page_query(request)
    )
    return page_response(request, await seen.as_seen_by(svc, who, items), after)


@router.get(
    "/tweets/{tweet_id}/context",
    "The conversation: the chain up to the root (oldest first) and the replies below "
    "(depth first, each with its in_reply_to; continue with next_cursor)",
    response=TweetContext,
    params=(
        TWEET_ID,
        Param("limit", f"descendants per page, 1–{threads.DESCENDANTS_MAX}, default "
              f"{threads.DESCENDANTS_MAX}", type="integer"),
        CURSOR,
    ),
    errors=(400, 404),
)  # fmt: skip
async def context(request: Request) -> Response:
    svc, who = services(request), await accounts.optional_caller(request)
    limit = query_int(request, "limit", threads.DESCENDANTS_MAX, 1, threads.DESCENDANTS_MAX)
    body, after = await threads.context(
        svc, who, request.path_params["tweet_id"], after=query_cursor(request), limit=limit
    )
    cursor = None if after is None else encode_cursor(after)
    body.next_cursor = cursor
    return json_response(body, headers=next_link(request, cursor))
