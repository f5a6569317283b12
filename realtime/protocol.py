"""The WebSocket protocol: every frame a client may send or the server may emit, as models.

Clients code against these: ``GET /asyncapi.json`` is generated from this module and the
server's event models (``server/asyncapi.py``), and ``docs/realtime.md`` explains it. Tests
validate every server frame they receive against ``ServerFrame`` and its ``data`` against the
event's own model.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

# Close codes. 1001/1008/1009 are RFC 6455, 1013 is IANA's "Try Again Later"; 4xxx are
# Murmur's own.
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN = 1013
CLOSE_SESSION_REVOKED = 4001
CLOSE_UNAUTHORIZED = 4003

CLOSE_CODES: dict[int, str] = {
    CLOSE_GOING_AWAY: "The server is shutting down: reconnect (to another process) and resume.",
    CLOSE_POLICY: "A limit was broken (too many sockets for this user).",
    CLOSE_TOO_BIG: "A client frame was larger than WS_MAX_FRAME_BYTES.",
    CLOSE_TRY_AGAIN: "The server is busy (a connect storm): reconnect after the error frame's "
    "retry_after seconds (also in the close reason) and resume with since.",
    CLOSE_SESSION_REVOKED: "Signed out, refresh token reused or account suspended: sign in again.",
    CLOSE_UNAUTHORIZED: "The token given when connecting is not valid (see the error frame).",
}

# Error codes carried by ``error`` frames.
INVALID_JSON = "invalid_json"
INVALID_FRAME = "invalid_frame"
FRAME_TOO_LARGE = "frame_too_large"
UNKNOWN_STREAM = "unknown_stream"
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
TOKEN_EXPIRED = "token_expired"
INVALID_TOKEN = "invalid_token"
TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
RATE_LIMITED = "rate_limited"
NOT_SUBSCRIBED = "not_subscribed"
OVERLOADED = "overloaded"

ERROR_CODES: dict[str, str] = {
    INVALID_JSON: "The frame is not JSON. The socket stays open.",
    INVALID_FRAME: "Not a known frame, or a field is missing or invalid. The socket stays open.",
    FRAME_TOO_LARGE: "The frame is over WS_MAX_FRAME_BYTES; the socket is closed with 1009.",
    UNKNOWN_STREAM: "No such stream name.",
    UNAUTHORIZED: "The stream needs a signed-in socket.",
    FORBIDDEN: "Not allowed: too many sockets for this user, or an auth frame for another user.",
    TOKEN_EXPIRED: "The access token expired: home and notifications pause until an auth frame.",
    INVALID_TOKEN: "The token or ticket is not valid (connect: closed with 4003).",
    "session_revoked": "The session has ended (connect: closed with 4003).",
    "account_suspended": "The account is suspended (connect: closed with 4003).",
    "unavailable": "The server could not check the token just now; try again.",
    TOO_MANY_SUBSCRIPTIONS: "Over WS_MAX_SUBSCRIPTIONS streams on this socket.",
    RATE_LIMITED: "Too many frames; slow down.",
    NOT_SUBSCRIBED: "Unsubscribe from a stream this socket is not subscribed to.",
    OVERLOADED: "Too many connects or replays at once: the socket is closed with 1013; "
    "reconnect after retry_after seconds.",
}


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- client → server ---


class Subscribe(_Frame):
    """Start receiving a stream; with ``since``, first every event after that id (or resync)."""

    type: Literal["subscribe"]
    stream: str = Field(min_length=1, max_length=200, description="a stream name (see streams)")
    since: str | None = Field(
        default=None, max_length=64, description="the last event id you processed on it"
    )


class Unsubscribe(_Frame):
    """Stop receiving a stream."""

    type: Literal["unsubscribe"]
    stream: str = Field(min_length=1, max_length=200)


class Ping(_Frame):
    """Answered with pong (the server also pings at the WebSocket level)."""

    type: Literal["ping"]


class Auth(_Frame):
    """A fresh access token for the same user, e.g. after ``token_expired``."""

    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=4096)


class TypingFrame(_Frame):
    """You are writing in a conversation: its other participants get ``conversation.typing``
    on their ``messages`` stream (at most one per conversation every 2 s per socket)."""

    type: Literal["typing"]
    conversation_id: str = Field(min_length=1, max_length=64)


ClientFrame = Annotated[
    Subscribe | Unsubscribe | Ping | Auth | TypingFrame, Field(discriminator="type")
]
client_frame = TypeAdapter[ClientFrame](ClientFrame)

# --- server → client ---

EventName = Literal[
    "tweet.created",
    "tweet.updated",
    "tweet.deleted",
    "tweet.counts",
    "reply.created",
    "notification.created",
    "message.created",
    "conversation.read",
    "conversation.typing",
]


class EventFrame(_Frame):
    """Something changed; ``data`` is what the REST API returns for the same object."""

    type: Literal["event"]
    stream: str
    id: str = Field(
        description="orders events; resume with it as since (home, notifications, messages, "
        "user). Ephemeral events (conversation.typing) carry an id starting with 't', "
        "which is not a position: never resume from it"
    )
    event: EventName
    data: dict[str, Any]


class Subscribed(_Frame):
    """The subscription is live (after any replay you asked for with since)."""

    type: Literal["subscribed"]
    stream: str


class Unsubscribed(_Frame):
    """The subscription ended."""

    type: Literal["unsubscribed"]
    stream: str


class Pong(_Frame):
    """The answer to ping."""

    type: Literal["pong"]


class Error(_Frame):
    """Something a frame asked for was refused; ``code`` is one of ``ERROR_CODES``."""

    type: Literal["error"]
    code: str
    message: str
    stream: str | None = None
    retry_after: int | None = Field(
        default=None, description="with overloaded: seconds to wait before reconnecting"
    )


class Resync(_Frame):
    """Events on this stream may have been lost: refetch it over REST, keep the live tail."""

    type: Literal["resync"]
    stream: str


ServerFrame = Annotated[
    EventFrame | Subscribed | Unsubscribed | Pong | Error | Resync, Field(discriminator="type")
]
server_frame = TypeAdapter[ServerFrame](ServerFrame)

PONG = Pong(type="pong").model_dump_json()


def error(
    code: str, message: str, stream: str | None = None, retry_after: int | None = None
) -> str:
    """An ``error`` frame, encoded."""
    frame = Error(type="error", code=code, message=message, stream=stream, retry_after=retry_after)
    return frame.model_dump_json(exclude_none=True)


def subscribed(stream: str) -> str:
    """A ``subscribed`` frame, encoded."""
    return Subscribed(type="subscribed", stream=stream).model_dump_json()


def unsubscribed(stream: str) -> str:
    """An ``unsubscribed`` frame, encoded."""
    return Unsubscribed(type="unsubscribed", stream=stream).model_dump_json()


def resync(stream: str) -> str:
    """A ``resync`` frame, encoded."""
    return Resync(type="resync", stream=stream).model_dump_json()


def try_later(retry_after: int, stream: str | None = None) -> tuple[str, str]:
    """The ``overloaded`` error frame and the 1013 close reason telling a client to come back
    in ``retry_after`` seconds (the reason too, for clients that only see the close)."""
    message = f"The server is busy; reconnect in {retry_after} s and resume with since."
    frame = error(OVERLOADED, message, stream, retry_after)
    return frame, f"overloaded; retry_after={retry_after}"
