"""Search: ``POST /tweets/search``, ``POST /search/tweets`` and ``GET /search/tweets?q=``.

Pages take ``limit`` plus ``cursor`` or ``page`` in the query string, like every list.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, profiles, social
from ..api import PAGING, Param, Router
from ..errors import BadRequest, NotFound
from ..http import (
    PageQuery,
    check_depth,
    page_query,
    page_response,
    query_int,
    read_json,
)
from ..http import validate as validate_params
from ..models import Page, Strict, Tweet
from ..ratelimit import client_address
from ..search import engine, query
from ..search.query import SearchQuery
from ..services import Services, services

router = Router("search")

Keyword = Annotated[str, Field(min_length=1, max_length=100)]
Sort = Literal["relevance", "latest"]


class KeywordSearch(Strict):
    keywords: list[Keyword] = Field(min_length=1, max_length=20)
    sort: Sort = "relevance"


class TweetSearch(Strict):
    keywords: list[Keyword] = Field(default_factory=list, max_length=20)
    tags: list[Annotated[str, Field(min_length=1, max_length=65)]] = Field(
        default_factory=list, max_length=10
    )
    from_user: str | None = Field(default=None, max_length=30)
    since: datetime | None = None
    until: datetime | None = None
    sort: Sort = "relevance"


class SearchParams(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)
    q: str = Field(min_length=1, max_length=500)
    from_user: str | None = Field(default=None, max_length=30)
    since: datetime | None = None
    until: datetime | None = None
    sort: Sort = "relevance"


ERRORS = (400, 413, 415, 422, 429)


@router.post(
    "/tweets/search",
    "Tweets containing every keyword (stemmed, case- and accent-insensitive)",
    body=KeywordSearch,
    response=Page[Tweet],
    params=PAGING,
    errors=ERRORS,
)
async def search_keywords(request: Request) -> Response:
    svc = services(request)
    req = await read_json(request, KeywordSearch, svc.settings.max_body_bytes)
    return await _run(request, svc, query.keywords(req.keywords), req.sort, None, None, None)


@router.post(
    "/search/tweets",
    "Search with keywords, tags, author and time range; sort by relevance or latest",
    body=TweetSearch,
    response=Page[Tweet],
    params=PAGING,
    errors=ERRORS,
)
async def search_tweets(request: Request) -> Response:
    svc = services(request)
    req = await read_json(request, TweetSearch, svc.settings.max_body_bytes)
    q = query.keywords(req.keywords, req.tags)
    return await _run(request, svc, q, req.sort, req.from_user, req.since, req.until)


@router.get(
    "/search/tweets",
    'Search with a query string: words, "phrases", -excluded, #tags, @names',
    response=Page[Tweet],
    params=(
        Param("q", 'e.g. running "new york" -rain #travel @alice', required=True),
        Param("sort", "'relevance' (default) or 'latest'"),
        Param("from_user", "only tweets by this user name"),
        Param("since", "ISO-8601 time, inclusive"),
        Param("until", "ISO-8601 time, exclusive"),
        *PAGING,
    ),
    errors=ERRORS,
)
async def search_get(request: Request) -> Response:
    svc = services(request)
    p = validate_params(SearchParams, dict(request.query_params))
    return await _run(request, svc, query.parse(p.q), p.sort, p.from_user, p.since, p.until)


async def _run(
    request: Request,
    svc: Services,
    q: SearchQuery,
    sort: Sort,
    from_user: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Response:
    await svc.limits.hit(svc.settings.rate_limit_search, "search", client_address(request))
    page = _page(request, sort)
    user_id = None
    if from_user:
        try:
            user_id = (await profiles.by_name(svc, from_user)).id
        except NotFound:  # nobody by that name wrote anything
            return page_response(request, [], None)
    results = await engine.search(
        svc.reader("search"),
        svc.search_backend,
        q,
        filters=engine.Filters(
            user_id=user_id,
            since=since,
            until=until,
            exclude_authors=await social.unseen_authors(
                svc, await accounts.optional_caller(request), muted=False
            ),
        ),
        sort=sort,
        page=page,
        now=svc.clock(),
    )
    if results.next_offset is not None:
        rank = base64.urlsafe_b64encode(f"rank:{results.next_offset}".encode()).decode()
        return page_response(request, results.items, rank)
    return page_response(request, results.items, results.next_after)


def _page(request: Request, sort: Sort) -> PageQuery:
    """Latest pages continue after an id; relevance pages continue at a rank."""
    if sort == "latest":
        return page_query(request)
    limit = query_int(request, "limit", 20, 1, 100)
    cursor = request.query_params.get("cursor")
    if not cursor:
        skip = (query_int(request, "page", 1, 1, 10_000) - 1) * limit
        check_depth(skip, limit)
        return PageQuery(limit=limit, after=None, skip=skip)
    try:
        kind, _, offset = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if kind == "rank" and offset.isdigit():
            check_depth(int(offset), limit)
            return PageQuery(limit=limit, after=None, skip=int(offset))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise BadRequest("The cursor is not valid.", code="invalid_cursor")
