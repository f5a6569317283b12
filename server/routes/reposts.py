"""/tweets/{tweet_id}/repost: repost and take it back."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, reposts, seen
from ..api import TWEET_ID, Router
from ..http import json_response
from ..models import Tweet
from ..services import services

router = Router("reposts")


@router.post("/tweets/{tweet_id}/repost", "Repost (idempotent; your own tweets too)",
             response=Tweet, auth=True, params=(TWEET_ID,),
             errors=(403, 404, 429))  # fmt: skip
async def repost(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    tweet = await reposts.repost(svc, who, request.path_params["tweet_id"])
    return json_response((await seen.as_seen_by(svc, who, [tweet]))[0])


@router.delete("/tweets/{tweet_id}/repost", "Take a repost back (idempotent)",
               response=Tweet, auth=True, params=(TWEET_ID,),
               errors=(404,))  # fmt: skip
async def unrepost(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    tweet = await reposts.unrepost(svc, who, request.path_params["tweet_id"])
    return json_response((await seen.as_seen_by(svc, who, [tweet]))[0])
