"""``GET /users/me/export``: the account's data as a zip, built and streamed piece by piece.

The zip is written by ``zipfile`` into a sink that hands back what it has so far; after
each batch of documents the generator yields those bytes, so the archive is never whole in
memory and the response starts at once. Deflating a batch takes well under a millisecond.
Files: ``profile.json``, ``tweets.json`` and ``tweets.md`` (each tweet's Markdown and its
HTML), ``replies.json``, ``likes.json``, ``following.json``, ``followers.json``,
``blocks.json``, ``mutes.json``, ``messages.json`` (direct messages sent), and
``index.html`` / ``README.txt`` to read them.
Bookmarks and uploaded images do not exist in Murmur yet; the README says so.
"""

from __future__ import annotations

import html
import io
import json
import zipfile
from collections.abc import AsyncIterator, Callable
from typing import IO, Any

from .services import Services
from .store import exports
from .store.users import UserRecord

Row = Callable[[dict[str, Any]], dict[str, Any]]


class _Sink(io.RawIOBase):
    """A write-only stream that keeps what was written until ``take``n (not seekable: zipfile
    then writes data descriptors, which is what a streamed zip needs)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _tweet(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "tweet_id": str(d["_id"]),
        "created_at": _iso(d.get("created_at")),
        "markdown": d.get("content", ""),
        "html": d.get("html", ""),
        "in_reply_to": d.get("in_reply_to"),
        "edited_at": _iso(d.get("edited_at")),
        "like_count": d.get("like_count", 0),
        "reply_count": d.get("reply_count", 0),
    }


def _message(d: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": str(d["_id"]),
        "conversation_id": str(d["conversation_id"]),
        "created_at": _iso(d.get("created_at")),
        "markdown": d.get("content", ""),
        "html": d.get("html", ""),
    }


def _edge(key: str) -> Row:
    return lambda d: {"user_id": d[key], "since": _iso(d.get("created_at"))}


async def _json_list(
    zf: zipfile.ZipFile,
    sink: _Sink,
    name: str,
    batches: AsyncIterator[list[dict[str, Any]]],
    row: Row,
    counts: dict[str, int],
    keep: Callable[[dict[str, Any]], bool] = lambda d: True,
) -> AsyncIterator[bytes]:
    """Write ``name`` as a JSON array, a batch at a time, yielding the zip's bytes so far."""
    count = 0
    with zf.open(name, "w") as out:
        out.write(b"[")
        async for docs in batches:
            for d in docs:
                if keep(d):
                    out.write((b",\n" if count else b"\n") + json.dumps(row(d)).encode())
                    count += 1
            yield sink.take()
        out.write(b"\n]\n")
    counts[name] = count
    yield sink.take()


async def archive(svc: Services, user: UserRecord) -> AsyncIterator[bytes]:
    """The zip's bytes, in pieces."""
    sink, counts, db = _Sink(), dict[str, int](), svc.db
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("profile.json", user.me().model_dump_json(indent=2))
        yield sink.take()

        def is_reply(d: dict[str, Any]) -> bool:
            return d.get("in_reply_to") is not None

        lists: list[tuple[str, AsyncIterator[list[dict[str, Any]]], Row, Any]] = [
            ("tweets.json", exports.tweets(db, user_id=user.id), _tweet, lambda d: not is_reply(d)),
            ("replies.json", exports.tweets(db, user_id=user.id), _tweet, is_reply),
            ("likes.json", exports.likes(db, user_id=user.id),
             lambda d: {"tweet_id": d["tweet_id"], "at": _iso(d.get("created_at"))}, None),
            ("following.json", exports.follows(db, field="follower", user_id=user.id),
             _edge("followee"), None),
            ("followers.json", exports.follows(db, field="followee", user_id=user.id),
             _edge("follower"), None),
            ("blocks.json", exports.relations(db, kind="block", user_id=user.id),
             _edge("target"), None),
            ("mutes.json", exports.relations(db, kind="mute", user_id=user.id),
             _edge("target"), None),
            ("messages.json", exports.messages(db, user_id=user.id), _message, None),
        ]  # fmt: skip
        for name, batches, row, keep in lists:
            async for chunk in _json_list(
                zf, sink, name, batches, row, counts, keep or (lambda d: True)
            ):
                yield chunk
        with zf.open("tweets.md", "w") as out:
            async for docs in exports.tweets(db, user_id=user.id):
                _markdown(out, docs)
                yield sink.take()
        zf.writestr("index.html", _index(user, counts))
        zf.writestr("README.txt", _readme(user, counts))
    yield sink.take()  # the central directory


def _markdown(out: IO[bytes], docs: list[dict[str, Any]]) -> None:
    for d in docs:
        when = _iso(d.get("created_at"))
        reply = f" (a reply to {d['in_reply_to']})" if d.get("in_reply_to") else ""
        out.write(f"## {when}{reply}\n\n{d.get('content', '')}\n\n".encode())


_ABOUT = {
    "profile.json": "your profile and private fields",
    "tweets.json": "your tweets: Markdown as written, and the HTML Murmur showed",
    "tweets.md": "your tweets and replies, as one Markdown file",
    "replies.json": "your replies (same fields as tweets)",
    "likes.json": "the tweets you liked",
    "following.json": "the accounts you follow",
    "followers.json": "the accounts that follow you",
    "blocks.json": "the accounts you block",
    "mutes.json": "the accounts you mute",
    "messages.json": "the direct messages you sent",
}
_FUTURE = "Bookmarks and uploaded images are not part of Murmur yet; later exports will add them."


def _index(user: UserRecord, counts: dict[str, int]) -> str:
    rows = "".join(
        f'<li><a href="{name}">{name}</a> — {html.escape(about)}'
        + (f" ({counts[name]})" if name in counts else "")
        + "</li>"
        for name, about in _ABOUT.items()
    )
    name = html.escape(user.user_name)
    return (
        f"<!doctype html><meta charset=utf-8><title>Murmur export of @{name}</title>"
        f"<h1>Murmur export of @{name}</h1><ul>{rows}</ul><p>{_FUTURE}</p>"
    )


def _readme(user: UserRecord, counts: dict[str, int]) -> str:
    lines = [f"Murmur export of @{user.user_name}", ""]
    lines += [f"{name}: {about}" + (f" ({counts[name]})" if name in counts else "")
              for name, about in _ABOUT.items()]  # fmt: skip
    return "\n".join([*lines, "", _FUTURE, ""])
