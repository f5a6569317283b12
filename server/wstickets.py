"""Single-use tickets for browser WebSocket connects (``POST /ws/ticket`` → ``/ws?ticket=``).

Browsers cannot set headers on a WebSocket, so the access token would travel in the URL,
where proxies and browser history keep it. Instead the client asks for a ticket (over
``fetch``, with its ``Authorization`` header) and connects with ``?ticket=``: the ticket
works once, within ``WS_TICKET_TTL_SECONDS``, on any process (it lives in MongoDB, as an
HMAC). Redeeming it yields the access token it was issued for, so the socket is checked and
expires exactly as one connected with the token. Mobile clients keep sending the header.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from .security import keyed_hash
from .services import Services
from .store import ws_tickets as ticket_store


def _hash(svc: Services, ticket: str) -> str:
    return keyed_hash(svc.keys.tickets, f"ws-ticket:{ticket}")


async def issue(svc: Services, access_token: str) -> str:
    """A fresh ticket for the (already authenticated) caller's access token."""
    ticket = secrets.token_urlsafe(32)
    await ticket_store.put(
        svc.db,
        ticket_hash=_hash(svc, ticket),
        access_token=access_token,
        expires_at=svc.clock() + timedelta(seconds=svc.settings.ws_ticket_ttl_seconds),
    )
    return ticket


async def redeem(svc: Services, ticket: str) -> str | None:
    """The access token behind ``ticket``, once; None if unknown, used or expired."""
    return await ticket_store.take(svc.db, ticket_hash=_hash(svc, ticket), now=svc.clock())
