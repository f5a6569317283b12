"""GET /media/{id}/original|preview: GridFS storage, ETag/304, cache headers, ranges."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from server.filestream import PIECE
from server.store.media import file_id
from tests.media.conftest import image_bytes, noise_png, upload


async def test_stored_in_gridfs_and_served_with_cache_headers(
    app: Any, client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    # Random pixels do not compress: a ~300 KB original spans two 255 KiB GridFS chunks.
    item = (await upload(client, alice, noise_png(320))).json()
    db = app.state.services.db
    record = await db.media.find_one({"_id": item["media_id"]})
    assert record["owner"] == alice.id and record["state"] == "uploaded"
    files = await db["images.files"].find_one({"_id": file_id(item["media_id"], "original")})
    assert files["length"] == item["size"] > 255 * 1024
    assert await db["images.chunks"].count_documents({"files_id": files["_id"]}) == 2
    r = await client.get(item["url"])
    assert r.status_code == 200
    assert len(r.content) == item["size"]
    tag = f'"{hashlib.sha256(r.content).hexdigest()}"'
    assert r.headers["etag"] == tag == f'"{record["files"]["original"]["sha256"]}"'
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"] == "image/png"
    assert r.headers["accept-ranges"] == "bytes"
    assert "img-src 'self' data:" in r.headers["content-security-policy"]
    # Revalidation: 304 with no body, for the tag itself, a list holding it, or *.
    for held in (tag, f'"other", {tag}', "*", f"W/{tag}"):
        again = await client.get(item["url"], headers={"If-None-Match": held})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == tag
    stale = await client.get(item["url"], headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200 and stale.content == r.content
    # Served anonymously (an <img> sends no token); unknown or malformed ids are 404.
    for path in ("/media/AAAAAAAAAAAAAAAAAAAAAA/original", "/media/x/preview"):
        missing = await client.get(path)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "media_not_found"


async def test_ranges(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user()
    item = (await upload(client, alice, noise_png(320, seed=3))).json()
    whole = (await client.get(item["url"])).content
    size = len(whole)
    boundary = 255 * 1024  # across GridFS's chunk boundary and several pieces
    cases = {
        "bytes=0-9": (0, 9),
        "bytes=10-": (10, size - 1),
        "bytes=-5": (size - 5, size - 1),
        f"bytes={boundary - 100}-{boundary + 100}": (boundary - 100, boundary + 100),
        f"bytes=1000-{1000 + 2 * PIECE}": (1000, 1000 + 2 * PIECE),
        f"bytes=5-{size + 1000}": (5, size - 1),
    }
    for header, (first, last) in cases.items():
        r = await client.get(item["url"], headers={"Range": header})
        assert r.status_code == 206, header
        assert r.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert r.headers["content-length"] == str(last - first + 1)
        assert r.content == whole[first : last + 1], header
    for header in (f"bytes={size}-", f"bytes={size + 10}-{size + 20}", "bytes=-0"):
        r = await client.get(item["url"], headers={"Range": header})
        assert r.status_code == 416, header
        assert r.headers["content-range"] == f"bytes */{size}"
        assert r.json()["error"]["code"] == "range_not_satisfiable"
    # Ignored (the whole file): several ranges, another unit, nonsense, a stale If-Range.
    for headers in (
        {"Range": "bytes=0-1,5-6"},
        {"Range": "items=0-1"},
        {"Range": "bytes=abc"},
        {"Range": "bytes=9-3"},
        {"Range": "bytes=0-9", "If-Range": '"stale"'},
    ):
        r = await client.get(item["url"], headers=headers)
        assert r.status_code == 200 and r.content == whole, headers
    current = {"Range": "bytes=0-9", "If-Range": r.headers["etag"]}
    assert (await client.get(item["url"], headers=current)).status_code == 206


async def test_preview_is_its_own_file(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user()
    item = (await upload(client, alice, image_bytes("PNG", (900, 300)))).json()
    original = await client.get(item["url"])
    preview = await client.get(item["preview_url"])
    assert preview.headers["etag"] != original.headers["etag"]
    assert (item["preview_width"], item["preview_height"]) == (400, 133)


async def test_openapi_declares_the_upload_and_the_images(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    body = doc["paths"]["/media"]["post"]["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    schema = doc["components"]["schemas"]["MediaUpload"]
    assert schema["properties"]["file"] == {**schema["properties"]["file"], "format": "binary"}
    served = doc["paths"]["/media/{media_id}/original"]["get"]["responses"]
    assert {"200", "206", "304", "404", "416"} <= set(served)
    assert "image/*" in served["200"]["content"]
    tweet = doc["components"]["schemas"]["NewTweet"]["properties"]["media_ids"]
    assert tweet["maxItems"] == 4


async def test_absurd_range_numbers_are_not_a_500(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    item = (await upload(client, alice, image_bytes("PNG"))).json()
    size = item["size"]
    # Thousands of digits (int() refuses past 4300) and a non-ASCII digit ("²", latin-1).
    r = await client.get(item["url"], headers={"Range": "bytes=0-" + "9" * 5000})
    assert r.status_code == 206 and r.headers["content-range"] == f"bytes 0-{size - 1}/{size}"
    r = await client.get(item["url"], headers={"Range": "bytes=" + "9" * 5000 + "-"})
    assert r.status_code == 416 and r.json()["error"]["code"] == "range_not_satisfiable"
    r = await client.get(item["url"], headers={"Range": b"bytes=\xb2-"})
    assert r.status_code == 200 and len(r.content) == size
