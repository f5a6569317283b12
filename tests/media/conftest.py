"""Fixtures for the image tests: small limits, tiny images made with Pillow, and upload."""

from __future__ import annotations

import io
import random
import struct
import zlib
from typing import Any

import httpx
import pytest
from PIL import Image

from server.settings import Settings

MAX_BYTES = 1024 * 1024
QUOTA = 3 * 1024 * 1024
RATE = 12


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "media_max_bytes": MAX_BYTES,
            "media_quota_bytes": QUOTA,
            "media_max_pixels": 4_000_000,
            "rate_limit_media": f"{RATE}/hour",
        }
    )


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (8, 6), mode: str = "RGB", **save: Any
) -> bytes:
    """A small solid image (left half red, right half blue) in ``fmt``."""
    image = Image.new(mode, size, "red")
    image.paste("blue", (size[0] // 2, 0, size[0], size[1]))
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def noise_png(side: int, seed: int = 1) -> bytes:
    """A PNG of random pixels: it does not compress, so its size is about 3 × side²."""
    rnd = random.Random(seed)
    image = Image.frombytes("RGB", (side, side), rnd.randbytes(side * side * 3))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def noise_jpeg(side: int, seed: int = 1) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(noise_png(side, seed))).convert("RGB").save(out, "JPEG")
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header claims ``width`` × ``height`` pixels (with a
    correct CRC, so only its size gives it away)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    chunks = _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


async def upload(
    client: httpx.AsyncClient,
    user: Any,
    data: bytes,
    filename: str = "picture.png",
    content_type: str = "image/png",
    alt: str | None = None,
) -> httpx.Response:
    """``POST /media`` as a browser's form would send it."""
    return await client.post(
        "/media",
        files={"file": (filename, data, content_type)},
        data={"alt": alt} if alt is not None else None,
        headers=user.headers,
    )
