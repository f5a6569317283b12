"""The WebSocket protocol: every frame a client may send or the server may emit, as models.

Clients code against these (see ``docs/realtime.md``); tests validate every server frame
they receive against ``ServerFrame``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

# Close codes. 1001/1008/1009/1011/1013 are RFC 6455; 4xxx are Murmur's own.
CLOSE_GOING_AWAY = 1001  # the server is shutting down: reconnect (elsewhere)
CLOSE_POLICY = 1008  # a limit was broken (sockets per user, repeated abuse)
CLOSE_TOO_BIG = 1009  # a frame above the size limit
CLOSE_TRY_LATER = 1013  # the server is overloaded: reconnect later with backoff
CLOSE_SESSION_REVOKED = 4001  # signed out, refresh-token reuse, suspension: sign in again
CLOSE_UNAUTHORIZED = 4003  # the token given at connect time is not valid

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


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- client → server ---


class Subscribe(_Frame):
    type: Literal["subscribe"]
    stream: str = Field(min_length=1, max_length=200)
    since: str | None = Field(default=None, max_length=64)


class Unsubscribe(_Frame):
    type: Literal["unsubscribe"]
    stream: str = Field(min_length=1, max_length=200)


class Ping(_Frame):
    type: Literal["ping"]


class Auth(_Frame):
    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=4096)


ClientFrame = Annotated[Subscribe | Unsubscribe | Ping | Auth, Field(discriminator="type")]
client_frame = TypeAdapter[ClientFrame](ClientFrame)

# --- server → client ---

EventName = Literal[
    "tweet.created",
    "tweet.updated",
    "tweet.deleted",
    "tweet.counts",
    "reply.created",
    "notification.created",
]


class EventFrame(_Frame):
    type: Literal["event"]
    stream: str
    id: str
    event: EventName
    data: dict[str, Any]


class Subscribed(_Frame):
    type: Literal["subscribed"]
    stream: str


class Unsubscribed(_Frame):
    type: Literal["unsubscribed"]
    stream: str


class Pong(_Frame):
    type: Literal["pong"]


class Error(_Frame):
    type: Literal["error"]
    code: str
    message: str
    stream: str | None = None


class Resync(_Frame):
    type: Literal["resync"]
    stream: str


ServerFrame = Annotated[
    EventFrame | Subscribed | Unsubscribed | Pong | Error | Resync, Field(discriminator="type")
]
server_frame = TypeAdapter[ServerFrame](ServerFrame)

PONG = Pong(type="pong").model_dump_json()


def error(code: str, message: str, stream: str | None = None) -> str:
    """An ``error`` frame, encoded."""
    return Error(type="error", code=code, message=message, stream=stream).model_dump_json(
        exclude_none=True
    )


def subscribed(stream: str) -> str:
    return Subscribed(type="subscribed", stream=stream).model_dump_json()


def unsubscribed(stream: str) -> str:
    return Unsubscribed(type="unsubscribed", stream=stream).model_dump_json()


def resync(stream: str) -> str:
    return Resync(type="resync", stream=stream).model_dump_json()
