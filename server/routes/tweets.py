"""/tweets: compose, read, edit, delete, and the lists of tweets."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, pages, pins, quotes, seen, tweets
from ..accounts import Caller
from ..api import IDEMPOTENCY_KEY, PAGING, TWEET_ID, Param, Router
from ..errors import Unprocessable
from ..http import (
    cached_json,
    check_if_match,
    idempotency_key,
    json_response,
    latest_only,
    page_query,
    page_response,
    read_json,
)
from ..models import NewTweet, Page, Tweet, TweetContent, TweetHistory
from ..services import Services, services
from .users import resolve_user

router = Router("tweets")


@router.post(
    "/tweets",
    "Post a tweet (Markdown, 1–280 characters); quote_of quotes another tweet; media_ids "
    "attaches up to 4 of your uploaded images (POST /media)",
    body=NewTweet,
    response=Tweet,
    status=201,
    auth=True,
    params=(IDEMPOTENCY_KEY,),
    errors=(403, 404, 409, 413, 415, 422, 429),
)
async def create_tweet(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    key = idempotency_key(request)
    req = await read_json(request, NewTweet, svc.settings.max_body_bytes)
    tweet, _ = await tweets.compose(
        svc, who, req.content, idempotency_key=key, quote_of=req.quote_of,
        media_ids=req.media_ids,
    )  # fmt: skip
    return json_response((await quotes.embed(svc, who, [tweet]))[0], status=201)


@router.get(
    "/tweets",
    "Newest tweets from everyone",
    response=Page[Tweet],
    params=(Param("sort", "only 'latest'"), *PAGING),
)
async def list_tweets(request: Request) -> Response:
    latest_only(request)
    svc, who = services(request), await accounts.optional_caller(request)
    items, after = await pages.public(svc, who, page_query(request))
    return page_response(request, items, after)


@router.get("/tweets/{tweet_id}", "One tweet", response=Tweet, params=(TWEET_ID,), etag=True)
async def get_tweet(request: Request) -> Response:
    svc, who = services(request), await accounts.optional_caller(request)
    return cached_json(request, await seen.one(svc, who, request.path_params["tweet_id"]))


async def _as_seen(svc: Services, who: Caller | None, tweet: Tweet) -> Tweet:
    """One tweet with the caller's own marks (liked, reposted, bookmarked): the ETag's body."""
    return (await seen.as_seen_by(svc, who, [tweet]))[0]


@router.get(
    "/tweets/{tweet_id}/history",
    "The original text and every edit",
    response=TweetHistory,
    params=(TWEET_ID,),
)
async def tweet_history(request: Request) -> Response:
    who = await accounts.optional_caller(request)
    history = await tweets.history(services(request), who, request.path_params["tweet_id"])
    return json_response(history)


@router.patch(
    "/tweets/{tweet_id}",
    "Edit your tweet (the history is kept); send If-Match with the ETag you read to refuse a "
    "stale edit (412)",
    body=TweetContent,
    response=Tweet,
    auth=True,
    params=(TWEET_ID, Param("If-Match", "the ETag of the version being edited", location="header")),
    errors=(403, 404, 409, 412, 422),
)
async def edit_tweet(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    req = await read_json(request, TweetContent, svc.settings.max_body_bytes)
    tweet_id = request.path_params["tweet_id"]
    base = None
    if "if-match" in request.headers:
        # The version the client saw must still be the one shown to it; the edit itself then
        # only lands if the text is still that version's (a conditional update).
        base = await tweets.own(svc, who, tweet_id)
        check_if_match(request, await _as_seen(svc, who, base))
    return json_response(await tweets.edit(svc, who, tweet_id, req.content, base=base))


@router.delete(
    "/tweets/{tweet_id}",
    "Delete your tweet (replies stay readable)",
    status=204,
    auth=True,
    params=(TWEET_ID,),
    errors=(403, 404),
)
async def delete_tweet(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    await tweets.delete(svc, who, request.path_params["tweet_id"])
    return Response(status_code=204)


@router.get(
    "/users/{user_id}/tweets",
    "One user's tweets, newest first (user_id may be 'me')",
    response=Page[Tweet],
    params=(
        Param("user_id", location="path", required=True),
        Param("pinned", "'true': only the pinned tweets (at most 5), newest pin first"),
        *PAGING,
    ),
)
async def user_tweets(request: Request) -> Response:
    user = await resolve_user(request)
    svc, who = services(request), await accounts.optional_caller(request)
    flag = request.query_params.get("pinned", "false")
    if flag not in ("true", "false"):
        raise Unprocessable("pinned must be 'true' or 'false'.", details=[{"field": "pinned"}])
    if flag == "true":
        shown = await pins.pinned(svc, who, user.id)
        return page_response(request, await seen.as_seen_by(svc, who, shown), None)
    items, after = await pages.profile(svc, who, user.id, page_query(request))
    return page_response(request, items, after)


@router.get("/tweets/{tweet_id}/quotes", "Tweets quoting this one, newest first",
            response=Page[Tweet], params=(TWEET_ID, *PAGING), errors=(404,))  # fmt: skip
async def quotes_of(request: Request) -> Response:
    svc, who = services(request), await accounts.optional_caller(request)
    tid = request.path_params["tweet_id"]
    items, after = await quotes.page(svc, who, tid, page_query(request))
    return page_response(request, await seen.as_seen_by(svc, who, items), after)


def _check_sort(request: Request) -> None:
    sort = request.query_params.get("sort", "latest")
    if sort != "latest":
        raise Unprocessable("sort must be 'latest'.", details=[{"field": "sort"}])
