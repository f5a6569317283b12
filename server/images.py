"""Checking and re-encoding uploaded images with Pillow, in worker threads.

An upload is untrusted bytes: it is opened with only the four formats Murmur accepts, its
size in pixels is checked before anything is decoded (a tiny PNG can claim a gigapixel), it
is decoded fully (a truncated file fails here, not when someone views it), the EXIF
orientation is applied, and then a new image is built from the raw pixels alone and encoded
again, so EXIF (GPS included), ICC profiles, comments and text chunks never reach storage.
Decoding is CPU work that holds the GIL for long stretches, so it runs in worker threads
behind a semaphore (``ImageProcessor``), never on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps

# Pillow only warns about an image whose pixel count is past its own bomb limit; Murmur
# refuses it. (Its own limit stays in force as a second fence behind MEDIA_MAX_PIXELS.)
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

# Pillow's format name -> the Content-Type it is served with.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
# What a client may declare, by Content-Type and by file name extension.
DECLARED_TYPES = {
    "image/jpeg": "JPEG", "image/jpg": "JPEG", "image/pjpeg": "JPEG",
    "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF",
}  # fmt: skip
EXTENSIONS = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP", ".gif": "GIF"}
# Types that say nothing about the bytes (a browser's fallback): the extension decides.
UNDECLARED = {"", "application/octet-stream"}

ORIGINAL_MAX_SIDE = 2048
PREVIEW_MAX_SIDE = 400
# What each source format is stored as. GIF keeps only its first frame, as a PNG (an
# animation would need every frame checked and re-encoded; not supported yet).
STORED_AS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "GIF": "PNG"}


class ImageRejected(Exception):
    """An upload that is not an acceptable image; carries the HTTP status and error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Rendition:
    """One stored encoding of an image, with its digest (its strong ETag)."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str  # computed in the worker thread too: hashing is no work for the event loop


@dataclass(frozen=True)
class Processed:
    """An upload that passed: its original (at most 2048 px) and its preview (400 px)."""

    source_format: str
    original: Rendition
    preview: Rendition


def declared_formats(content_type: str | None, filename: str | None) -> set[str]:
    """The formats the client says it sends, by Content-Type and by file name extension
    (empty when neither says anything useful); 415 for a type that is not one of ours."""
    declared = set()
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype not in UNDECLARED:
        if ctype not in DECLARED_TYPES:
            raise ImageRejected(
                415, "unsupported_media_type", "Upload a JPEG, PNG, WebP or GIF image."
            )
        declared.add(DECLARED_TYPES[ctype])
    name = (filename or "").lower()
    declared.update(fmt for ext, fmt in EXTENSIONS.items() if name.endswith(ext))
    return declared


def process(
    data: bytes, *, content_type: str | None, filename: str | None, max_pixels: int
) -> Processed:
    """Check ``data`` and build the stored renditions (blocking: call it in a thread)."""
    declared = declared_formats(content_type, filename)
    try:
        image = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except Image.DecompressionBombWarning as exc:
        raise _too_many_pixels(max_pixels) from exc
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(max_pixels) from exc
    except Exception as exc:  # UnidentifiedImageError, or a header Pillow chokes on
        raise ImageRejected(
            415, "unsupported_image", "The file is not a JPEG, PNG, WebP or GIF image."
        ) from exc
    with image:
        fmt = image.format or ""
        if declared - {fmt}:
            raise ImageRejected(
                415,
                "media_type_mismatch",
                f"The file is a {fmt} image but was sent as {' and '.join(sorted(declared))}; "
                "send it with its real type and extension.",
            )
        width, height = image.size
        if width * height > max_pixels:  # checked on the header, before decoding a pixel
            raise _too_many_pixels(max_pixels)
        if fmt == "JPEG":
            # Let libjpeg decode at a reduced scale when the result is shrunk anyway.
            image.draft("RGB", (ORIGINAL_MAX_SIDE, ORIGINAL_MAX_SIDE))
        try:
            image.load()  # the whole first frame: truncated or corrupt data fails here
            ImageOps.exif_transpose(image, in_place=True)  # no second full-size copy
        except Exception as exc:  # Pillow's decoders raise OSError, SyntaxError, ValueError...
            raise ImageRejected(
                422, "image_corrupt", "The image is damaged or truncated and cannot be read."
            ) from exc
        stored = STORED_AS[fmt]
        original = _clean(image, stored, ORIGINAL_MAX_SIDE)
    # The preview comes from the capped original: the full-size pixels are gone by now (a
    # 40-megapixel upload peaked at ~0.5 GB when both were made from them).
    preview = _clean(original, stored, PREVIEW_MAX_SIDE)
    return Processed(fmt, _encode(original, stored), _encode(preview, stored))


def _too_many_pixels(max_pixels: int) -> ImageRejected:
    return ImageRejected(
        413, "image_too_many_pixels", f"Images may have at most {max_pixels:,} pixels."
    )


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode == "P" and "transparency" in image.info
    )


def _clean(image: Image.Image, stored: str, max_side: int) -> Image.Image:
    """A new image holding only pixels, at most ``max_side`` on its longer side: no EXIF,
    ICC profile, comment or text chunk. Shrunk before it is converted when that is safe
    (palette and odd modes are converted first, as resampling needs), and through
    ``reducing_gap`` (a cheap box reduction, then Lanczos), so a large upload is never
    copied at full size."""
    mode = "RGBA" if _has_alpha(image) and stored != "JPEG" else "RGB"
    pixels = image if image.mode in ("RGB", "RGBA", "L", "LA") else image.convert(mode)
    width, height = pixels.size
    scale = min(1.0, max_side / max(width, height))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        pixels = pixels.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if pixels.mode != mode:
        pixels = pixels.convert(mode)
    return Image.frombytes(mode, pixels.size, pixels.tobytes())


def _encode(image: Image.Image, stored: str) -> Rendition:
    out = io.BytesIO()
    if stored == "JPEG":
        image.save(out, "JPEG", quality=85, optimize=True)
    elif stored == "WEBP":
        image.save(out, "WEBP", quality=85)
    else:
        image.save(out, "PNG")
    data = out.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    return Rendition(data, FORMATS[stored], image.width, image.height, digest)


class ImageProcessor:
    """Runs ``process`` in worker threads, at most ``concurrency`` at once."""

    def __init__(self, concurrency: int) -> None:
        self._slots = asyncio.Semaphore(concurrency)

    async def process(
        self, data: bytes, *, content_type: str | None, filename: str | None, max_pixels: int
    ) -> Processed:
        """Check and re-encode an upload off the event loop (``ImageRejected`` when bad)."""
        async with self._slots:
            return await asyncio.to_thread(
                process, data, content_type=content_type, filename=filename, max_pixels=max_pixels
            )
