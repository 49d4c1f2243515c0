"""Product pictures for the demo, drawn with Pillow: no network, no image files shipped.

A picture is a soft background, a simple shape in the product's colour (the colour
option's value when it has one, else one picked from its name) and the product's name
as text. Reproducible: the same name and colour always give the same bytes. Pictures
go in through the image service (:func:`nexus_shop.services.images.image_add`), like an
upload, so they get the same re-encoding, thumbnails and storage as real ones.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from nexus_shop.models import Product, ProductVariant
from nexus_shop.services import images

__all__ = ["PICTURE_SIZE", "add_pictures", "draw_picture", "image_service"]

PICTURE_SIZE = 800
# Fills for the colour option's values (words.COLOURS), and for products without one.
FILLS = {
    "black": (40, 40, 44),
    "white": (245, 245, 240),
    "grey": (140, 144, 150),
    "navy": (30, 45, 95),
    "blue": (50, 110, 200),
    "red": (200, 50, 50),
    "green": (50, 150, 80),
    "olive": (120, 130, 60),
    "yellow": (235, 200, 50),
    "orange": (235, 130, 40),
    "pink": (235, 140, 170),
    "purple": (120, 70, 160),
}
_PALETTE = tuple(FILLS.values())
_SHAPES = ("circle", "square", "diamond", "triangle")


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def draw_picture(name: str, *, colour: str | None = None, size: int = PICTURE_SIZE) -> bytes:
    """A square PNG: a shape in ``colour`` (else a colour of the name's) and the name below."""
    digest = _digest(name)
    fill = FILLS.get((colour or "").casefold()) or _PALETTE[digest[0] % len(_PALETTE)]
    background = tuple(235 - (c // 8) for c in _PALETTE[digest[1] % len(_PALETTE)])
    image = Image.new("RGB", (size, size), background)
    draw = ImageDraw.Draw(image)
    shape = _SHAPES[digest[2] % len(_SHAPES)]
    left, top, right, bottom = size * 0.22, size * 0.12, size * 0.78, size * 0.68
    outline = tuple(max(0, c - 60) for c in fill)
    if shape == "circle":
        draw.ellipse((left, top, right, bottom), fill=fill, outline=outline, width=6)
    elif shape == "square":
        draw.rounded_rectangle(
            (left, top, right, bottom), radius=size // 16, fill=fill, outline=outline, width=6
        )
    else:
        middle = (left + right) / 2
        points = (
            [
                (middle, top),
                (right, (top + bottom) / 2),
                (middle, bottom),
                (left, (top + bottom) / 2),
            ]
            if shape == "diamond"
            else [(middle, top), (right, bottom), (left, bottom)]
        )
        draw.polygon(points, fill=fill, outline=outline, width=6)
    font = ImageFont.load_default(size=size // 18)
    lines = textwrap.wrap(name, width=26)[:3]
    y = size * 0.74
    for line in lines:
        width = draw.textlength(line, font=font)
        draw.text(((size - width) / 2, y), line, fill=(30, 30, 30), font=font)
        y += size / 16
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def image_service() -> Callable[..., Any] | None:
    """The function pictures go in through: :func:`nexus_shop.services.images.image_add`.

    One place that names it (tests replace it here, to see what the seed hands over).
    """
    return images.image_add


def add_pictures(*, limit: int) -> int:
    """Draw and add pictures for the first ``limit`` live products (by id); how many added.

    A product with a Colour option gets one picture per colour, showing those variants
    (``variant_ids``); any other product one picture. Nothing is added (0) when
    :func:`image_service` gives None.
    """
    add = image_service()
    if add is None:
        return 0
    added = 0
    products = Product.objects.order_by("pk").only("pk", "name", "options")[:limit]
    for product in products:
        colours = next(
            (o["values"] for o in product.options if o["name"].casefold() == "colour"), None
        )
        if not colours:
            add(product_id=product.pk, data=draw_picture(product.name), alt=product.name)
            added += 1
            continue
        by_colour: dict[str, list[int]] = {}
        for variant in ProductVariant.objects.filter(product=product).only("pk", "options"):
            by_colour.setdefault(variant.options.get("Colour", ""), []).append(variant.pk)
        for colour in colours:
            add(
                product_id=product.pk,
                data=draw_picture(product.name, colour=colour),
                alt=f"{product.name} in {colour.lower()}",
                variant_ids=by_colour.get(colour, []),
            )
            added += 1
    return added
