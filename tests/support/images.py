"""Pictures drawn with Pillow for the image tests: each format, EXIF, GPS, bombs, polyglots."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

from PIL import Image, ImageDraw

# EXIF tags: Orientation, and the GPS IFD pointer.
ORIENTATION = 0x0112
GPS_IFD = 0x8825


def picture(
    width: int = 64, height: int = 48, colour: str = "teal", mode: str = "RGB"
) -> Image.Image:
    """A picture whose left half differs from its right, so turning it shows."""
    image = Image.new(mode, (width, height), colour)
    ImageDraw.Draw(image).rectangle((0, 0, width // 2, height), fill="orange")
    return image


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def jpeg(
    width: int = 64,
    height: int = 48,
    *,
    orientation: int | None = None,
    gps: bool = False,
    comment: bytes | None = None,
    colour: str = "teal",
) -> bytes:
    """A JPEG, with an EXIF orientation, a GPS position and a comment if asked."""
    image = picture(width, height, colour)
    exif = Image.Exif()
    exif[0x010F] = "Camera maker"  # Make
    exif[0x0131] = "Secret editor 1.0"  # Software
    if orientation is not None:
        exif[ORIENTATION] = orientation
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 12.0), 3: "E", 4: (4.0, 53.0, 28.0)}
    params: dict[str, Any] = {"exif": exif.tobytes()}
    if comment is not None:
        params["comment"] = comment
    return encode(image, "JPEG", quality=90, **params)


def png(width: int = 64, height: int = 48, *, text: str | None = None, mode: str = "RGBA") -> bytes:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if text is not None:
        info.add_text("Comment", text)
    return encode(picture(width, height, mode=mode), "PNG", pnginfo=info)


def webp(width: int = 64, height: int = 48) -> bytes:
    return encode(picture(width, height), "WEBP", quality=90)


def gif(
    width: int = 64, height: int = 48, *, frames: int = 3, comment: bytes | None = None
) -> bytes:
    """An animated GIF: a red first frame, then others of other colours."""
    images = [picture(width, height, colour).convert("P") for colour in ("red", "blue", "green")][
        :frames
    ]
    params: dict[str, Any] = {"save_all": True, "append_images": images[1:], "duration": 100}
    if comment is not None:
        params["comment"] = comment
    return encode(images[0], "GIF", **params)


def png_bomb(width: int, height: int) -> bytes:
    """A PNG header claiming ``width`` x ``height`` pixels, with almost no data behind it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script></svg>"
)
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
