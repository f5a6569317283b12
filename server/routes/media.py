"""/media: upload an image, describe it, and serve its original and preview."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive

from .. import accounts, media
from ..api import Param, Router
from ..errors import PayloadTooLarge, Unprocessable, UnsupportedMediaType
from ..filestream import file_response
from ..http import json_response, read_json
from ..models import MAX_ALT_CHARS, Media, MediaAlt, MediaUpload
from ..services import services

router = Router("media")

MEDIA_ID = Param("media_id", location="path", required=True)
# Room for the multipart envelope (boundaries, part headers, the alt field) around the file.
ENVELOPE_BYTES = 16 * 1024


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"Images may be at most {limit:,} bytes.", code="media_too_large")


def capped(receive: Receive, max_bytes: int) -> Receive:
    """``receive`` that fails with 413 once the body passes ``max_bytes``, so the multipart
    parser stops there even when no Content-Length announced the size (chunked uploads)."""
    seen = 0

    async def limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > max_bytes:
                raise _too_large(max_bytes - ENVELOPE_BYTES)
        return message

    return limited


@router.post(
    "/media",
    "Upload an image (JPEG, PNG, WebP or GIF, multipart/form-data field 'file', optional "
    "'alt'); it is re-encoded without metadata and can then be attached to a tweet",
    body=MediaUpload,
    body_media="multipart/form-data",
    response=Media,
    status=201,
    auth=True,
    errors=(413, 415, 422, 429),
)
async def upload_media(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    limit = svc.settings.media_max_bytes
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "multipart/form-data":
        raise UnsupportedMediaType("Send the image as multipart/form-data in the field 'file'.")
    declared = request.headers.get("content-length")
    # ASCII digits only, and a length test first: int() refuses "²" and 4,300+ digits.
    if (
        declared
        and declared.isascii()
        and declared.isdigit()
        and (len(declared) > 18 or int(declared) > limit + ENVELOPE_BYTES)
    ):
        raise _too_large(limit)  # refused before a byte of the body is read
    await media.admit(svc, who)
    body = Request(request.scope, capped(request.receive, limit + ENVELOPE_BYTES))
    async with body.form(max_files=1, max_fields=4, max_part_size=8 * MAX_ALT_CHARS) as form:
        upload, alt = form.get("file"), form.get("alt") or ""
        if not isinstance(upload, UploadFile):
            raise Unprocessable(
                "Put the image in the form field 'file'.",
                code="media_missing",
                details=[{"field": "file"}],
            )
        if not isinstance(alt, str) or len(alt) > MAX_ALT_CHARS:
            raise Unprocessable(
                f"Alt text is at most {MAX_ALT_CHARS} characters.",
                details=[{"field": "alt", "max_length": MAX_ALT_CHARS}],
            )
        if upload.size is not None and upload.size > limit:
            raise _too_large(limit)
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise _too_large(limit)
        item = await media.upload(
            svc, who, data, content_type=upload.content_type, filename=upload.filename,
            alt=alt.strip(),
        )  # fmt: skip
    return json_response(item, status=201)


@router.patch(
    "/media/{media_id}",
    "Set the alt text of your image (before a tweet carries it)",
    body=MediaAlt,
    response=Media,
    auth=True,
    params=(MEDIA_ID,),
    errors=(403, 404, 409),
)
async def describe_media(request: Request) -> Response:
    svc = services(request)
    who = await accounts.caller(request)
    req = await read_json(request, MediaAlt, svc.settings.max_body_bytes)
    item = await media.set_alt(svc, who, request.path_params["media_id"], req.alt)
    return json_response(item)


def _serve(rendition: media.Rendition, summary: str) -> None:
    async def handler(request: Request) -> Response:
        svc = services(request)
        stream = await media.open_rendition(svc, request.path_params["media_id"], rendition)
        return await file_response(request, stream)

    handler.__name__ = f"media_{rendition}"
    router.get(
        f"/media/{{media_id}}/{rendition}",
        summary,
        params=(
            MEDIA_ID,
            Param("Range", "one byte range, e.g. bytes=0-1023 (206)", location="header"),
        ),
        response_media="image/*",
        etag=True,
        ranges=True,
        errors=(404, 416),
    )(handler)


_serve("original", "An image as uploaded (re-encoded, at most 2048 px a side); cached for a year")
_serve("preview", "An image's preview (at most 400 px a side); cached for a year")
