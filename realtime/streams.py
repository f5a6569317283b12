"""What a client may subscribe to, and which channels feed each stream."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import protocol
from .channels import (
    hashtag_stream,
    home_stream,
    messages_stream,
    notifications_stream,
    public_stream,
    tweet_stream,
    typing_stream,
    user_stream,
)

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_TAG = re.compile(r"\w{1,100}")


@dataclass(frozen=True)
class StreamKind:
    """A kind of stream as clients see it (documented in ``/asyncapi.json``)."""

    name: str  # as a client writes it, with <placeholders>
    pattern: str  # a regular expression every such stream name matches
    signed_in: bool  # needs a socket with a valid token
    resumable: bool  # events carry ids that ``since`` resumes from
    description: str


STREAM_KINDS = (
    StreamKind("home", "^home$", True, True, "Your home timeline: tweets of people you follow."),
    StreamKind("notifications", "^notifications$", True, True, "Your notifications."),
    StreamKind(
        "messages",
        "^messages$",
        True,
        True,
        "Your direct messages and read receipts (replayable), and typing indicators (live only).",
    ),
    StreamKind("public", "^public$", False, False, "Everyone's new tweets."),
    StreamKind("hashtag:<tag>", f"^hashtag:{_TAG.pattern}$", False, False, "New tweets with #tag."),
    StreamKind("user:<user_id>", f"^user:{_ID.pattern}$", False, True, "One profile's tweets."),
    StreamKind(
        "tweet:<tweet_id>",
        f"^tweet:{_ID.pattern}$",
        False,
        False,
        "One tweet's live like and reply counts, edits, deletion and new replies.",
    ),
)


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
    if stream == "messages":
        if user_id is None:
            raise StreamError(protocol.UNAUTHORIZED, "Sign in to subscribe to messages.")
        # Typing indicators share the subscription on a channel of their own that is never
        # logged, so they neither take log ids nor come back in a replay.
        return [messages_stream(user_id), typing_stream(user_id)]
    if stream == "public":
        return [public_stream()]
    if kind == "hashtag" and _TAG.fullmatch(arg):
        return [hashtag_stream(arg)]
    if kind == "user" and _ID.fullmatch(arg):
        return [user_stream(arg)]
    if kind == "tweet" and _ID.fullmatch(arg):
        return [tweet_stream(arg)]
    raise StreamError(protocol.UNKNOWN_STREAM, f"No such stream: {stream!r}.")
