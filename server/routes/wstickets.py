"""/ws/ticket: a single-use ticket for a browser's WebSocket connect (server/wstickets.py)."""

from __future__ import annotations

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from .. import accounts, wstickets
from ..api import Router
from ..http import json_response
from ..services import services

router = Router("realtime")


class WsTicket(BaseModel):
    """Connect to ``/ws?ticket=<ticket>`` within ``expires_in`` seconds; it works once."""

    ticket: str
    expires_in: int


@router.post(
    "/ws/ticket",
    "A single-use ticket for /ws?ticket= (keeps the access token out of URLs)",
    response=WsTicket,
    auth=True,
    errors=(401,),
)
async def ws_ticket(request: Request) -> Response:
    svc = services(request)
    await accounts.caller(request)  # a valid token and an active session
    token = accounts.bearer_token(request)
    assert token is not None
    ticket = await wstickets.issue(svc, token)
    return json_response(WsTicket(ticket=ticket, expires_in=svc.settings.ws_ticket_ttl_seconds))
