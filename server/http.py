"""Request parsing and response shaping shared by every route."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from bson import ObjectId
from bson.errors import InvalidId
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from .errors import (
    BadRequest,
    PayloadTooLarge,
    PreconditionFailed,
    Unprocessable,
    UnsupportedMediaType,
)
from .models import Page, Tweet
from .paging import PageQuery
from .tweetjson import page_json, tweet_json

M = TypeVar("M", bound=BaseModel)


def json_response(
    body: BaseModel | dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A model (or dict) as an ``application/json`` response."""
    data = render(body).encode() if isinstance(body, BaseModel) else json.dumps(body).encode()
    return Response(data, status_code=status, media_type="application/json", headers=headers)


def render(body: BaseModel) -> str:
    """``body.model_dump_json()``; a tweet from its pre-rendered head (server/tweetjson.py)."""
    return tweet_json(body) if type(body) is Tweet else body.model_dump_json()


# --- conditional requests (RFC 9110 §13) ---


def etag_of(body: BaseModel) -> str:
    """A strong entity tag: a digest of exactly the JSON a client would receive."""
    return _etag(render(body).encode())


def _etag(data: bytes) -> str:
    return '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def cached_json(request: Request, body: BaseModel) -> Response:
    """``body`` with an ``ETag``; ``304 Not Modified`` when ``If-None-Match`` already has it.

    What a tweet or profile looks like depends on who asks (``liked_by_me``, private fields),
    so shared caches must not reuse it (``private``) and clients revalidate (``no-cache``).
    """
    data = render(body).encode()  # once, for the tag and the body
    tag = _etag(data)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "Authorization"}
    wanted = request.headers.get("if-none-match")
    if wanted is not None:
        # Weak comparison: W/"x" matches "x".
        if any(t == "*" or t.removeprefix("W/") == tag for t in _tags(wanted)):
            return Response(status_code=304, headers=headers)
    return Response(data, media_type="application/json", headers=headers)


def check_if_match(request: Request, current: BaseModel) -> None:
    """412 when the request carries ``If-Match`` and the resource is no longer that version.

    Strong comparison (a weak tag never matches), as RFC 9110 asks for state-changing requests.
    """
    wanted = request.headers.get("if-match")
    if wanted is None:
        return
    tag = etag_of(current)
    if not any(t == "*" or t == tag for t in _tags(wanted)):
        raise PreconditionFailed(
            "The resource changed since you read it; fetch it again and retry.",
            details=[{"header": "If-Match", "current_etag": tag}],
            headers={"ETag": tag},
        )


# --- pages ---


def page_response(
    request: Request, items: Sequence[BaseModel], after: ObjectId | str | None
) -> Response:
    """A page: ``{"items", "next_cursor"}`` plus an RFC 8288 ``Link: <…>; rel="next"`` header.

    ``after`` is the last id shown (encoded into the cursor here), an already encoded cursor,
    or None on the last page.
    """
    cursor = encode_cursor(after) if isinstance(after, ObjectId) else after
    headers = next_link(request, cursor)
    data = page_json(items, cursor)  # tweets: spliced from their pre-rendered JSON
    if data is None:
        return json_response(_AnyPage(items=list(items), next_cursor=cursor), headers=headers)
    return Response(data, media_type="application/json", headers=headers)


# Made once: pydantic would build the parametrised class again on (nearly) every request.
_AnyPage = Page[Any]


def next_link(request: Request, cursor: str | None) -> dict[str, str] | None:
    """The RFC 8288 ``Link: <…>; rel="next"`` header for a page continued by ``cursor``."""
    if cursor is None:
        return None
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "page")]
    url = request.url.replace(query=urlencode([*kept, ("cursor", cursor)]))
    return {"Link": f'<{url}>; rel="next"'}


def _validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]


