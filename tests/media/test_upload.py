"""POST /media: every accepted format, and every way an upload is refused."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import ExifTags, Image

from tests.media.conftest import (
    MAX_BYTES,
    RATE,
    image_bytes,
    noise_jpeg,
    noise_png,
    png_bomb,
    upload,
)

FORMATS = [
    ("JPEG", "photo.jpg", "image/jpeg", "image/jpeg"),
    ("PNG", "drawing.png", "image/png", "image/png"),
    ("WEBP", "photo.webp", "image/webp", "image/webp"),
    ("GIF", "anim.gif", "image/gif", "image/png"),  # first frame, stored as PNG
]


@pytest.mark.parametrize(("fmt", "name", "ctype", "stored"), FORMATS)
async def test_each_format_is_accepted_and_stored(
    client: httpx.AsyncClient, make_user: Any, fmt: str, name: str, ctype: str, stored: str
) -> None:
    alice = await make_user()
    r = await upload(client, alice, image_bytes(fmt, (12, 8)), name, ctype, alt=" A red flag ")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["content_type"] == stored
    assert (body["width"], body["height"]) == (12, 8)
    assert body["alt"] == "A red flag"
    assert body["state"] == "uploaded"
    assert body["url"] == f"/media/{body['media_id']}/original"
    got = await client.get(body["url"])
    assert got.status_code == 200
    assert got.headers["content-type"] == stored
    with Image.open(io.BytesIO(got.content)) as image:
        assert image.size == (12, 8)
        assert image.getpixel((0, 0))[:3] == (255, 0, 0) or fmt in ("JPEG", "WEBP")
    preview = await client.get(body["preview_url"])
    assert preview.status_code == 200 and preview.headers["content-type"] == stored


async def test_large_images_are_capped_and_previewed(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    r = await upload(client, alice, image_bytes("JPEG", (2400, 1200)), "wide.jpg", "image/jpeg")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["width"], body["height"]) == (2048, 1024)
    assert (body["preview_width"], body["preview_height"]) == (400, 200)
    preview = await client.get(body["preview_url"])
    with Image.open(io.BytesIO(preview.content)) as image:
        assert image.size == (400, 200)


async def test_gps_and_exif_are_removed_and_orientation_applied(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    photo = Image.new("RGB", (40, 20), "green")
    exif = photo.getexif()
    exif[ExifTags.Base.Orientation] = 6  # shown rotated 90° clockwise
    exif[ExifTags.Base.Make] = "SpyCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 31.0, 12.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (13.0, 24.0, 36.0)
    out = io.BytesIO()
    photo.save(out, "JPEG", exif=exif, icc_profile=b"not really a profile", comment=b"secret")
    sent = out.getvalue()
    with Image.open(io.BytesIO(sent)) as check:  # the test image really carries them
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    r = await upload(client, alice, sent, "photo.jpg", "image/jpeg")
    assert r.status_code == 201, r.text
    assert (r.json()["width"], r.json()["height"]) == (20, 40)  # upright
    for url in (r.json()["url"], r.json()["preview_url"]):
        stored = (await client.get(url)).content
        assert b"SpyCam" not in stored and b"secret" not in stored
        with Image.open(io.BytesIO(stored)) as image:
            assert image.size == (20, 40)
            assert len(image.getexif()) == 0
            assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
            assert "icc_profile" not in image.info and "exif" not in image.info
            assert "comment" not in image.info


async def test_png_text_chunks_are_removed(client: httpx.AsyncClient, make_user: Any) -> None:
    from PIL import PngImagePlugin

    alice = await make_user()
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Alice Secret")
    data = image_bytes("PNG", (10, 10), mode="RGBA", pnginfo=info)
    r = await upload(client, alice, data)
    assert r.status_code == 201, r.text
    stored = (await client.get(r.json()["url"])).content
    assert b"Alice Secret" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.mode == "RGBA"  # transparency is kept


@pytest.mark.parametrize(
    ("data", "name", "ctype", "status", "code"),
    [
        (noise_png(32)[:1600], "cut.png", "image/png", 422, "image_corrupt"),
        (noise_jpeg(64)[:-600], "cut.jpg", "image/jpeg", 422, "image_corrupt"),
        (b"GIF89a" + b"\x00" * 40, "bad.gif", "image/gif", 415, "unsupported_image"),
        (b"just some text, not an image", "a.png", "image/png", 415, "unsupported_image"),
        (image_bytes("PNG"), "photo.jpg", "image/jpeg", 415, "media_type_mismatch"),
        (image_bytes("PNG"), "photo.jpg", "application/octet-stream", 415, "media_type_mismatch"),
        (image_bytes("PNG"), "photo.jpg", "image/png", 415, "media_type_mismatch"),
        (image_bytes("PNG"), "notes.txt", "text/plain", 415, "unsupported_media_type"),
        (image_bytes("BMP"), "old.bmp", "application/octet-stream", 415, "unsupported_image"),
        (image_bytes("TIFF"), "scan.tiff", "application/octet-stream", 415, "unsupported_image"),
    ],
    ids=[
        "truncated-png",
        "truncated-jpeg",
        "broken-gif-header",
        "not-an-image",
        "png-as-jpeg",
        "png-named-jpg",
        "png-typed-png-named-jpg",
        "text-type",
        "bmp",
        "tiff",
    ],  # fmt: skip
)
async def test_bad_files_are_refused(
    app: Any,
    client: httpx.AsyncClient,
    make_user: Any,
    data: bytes,
    name: str,
    ctype: str,
    status: int,
    code: str,
) -> None:
    alice = await make_user()
    r = await upload(client, alice, data, name, ctype)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    db = app.state.services.db
    assert await db.media.count_documents({}) == 0
    assert await db["images.files"].count_documents({}) == 0


async def test_decompression_bomb_is_refused_before_decoding(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    # Past MEDIA_MAX_PIXELS (4 MP here) but below Pillow's own bomb limit ...
    r = await upload(client, alice, png_bomb(3000, 3000))
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "image_too_many_pixels"
    # ... and far past Pillow's (its DecompressionBombWarning/Error is an error too).
    r = await upload(client, alice, png_bomb(50_000, 50_000))
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "image_too_many_pixels"


async def test_oversize_body_with_content_length_is_refused_unread(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    read = 0

    async def body() -> Any:  # counts what the server actually pulls
        nonlocal read
        for _ in range(40):
            read += 64 * 1024
            yield b"x" * 64 * 1024

    headers = {
        **alice.headers,
        "Content-Type": "multipart/form-data; boundary=zzz",
        "Content-Length": str(40 * 64 * 1024),
    }
    r = await client.post("/media", content=body(), headers=headers)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "media_too_large"
    assert read <= 64 * 1024


async def test_oversize_body_without_content_length_stops_at_the_cap(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    sent = 0
    boundary = "zzz"

    async def body() -> Any:
        nonlocal sent
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        yield head
        for _ in range(200):  # 12.5 MiB if it were all read
            sent += 64 * 1024
            yield b"\x00" * 64 * 1024

    headers = {**alice.headers, "Content-Type": f"multipart/form-data; boundary={boundary}"}
    r = await client.post("/media", content=body(), headers=headers)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "media_too_large"
    assert sent <= MAX_BYTES + 128 * 1024


async def test_a_file_just_over_the_cap_is_refused(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    data = image_bytes("PNG") + b"\x00" * (MAX_BYTES + 1)
    r = await upload(client, alice, data)
    assert r.status_code == 413 and r.json()["error"]["code"] == "media_too_large"


async def test_form_shape_and_auth(client: httpx.AsyncClient, make_user: Any) -> None:
    r = await client.post("/media", files={"file": ("a.png", image_bytes(), "image/png")})
    assert r.status_code == 401
    alice = await make_user()
    r = await client.post("/media", json={"file": "x"}, headers=alice.headers)
    assert r.status_code == 415
    r = await client.post("/media", data={"alt": "no file"}, files={"other": ("a", b"x")},
                          headers=alice.headers)  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["code"] == "media_missing"
    r = await upload(client, alice, image_bytes(), alt="x" * 1001)
    assert r.status_code == 422


async def test_alt_text_can_be_changed_by_the_owner_only(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    item = (await upload(client, alice, image_bytes())).json()
    path = f"/media/{item['media_id']}"
    r = await client.patch(path, json={"alt": "A flag, red and blue"}, headers=alice.headers)
    assert r.status_code == 200 and r.json()["alt"] == "A flag, red and blue"
    r = await client.patch(path, json={"alt": "mine now"}, headers=bob.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "media_not_yours"
    r = await client.patch(path, json={"alt": "x" * 1001}, headers=alice.headers)
    assert r.status_code == 422
    r = await client.patch("/media/nope", json={"alt": "x"}, headers=alice.headers)
    assert r.status_code == 404
    r = await client.patch(path, json={"alt": "x"})
    assert r.status_code == 401


async def test_rate_limit_and_quota(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user()
    for _ in range(RATE):
        assert (await upload(client, alice, image_bytes())).status_code == 201
    r = await upload(client, alice, image_bytes())
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    # The quota (3 MiB here) counts both stored renditions of every upload.
    bob = await make_user()
    big = noise_png(400, seed=2)  # ~480 KB, stored twice (its preview is as large)
    codes = [(await upload(client, bob, big)).status_code for _ in range(4)]
    assert codes[:3] == [201, 201, 201]
    r = await upload(client, bob, big)
    assert r.status_code == 413 and r.json()["error"]["code"] == "media_quota_exceeded"


async def test_an_animated_gif_keeps_its_first_frame(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    frames = [Image.new("RGB", (16, 16), color) for color in ("red", "blue", "green")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    r = await upload(client, alice, out.getvalue(), "anim.gif", "image/gif")
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "image/png"
    stored = (await client.get(r.json()["url"])).content
    with Image.open(io.BytesIO(stored)) as image:
        assert getattr(image, "n_frames", 1) == 1
        assert image.convert("RGB").getpixel((8, 8)) == (255, 0, 0)


async def test_absurd_content_length_is_not_a_500(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()

    async def body() -> Any:
        yield b"--zzz--\r\n"

    for declared in ("9" * 5000, b"\xb2"):
        headers = {
            **alice.headers,
            "Content-Type": "multipart/form-data; boundary=zzz",
            "Content-Length": declared,
        }
        r = await client.post("/media", content=body(), headers=headers)
        assert r.status_code in (400, 413, 422), r.text
        assert "error" in r.json()
