"""``X-Request-Id``: one id per request, on the response and on every log line of the request.

A proxy in front may send its own id (nginx's ``$request_id``); a sane one is kept so the
proxy's and Murmur's logs join up, anything else is replaced by a fresh id. The id lives in a
context variable for the request's task, which is also where uvicorn writes its access line.
"""

from __future__ import annotations

import logging
import os
import re
from contextvars import ContextVar

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
_SANE = re.compile(r"[A-Za-z0-9._:-]{1,128}")

current: ContextVar[str] = ContextVar("request_id", default="-")


def _incoming(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE.fullmatch(text) else None
    return None


class RequestId:
    """ASGI middleware: sets ``current`` for the request and echoes it as ``X-Request-Id``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        # 32 random hex digits, as uuid4().hex but without building a UUID (every request).
        rid = _incoming(scope) or os.urandom(16).hex()
        token = current.set(rid)
        try:
            if scope["type"] == "websocket":
                # Log lines of the socket carry the id; its frames go out untouched (the hub
                # drives uvicorn's send directly, see realtime/sender.py).
                await self.app(scope, receive, send)
                return

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    MutableHeaders(scope=message)[HEADER] = rid
                await send(message)

            await self.app(scope, receive, send_with_id)
        finally:
            current.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request's id on every record as ``request_id`` ("-" outside one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current.get()
        return True
