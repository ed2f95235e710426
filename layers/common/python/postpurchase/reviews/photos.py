"""Review photos: the upload's S3 POST policy and the cleaning step (pure but for Pillow).

The customer's browser uploads straight to S3 with a presigned POST whose policy pins the object
key, the declared type (one of ALLOWED_TYPES) and a size range; nothing it uploads is public.
`clean` then reads the bytes, believes only what Pillow finds in them (the real format, not the
declared type), refuses anything else, and re-encodes the pixels without metadata (EXIF with its
GPS position, XMP, ICC, text chunks), turned upright first so dropping the EXIF orientation does
not turn the picture. Only the cleaned copy is published; the upload is deleted either way.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from ..errors import NotAllowed

ALLOWED_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # larger is refused before decoding (decompression bombs)
MAX_SIDE = 2400  # published photos are scaled down to this
UPLOAD_SECONDS = 600
# The rating page's upload form (no script) lets S3 take up to this much, so a photo somewhat over
# MAX_BYTES reaches `clean` and is refused on our page in the customer's language; beyond it S3's
# own error page answers. The upload is deleted either way.
FORM_MAX_BYTES = 2 * MAX_BYTES


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def declared_type(value: Any) -> str:
    if not isinstance(value, str) or value.strip().lower() not in ALLOWED_TYPES:
        raise NotAllowed(f"content_type must be one of {', '.join(sorted(ALLOWED_TYPES))}", field="content_type")
    return value.strip().lower()


def post_policy(content_type: str, max_bytes: int = MAX_BYTES) -> tuple[dict[str, str], list[Any]]:
    """Fields and conditions for S3's generate_presigned_post: this type exactly, 1 byte to max."""
    fields = {"Content-Type": content_type}
    conditions: list[Any] = [{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]]
    return fields, conditions


def form_policy(redirect: str, max_bytes: int = FORM_MAX_BYTES) -> tuple[dict[str, str], list[Any]]:
    """Fields and conditions of the rating page's upload form: no declared type (a form cannot set
    one per file; `clean` believes only the bytes), a size range, and where S3 sends the browser
    after the upload (our page, which then cleans it like the API's attach call)."""
    fields = {"success_action_redirect": redirect}
    conditions: list[Any] = [{"success_action_redirect": redirect}, ["content-length-range", 1, max_bytes]]
    return fields, conditions


def clean(data: bytes, max_bytes: int = MAX_BYTES) -> CleanImage:
    """The upload re-encoded without metadata, or NotAllowed(field="photo") naming why not."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data or len(data) > max_bytes:
        raise NotAllowed(f"the photo must be 1 byte to {max_bytes} bytes", field="photo", reason="size")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            if kind not in EXTENSIONS:
                raise NotAllowed("the photo must be a JPEG, PNG or WebP image", field="photo", reason="type")
            if probe.width * probe.height > MAX_PIXELS:
                raise NotAllowed("the photo has too many pixels", field="photo", reason="pixels")
            probe.verify()  # a truncated or corrupt file fails here
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
    except NotAllowed:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise NotAllowed("the photo is not a readable JPEG, PNG or WebP image", field="photo",
                         reason="unreadable") from None
    upright.thumbnail((MAX_SIDE, MAX_SIDE))
    if kind == "JPEG" and upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    if kind == "WEBP" and upright.mode not in ("RGB", "RGBA"):
        upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
    if upright.mode in ("P", "PA", "LA", "I;16", "1", "CMYK"):  # palettes and odd modes: to plain pixels
        upright = upright.convert("RGBA" if kind != "JPEG" else "RGB")
    pixels = Image.new(upright.mode, upright.size)
    pixels.paste(upright)  # only the pixels travel: no info, no EXIF, no ICC, no text chunks
    out = io.BytesIO()
    options: dict[str, Any] = {"JPEG": {"quality": 88, "optimize": True}, "PNG": {"optimize": True},
                               "WEBP": {"quality": 85}}[kind]
    pixels.save(out, format=kind, **options)
    content_type = next(t for t, f in ALLOWED_TYPES.items() if f == kind)
    return CleanImage(out.getvalue(), content_type, EXTENSIONS[kind], pixels.width, pixels.height)
