"""/tweets/{tweet_id}/pin: pin one of your tweets to your profile."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, pins
from ..api import TWEET_ID, Router
from ..http import json_response
from ..models import Tweet
from ..services import services

router = Router("pins")


@router.post("/tweets/{tweet_id}/pin", "Pin your tweet (idempotent; at most 5)", response=Tweet,
             auth=True, params=(TWEET_ID,), errors=(403, 404, 422))  # fmt: skip
async def pin(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    return json_response(await pins.pin(svc, who, request.path_params["tweet_id"]))


@router.delete("/tweets/{tweet_id}/pin", "Unpin your tweet (idempotent)", response=Tweet,
               auth=True, params=(TWEET_ID,), errors=(403, 404))  # fmt: skip
async def unpin(request: Request) -> Response:
    svc, who = services(request), await accounts.caller(request)
    return json_response(await pins.unpin(svc, who, request.path_params["tweet_id"]))
