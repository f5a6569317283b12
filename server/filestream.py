"""Serving stored files (images in GridFS): conditional, ranged, and streamed in chunks.

The bytes never sit in memory whole: the response reads the GridFS download stream one
piece at a time while it sends. A stored file never changes (an image's bytes are fixed at
upload), so its sha256 is a strong ETag and caches may keep it for a year.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from gridfs.asynchronous.grid_file import AsyncGridOut
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from .errors import RangeNotSatisfiable

IMMUTABLE = "public, max-age=31536000, immutable"
# Bytes read from GridFS per piece sent (GridFS stores 255 KiB chunks).
PIECE = 64 * 1024


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one range ``Range: bytes=…`` asks for, as (first, last) inclusive; None to send
    the whole file (no header, another unit, several ranges or a malformed one, which
    RFC 9110 lets a server ignore); 416 when it starts past the end."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first_s, sep, last_s = header[len("bytes=") :].strip().partition("-")
    if not sep or not all(_digits(part) or part == "" for part in (first_s, last_s)):
        return None
    if first_s == "":  # a suffix: the last N bytes
        if last_s == "":
            return None
        suffix = _number(last_s)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - suffix), size - 1
    first = _number(first_s)
    last = _number(last_s) if last_s else size - 1
    if first >= size:
        raise _unsatisfiable(size)
    if last < first:
        return None
    return first, min(last, size - 1)


def _digits(part: str) -> bool:
    # ASCII only: str.isdigit() also accepts "²" or "٣", which int() then refuses.
    return part.isascii() and part.isdigit()


def _number(digits: str) -> int:
    # Past 18 digits a position is beyond any file; int() of thousands of digits raises.
    return int(digits) if len(digits) <= 18 else 10**18


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        f"The file has {size} bytes; the range asked for is outside it.",
        headers={"Content-Range": f"bytes */{size}"},
    )


def _matches(header: str, tag: str) -> bool:
    return any(t.strip() in ("*", tag, f"W/{tag}") for t in header.split(","))


async def file_response(request: Request, stream: AsyncGridOut) -> Response:
    """``stream`` as the response: 304 for a current ``If-None-Match``, 206 for a
    satisfiable ``Range`` (``If-Range`` honoured), else 200 with every byte."""
    meta = stream.metadata or {}
    tag = f'"{meta["sha256"]}"'
    headers = {
        "ETag": tag,
        "Cache-Control": IMMUTABLE,
        "X-Content-Type-Options": "nosniff",
        "Accept-Ranges": "bytes",
    }
    wanted = request.headers.get("if-none-match")
    if wanted is not None and _matches(wanted, tag):
        await stream.close()
        return Response(status_code=304, headers=headers)
    size = int(stream.length)
    if_range = request.headers.get("if-range")
    span = None
    if if_range is None or if_range.strip() == tag:
        try:
            span = byte_range(request.headers.get("range"), size)
        except RangeNotSatisfiable:
            await stream.close()
            raise
    first, last, status = 0, size - 1, 200
    if span is not None:
        first, last, status = span[0], span[1], 206
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    headers["Content-Length"] = str(last - first + 1)
    if request.method == "HEAD":
        await stream.close()
        return Response(status_code=status, headers=headers, media_type=meta["content_type"])
    return StreamingResponse(
        _pieces(stream, first, last - first + 1),
        status_code=status,
        headers=headers,
        media_type=meta["content_type"],
    )


async def _pieces(stream: AsyncGridOut, first: int, length: int) -> AsyncIterator[bytes]:
    try:
        if first:
            await stream.seek(first)
        remaining = length
        while remaining > 0:
            piece = await stream.read(min(remaining, PIECE))
            if not piece:
                break  # the file was removed while it was being sent
            remaining -= len(piece)
            yield piece
    finally:
        await stream.close()
