"""Stream names, in one place. A stream is what a client subscribes to; the hub maps each
to a broadcaster channel of the same name."""

from __future__ import annotations


def home_stream(user_id: str) -> str:
    return f"home:{user_id}"


def notifications_stream(user_id: str) -> str:
    return f"notifications:{user_id}"


def public_stream() -> str:
    return "public"


def hashtag_stream(tag: str) -> str:
    return f"hashtag:{tag.lower()}"


def user_stream(user_id: str) -> str:
    return f"user:{user_id}"


def tweet_stream(tweet_id: str) -> str:
    return f"tweet:{tweet_id}"


def stream_kind(stream: str) -> str:
    return stream.split(":", 1)[0]
