"""``/ws``: a plain ASGI WebSocket endpoint that speaks the protocol in ``protocol.py``.

Plain ASGI rather than Starlette's ``WebSocket`` class so that the hub can drive uvicorn's
``send`` directly (see ``sender.py``); receiving stays a simple loop, one task per socket.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import parse_qs

from pydantic import ValidationError

from . import protocol
from .connection import Connection
from .gates import Overloaded
from .hub import Hub
from .types import AuthFailed, Identity, RedeemTicket

log = logging.getLogger("murmur.realtime.endpoint")

Receive = Callable[[], Coroutine[Any, Any, dict[str, Any]]]
Send = Callable[[dict[str, Any]], Coroutine[Any, Any, None]]


def _ticket(scope: dict[str, Any]) -> str | None:
    tickets = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("ticket")
    return tickets[0] if tickets else None


def _token(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens = query.get("access_token")
    return tokens[0] if tokens else None


class Endpoint:
    """The ASGI app mounted at ``/ws``."""

    def __init__(self, hub: Hub, redeem_ticket: RedeemTicket | None = None) -> None:
        self.hub = hub
        self.redeem_ticket = redeem_ticket

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        try:
            # Bounded: a storm of connects queues here (or is told to come back later)
            # instead of crowding out live delivery to the sockets already open.
            async with self.hub.gates.handshake.enter():
                conn, failure = await self._connect(scope, send)
        except Overloaded as exc:
            await _try_later(send, exc, accepted=False)
            return
        if conn is None:
            return
        try:
            if failure is not None:  # connected with an expired token: public streams until auth
                conn.expired = True
                await conn.sender.send_now(protocol.error(failure.code, failure.message))
            await self._serve(conn, receive, send)
        finally:
            await self.hub.remove(conn)

    async def _connect(
        self, scope: dict[str, Any], send: Send
    ) -> tuple[Connection | None, AuthFailed | None]:
        """Check the token, accept, and register the socket (with the expired-token failure
        it is still to be told about); no socket if it was refused (and closed). Raises
        ``Overloaded`` before accepting when token checks are backed up."""
        identity: Identity | None = None
        failure: AuthFailed | None = None
        token = _token(scope)
        ticket = _ticket(scope) if token is None and self.redeem_ticket else None
        if ticket is not None and self.redeem_ticket is not None:
            # A browser's single-use ticket (the access token stays out of the URL).
            token = await self.redeem_ticket(ticket)
            if token is None:
                failure = AuthFailed(
                    protocol.INVALID_TOKEN, "The ticket is not valid, expired or was used."
                )
        if token:
            try:
                identity = await self.hub.verify(token)
            except AuthFailed as exc:
                failure = exc
        await send({"type": "websocket.accept"})
        if identity is not None and self.hub.session_revoked(identity.session_id):
            # Revoked while the handshake was being answered: the control message is gone.
            identity = None
            failure = AuthFailed("session_revoked", "This session has ended; sign in again.")
        if failure is not None and failure.code != protocol.TOKEN_EXPIRED:
            # Accept first: browsers cannot read why a handshake was refused.
            await send(
                {"type": "websocket.send", "text": protocol.error(failure.code, failure.message)}
            )
            await send(
                {
                    "type": "websocket.close",
                    "code": protocol.CLOSE_UNAUTHORIZED,
                    "reason": failure.code,
                }
            )
            return None, None
        limits = self.hub.limits
        client = scope.get("client")
        conn = Connection(
            send,
            identity,
            max_backlog=limits.send_backlog,
            on_drop=self.hub.metrics.dropped.inc,
            subscribe_rate=limits.subscribe_rate,
            subscribe_burst=limits.subscribe_burst,
            frame_rate=limits.frame_rate,
            frame_burst=limits.frame_burst,
            address=client[0] if client else None,
            token=token if identity is not None else None,
        )
        conn.close = _closer(conn, send)
        if not await self.hub.add(conn):
            if identity is None:
                message = (
                    f"At most {limits.max_anonymous_per_address} sockets without sign-in "
                    "per address."
                )
            else:
                message = f"At most {limits.max_sockets_per_user} sockets per user."
            await send(
                {"type": "websocket.send", "text": protocol.error(protocol.FORBIDDEN, message)}
            )
            await send(
                {
                    "type": "websocket.close",
                    "code": protocol.CLOSE_POLICY,
                    "reason": "too many sockets",
                }
            )
            return None, None
        return conn, failure

    async def _serve(self, conn: Connection, receive: Receive, send: Send) -> None:
        max_bytes = self.hub.limits.max_frame_bytes
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            text = message.get("text")
            if text is None:
                await conn.sender.send_now(
                    protocol.error(protocol.INVALID_FRAME, "Send JSON text frames.")
                )
                continue
            if len(text) > max_bytes // 4 and len(text.encode()) > max_bytes:
                await conn.sender.send_now(
                    protocol.error(
                        protocol.FRAME_TOO_LARGE, f"Frames are limited to {max_bytes} bytes."
                    )
                )
                conn.sender.cancel()
                await send(
                    {
                        "type": "websocket.close",
                        "code": protocol.CLOSE_TOO_BIG,
                        "reason": "frame too large",
                    }
                )
                return
            await self._handle(conn, text)

    async def _handle(self, conn: Connection, text: str) -> None:
        hub, send = self.hub, conn.sender.send_now
        if not conn.frames.take():
            # Every kind of frame costs work (a parse, an answer): each one is throttled.
            conn.throttled += 1
            if conn.throttled == hub.limits.frame_burst and conn.close is not None:
                await conn.close(protocol.CLOSE_POLICY, "too many frames")  # it did not slow down
            elif conn.throttled == 1:
                await send(protocol.error(protocol.RATE_LIMITED, "Too many frames; slow down."))
            return
        conn.throttled = 0
        ident = conn.identity
        if ident is not None and not conn.expired and ident.expires_at <= hub.now():
            await conn.expire()
        try:
            raw = json.loads(text)
        except ValueError:
            await send(protocol.error(protocol.INVALID_JSON, "Frames must be JSON."))
            return
        try:
            frame = protocol.client_frame.validate_python(raw)
        except ValidationError as exc:
            await send(protocol.error(protocol.INVALID_FRAME, _describe(raw, exc)))
            return
        if isinstance(frame, protocol.Ping):
            await send(protocol.PONG)
        elif isinstance(frame, protocol.Subscribe):
            await hub.subscribe(conn, frame.stream, frame.since)
        elif isinstance(frame, protocol.Unsubscribe):
            await hub.unsubscribe(conn, frame.stream)
        elif isinstance(frame, protocol.TypingFrame):
            await hub.typing(conn, frame.conversation_id)
        else:
            await hub.reauthenticate(conn, frame.token)


async def _try_later(send: Send, exc: Overloaded, *, accepted: bool) -> None:
    """Refuse a socket for now: ``overloaded`` with ``retry_after``, then close 1013 (the
    client reconnects after that long and resumes with ``since``; nothing is lost)."""
    if not accepted:
        await send({"type": "websocket.accept"})  # browsers cannot read a refused handshake
    frame, reason = protocol.try_later(exc.retry_after)
    await send({"type": "websocket.send", "text": frame})
    await send({"type": "websocket.close", "code": protocol.CLOSE_TRY_AGAIN, "reason": reason})


def _describe(raw: object, exc: ValidationError) -> str:
    if not isinstance(raw, dict) or "type" not in raw:
        return 'Frames are JSON objects with a "type".'
    kind = raw.get("type")
    if kind not in ("subscribe", "unsubscribe", "ping", "auth", "typing"):
        return f"Unknown frame type {kind!r}."
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
    return f"Invalid {kind} frame: {where}: {first['msg']}."


def _closer(conn: Connection, send: Send) -> Callable[[int, str], Coroutine[Any, Any, None]]:
    async def close(code: int, reason: str) -> None:
        # Never wait on a slow socket here (the hub's dispatch loop may be the caller).
        conn.sender.cancel()
        message = {"type": "websocket.close", "code": code, "reason": reason}
        task = conn.closing = asyncio.ensure_future(send(message))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    return close
