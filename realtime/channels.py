"""Stream names, in one place. A stream is what a client subscribes to; the hub maps each
to a broadcaster channel of the same name."""

from __future__ import annotations


def home_stream(user_id: str) -> str:
    """The channel of a user's home timeline."""
    return f"home:{user_id}"


def notifications_stream(user_id: str) -> str:
    """The channel of a user's notifications."""
    return f"notifications:{user_id}"


def messages_stream(user_id: str) -> str:
    """The channel of a user's direct messages and read receipts (logged, replayable)."""
    return f"messages:{user_id}"


def typing_stream(user_id: str) -> str:
    """The channel of typing indicators for a user: part of their ``messages`` stream, but
    never logged, so its events take no log id and are never replayed."""
    return f"typing:{user_id}"


def public_stream() -> str:
    """The channel of everyone's new tweets."""
    return "public"


def hashtag_stream(tag: str) -> str:
    """The channel of a hashtag (case-folded, so #Rust and #rust are one)."""
    return f"hashtag:{tag.lower()}"


def user_stream(user_id: str) -> str:
    """The channel of one author's tweets (also what pulled authors' home events use)."""
    return f"user:{user_id}"


def tweet_stream(tweet_id: str) -> str:
    """The channel of one tweet's counters, edits, deletion and replies."""
    return f"tweet:{tweet_id}"


def stream_kind(stream: str) -> str:
    """The kind of a channel or stream name: the part before the first colon."""
    return stream.split(":", 1)[0]
