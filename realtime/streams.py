"""What a client may subscribe to, and which channels feed each stream."""

from __future__ import annotations

import re

from . import protocol
from .channels import (
    hashtag_stream,
    home_stream,
    notifications_stream,
    public_stream,
    tweet_stream,
    user_stream,
)

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TAG = re.compile(r"\w{1,100}")


class StreamError(Exception):
    """A stream a socket may not subscribe to; ``code`` goes into the error frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def resolve(stream: str, user_id: str | None) -> list[str]:
    """The channels behind a client stream name, for a socket signed in as ``user_id``."""
    kind, _, arg = stream.partition(":")
    if kind in ("home", "notifications") and not arg:
        if user_id is None:
            raise StreamError(protocol.UNAUTHORIZED, f"Sign in to subscribe to {kind}.")
        return [home_stream(user_id) if kind == "home" else notifications_stream(user_id)]
    if stream == "public":
        return [public_stream()]
    if kind == "hashtag" and _TAG.fullmatch(arg):
        return [hashtag_stream(arg)]
    if kind == "user" and _ID.fullmatch(arg):
        return [user_stream(arg)]
    if kind == "tweet" and _ID.fullmatch(arg):
        return [tweet_stream(arg)]
    raise StreamError(protocol.UNKNOWN_STREAM, f"No such stream: {stream!r}.")