async def read_json(request: Request, model: type[M], max_bytes: int) -> M:
    """The body parsed into ``model``: 415 for non-JSON, 413 over the cap, 400/422 for bad input."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"The body is larger than {max_bytes} bytes.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"The body is larger than {max_bytes} bytes.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        return model.model_validate_json(raw or b"null")
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise BadRequest("The body is not valid JSON.", code="malformed_json") from exc
        if any(e["type"] == "model_type" and not e["loc"] for e in exc.errors()):
            raise Unprocessable("The body must be a JSON object.") from exc
        details = _validation_details(exc)
        raise Unprocessable("The request body is not valid.", details=details) from exc


def has_body(request: Request) -> bool:
    """Whether the request carries a body at all (for endpoints where one is optional)."""
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length != "0")


def validate(model: type[M], data: Any) -> M:
    """Validate already-parsed data (e.g. query parameters) with the same 422 envelope."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable("The request is not valid.", details=_validation_details(exc)) from exc


def query_int(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    """An integer query parameter within [lo, hi]; 422 otherwise."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise Unprocessable(f"'{name}' must be an integer.", details=[{"field": name}]) from exc
    if not lo <= value <= hi:
        raise Unprocessable(f"'{name}' must be between {lo} and {hi}.", details=[{"field": name}])
    return value


def idempotency_key(request: Request) -> str | None:
    """The ``Idempotency-Key`` header (Mastodon's convention), or 422 when it is malformed."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise Unprocessable(
            "Idempotency-Key must be 1–255 printable characters.",
            code="invalid_idempotency_key",
            details=[{"field": "Idempotency-Key", "max_length": 255}],
        )
    return key


def latest_only(request: Request) -> None:
    """Lists that only sort newest first still accept ``sort=latest`` (422 for anything else)."""
    if request.query_params.get("sort", "latest") != "latest":
        raise Unprocessable("sort must be 'latest'.", details=[{"field": "sort"}])


def query_bool(request: Request, name: str) -> bool:
    """A boolean query parameter (true/false, 1/0, yes/no); 422 otherwise."""
    raw = (request.query_params.get(name) or "").lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise Unprocessable(f"'{name}' must be true or false.", details=[{"field": name}])


def encode_cursor(last_id: ObjectId) -> str:
    """The opaque cursor for continuing after ``last_id``."""
    return base64.urlsafe_b64encode(last_id.binary).decode().rstrip("=")


# How deep ``page`` (an offset) may reach: skipping costs the database a scan of every row
# skipped, so anyone could ask for a million. Deeper lists continue with ``cursor``.
MAX_PAGE_DEPTH = 1000


def check_depth(skip: int, limit: int) -> None:
    """400 ``page_too_deep`` when an offset page ends beyond ``MAX_PAGE_DEPTH`` items."""
    if skip + limit > MAX_PAGE_DEPTH:
        raise BadRequest(
            f"Pages reach the first {MAX_PAGE_DEPTH} items; continue with 'cursor' "
            "(each page's next_cursor).",
            code="page_too_deep",
            details=[{"field": "page", "max_items": MAX_PAGE_DEPTH}],
        )


def query_cursor(request: Request) -> ObjectId | None:
    """The id a ``cursor`` query parameter continues after (400 ``invalid_cursor``)."""
    cursor = request.query_params.get("cursor")
    if not cursor:
        return None
    try:
        return ObjectId(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, InvalidId, TypeError, ValueError) as exc:
        raise BadRequest("The cursor is not valid.", code="invalid_cursor") from exc


def page_query(request: Request, default_limit: int = 20) -> PageQuery:
    """``limit`` plus ``cursor`` or ``page`` from the query string (400 for a bad cursor)."""
    limit = query_int(request, "limit", default_limit, 1, 100)
    after = query_cursor(request)
    if after is not None:
        return PageQuery(limit=limit, after=after, skip=0)
    page = query_int(request, "page", 1, 1, 10_000)
    check_depth((page - 1) * limit, limit)
    return PageQuery(limit=limit, after=None, skip=(page - 1) * limit)
