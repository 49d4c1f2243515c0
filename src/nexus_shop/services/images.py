"""Product images: checked, cleaned, stored by content hash. Keyword-only, typed, transactional.

The rules, each written once here:

* **Accepted types** are JPEG, PNG, WebP and GIF (its first frame), told from the bytes
  themselves (:func:`sniff`), never from a name or a claimed ``Content-Type``. Anything
  else, and anything that carries markup a browser could run (SVG, HTML, a *polyglot*: an
  image with HTML or script in its first or last KiB or in its text metadata), is an
  :class:`UnsupportedMediaType` (415). So is a claimed type that does not match the bytes.
* **Limits**: at most ``NEXUS_SHOP_MAX_IMAGE_BYTES`` bytes (:class:`PayloadTooLarge`, 413)
  and ``NEXUS_SHOP_MAX_IMAGE_PIXELS`` pixels, checked from the header before a pixel is
  decoded (a decompression bomb costs nothing); an image that will not decode, or is
  truncated, is a :class:`ValidationFailed` (422).
* **Cleaning**: the EXIF orientation is applied, then the original is re-encoded at full
  size with no metadata at all (EXIF with its GPS position, XMP, IPTC, comments, PNG text
  chunks). Only the ICC colour profile is kept: it is what makes a wide-gamut photo's
  colours right, and it says nothing about the photographer. JPEG stays JPEG, PNG stays
  PNG, WebP stays WebP; a GIF's first frame is stored as a PNG (one still frame, lossless).
  Re-encoding is also what makes a polyglot harmless: nothing but pixels survives it.
* **Thumbnails** are WebP at each ``NEXUS_SHOP_IMAGE_SIZES`` size (the longest side, never
  upscaled).
* **Names** derive from the SHA-256 of the re-encoded original, the stored file's own
  bytes: ``nexus_shop/images/ab/abcdef….jpg`` and ``…/abcdef…-160.webp`` (a thumbnail's
  name holds the length of its longest side, not its size name, so a URL keeps meaning
  the same pixels when the sizes are reconfigured, and the sizes a small picture does not
  reach share one file). Identical pictures share their files, and a file is never
  overwritten.
* **No orphans**: files are written inside the transaction that adds the row; if it does
  not commit, the files it created are removed. A deleted row's files are removed once
  the deletion commits, unless another row still names them. Both sides take an advisory
  lock on the content hash, so a concurrent upload of the same picture never loses its
  file to a concurrent delete.
* **Positions** run 0, 1, 2… per product with no gaps and no duplicates: every write locks
  the product row first (:func:`nexus_shop.services.variants.lock_product`), so concurrent
  uploads queue up. At most :data:`~nexus_shop.models.catalog.MAX_IMAGES` images a product.
* ``variant_ids`` name live variants of the same product.
* ``Product.thumbnail_file`` (the first image's smallest thumbnail) is kept up to date, and
  every write tells :mod:`nexus_shop.invalidation` (the lists show the thumbnail) and
  emits a ``product.updated``.

A caller that wraps these services in a transaction of its own that later rolls back
leaves the new files behind: Django has no "on rollback" hook. The names are content
hashes, so such a file is only ever unused, never wrong.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.files.base import ContentFile
from django.db import DatabaseError, transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image, ImageOps

from nexus_shop import invalidation, media
from nexus_shop.conf import conf
from nexus_shop.exceptions import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from nexus_shop.models import Product, ProductImage, ProductVariant
from nexus_shop.models.catalog import MAX_IMAGES, MAX_VARIANTS
from nexus_shop.services.event_payloads import emit_product
from nexus_shop.services.locks import advisory_lock
from nexus_shop.services.variants import UNSET, check_version, lock_product

__all__ = [
    "FORMATS",
    "MAX_ALT_LENGTH",
    "Processed",
    "image_add",
    "image_delete",
    "image_update",
    "process_image",
    "sniff",
]

logger = logging.getLogger("nexus_shop.images")

PREFIX = "nexus_shop/images"
MAX_ALT_LENGTH: int = ProductImage._meta.get_field("alt").max_length or 500
# How much of each end of the file is searched for markup: browsers sniff the first
# 512 bytes, and appended HTML sits at the end. The middle is compressed pixels, where a
# short marker turns up by chance (a 4-byte "<svg" about once in 400 MB).
_SCAN = 1024
_MARKUP = re.compile(
    rb"<(?:\?xml|\?php|!doctype|html|head|body|script|svg|iframe|object|embed|meta)"
    rb"|javascript:",
    re.IGNORECASE,
)
_THUMB_PX = re.compile(r"-(\d+)\.webp$")


@dataclass(frozen=True)
class Format:
    """An accepted type: Pillow's name for it, its media types, how it is stored."""

    pillow: str
    media_type: str
    aliases: frozenset[str]
    stored_as: str  # Pillow's name of the stored original's format
    extension: str


FORMATS: Mapping[str, Format] = {
    "JPEG": Format("JPEG", "image/jpeg", frozenset({"image/jpg", "image/pjpeg"}), "JPEG", "jpg"),
    "PNG": Format("PNG", "image/png", frozenset({"image/x-png"}), "PNG", "png"),
    "WEBP": Format("WEBP", "image/webp", frozenset(), "WEBP", "webp"),
    "GIF": Format("GIF", "image/gif", frozenset(), "PNG", "png"),
}
# A claimed type that says nothing: a client that does not know sends these.
_UNCLAIMED = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def sniff(head: bytes) -> Format | None:
    """The accepted format that ``head`` (the file's first bytes) starts with, if any."""
    if head.startswith(b"\xff\xd8\xff"):
        return FORMATS["JPEG"]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return FORMATS["PNG"]
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return FORMATS["GIF"]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return FORMATS["WEBP"]
    return None


@dataclass(frozen=True)
class Processed:
    """An upload, decoded and cleaned: the files to store, by storage name."""

    content_hash: str
    width: int
    height: int
    original: str
    thumbnails: dict[str, str]  # size name -> storage name
    files: dict[str, bytes] = field(repr=False)


# Processing ----------------------------------------------------------------------------


def _read(data: bytes | IO[bytes]) -> bytes:
    limit = conf.MAX_IMAGE_BYTES
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        if hasattr(data, "seek"):
            data.seek(0)
        raw = data.read(limit + 1)  # never more than one byte past the limit
    if len(raw) > limit:
        raise PayloadTooLarge(
            f"The image is larger than {limit:,} bytes (NEXUS_SHOP_MAX_IMAGE_BYTES).",
            extra={"field": "file", "max_bytes": limit},
        )
    if not raw:
        raise ValidationFailed("The file is empty.", extra={"field": "file"})
    return raw


def _markup_in(raw: bytes, image: Image.Image) -> bool:
    """Whether markup hides where a browser or a parser would find it: the file's ends
    (appended HTML, a header sniffed as HTML) and the text metadata Pillow reads."""
    if _MARKUP.search(raw[:_SCAN]) or _MARKUP.search(raw[-_SCAN:]):
        return True
    texts: list[Any] = list(image.info.values())
    texts += [payload for _marker, payload in getattr(image, "applist", [])]
    for value in texts:
        blob = value.encode("utf-8", "replace") if isinstance(value, str) else value
        if isinstance(blob, bytes) and _MARKUP.search(blob):
            return True
    return False


def _undecodable(what: str) -> ValidationFailed:
    return ValidationFailed(
        f"The image could not be decoded ({what}): it is truncated or corrupt.",
        extra={"field": "file"},
    )


def _open(raw: bytes, content_type: str | None) -> tuple[Format, Image.Image]:
    fmt = sniff(raw[:16])
    if fmt is None:
        stripped = raw[:_SCAN].lstrip(b"\xef\xbb\xbf \t\r\n")
        if stripped.startswith(b"<") or _MARKUP.search(raw[:_SCAN]):
            raise UnsupportedMediaType(
                "SVG, HTML and other markup are not accepted; send JPEG, PNG, WebP or GIF.",
                extra={"field": "file"},
            )
        known = _other_image_format(raw)
        if known:
            raise UnsupportedMediaType(
                f"{known} images are not accepted; send JPEG, PNG, WebP or GIF.",
                extra={"field": "file"},
            )
        raise ValidationFailed(
            "The file is not an image: send JPEG, PNG, WebP or GIF.", extra={"field": "file"}
        )
    claimed = (content_type or "").split(";")[0].strip().lower()
    if claimed not in _UNCLAIMED and claimed != fmt.media_type and claimed not in fmt.aliases:
        raise UnsupportedMediaType(
            f"The file claims to be {claimed} but is {fmt.media_type}.",
            extra={"field": "file"},
        )
    with warnings.catch_warnings():
        # Pillow warns past its own pixel limit; NEXUS_SHOP_MAX_IMAGE_PIXELS is checked below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(raw), formats=[fmt.pillow])
        except Image.DecompressionBombError:
            raise _too_many_pixels() from None
        except Exception as error:  # Pillow's plugins raise a zoo: OSError, SyntaxError...
            raise _undecodable(type(error).__name__) from None
    width, height = image.size
    if width * height > conf.MAX_IMAGE_PIXELS:
        raise _too_many_pixels(width, height)
    if _markup_in(raw, image):
        raise UnsupportedMediaType(
            "The image also holds HTML or script (a polyglot); it is not accepted.",
            extra={"field": "file"},
        )
    try:
        image.load()  # the first frame only, for an animated GIF or WebP
    except Exception as error:
        raise _undecodable(str(error) or type(error).__name__) from None
    return fmt, image


def _other_image_format(raw: bytes) -> str | None:
    """The name of an image format Pillow recognises but we do not accept (BMP, TIFF...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(io.BytesIO(raw)) as other:
                return other.format
        except Exception:
            return None


def _too_many_pixels(width: int | None = None, height: int | None = None) -> ValidationFailed:
    limit = conf.MAX_IMAGE_PIXELS
    size = f" ({width}x{height})" if width is not None else ""
    return ValidationFailed(
        f"The image has too many pixels{size}: at most {limit:,} (NEXUS_SHOP_MAX_IMAGE_PIXELS).",
        extra={"field": "file", "max_pixels": limit},
    )


def _encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info
    )


def process_image(data: bytes | IO[bytes], *, content_type: str | None = None) -> Processed:
    """Check, decode, orient and clean an upload, and make its thumbnails (no storage yet).

    ``content_type`` is what the client claimed, if anything: one that the bytes belie is
    a 415. Raises :class:`PayloadTooLarge`, :class:`UnsupportedMediaType` or
    :class:`ValidationFailed`.
    """
    raw = _read(data)
    fmt, source = _open(raw, content_type)
    icc = source.info.get("icc_profile")
    transparency = source.info.get("transparency")
    alpha = _has_alpha(source)
    image = ImageOps.exif_transpose(source)  # a copy, turned upright
    source.close()
    # Nothing of the source's metadata may reach an encoder (Pillow's JPEG and PNG writers
    # fall back to ``info`` for comments, EXIF and text); transparency is pixels, not data.
    image.info = {} if transparency is None else {"transparency": transparency}
    params: dict[str, Any] = {"icc_profile": icc} if icc else {}
    if fmt.stored_as == "JPEG":
        if image.mode not in ("L", "RGB"):
            image, params = image.convert("RGB"), {}  # a CMYK profile no longer fits RGB
        original = _encode(image, "JPEG", quality=90, optimize=True, **params)
    elif fmt.stored_as == "WEBP":
        original = _encode(image, "WEBP", quality=90, **params)
    else:
        if transparency is not None:
            params["transparency"] = transparency
        original = _encode(image, "PNG", **params)
    digest = hashlib.sha256(original).hexdigest()
    folder = f"{PREFIX}/{digest[:2]}"
    name = f"{folder}/{digest}.{fmt.extension}"
    files: dict[str, bytes] = {name: original}
    thumbnails: dict[str, str] = {}
    current = image.convert("RGBA" if alpha else "RGB")
    webp: dict[str, Any] = {"icc_profile": icc} if icc and "icc_profile" in params else {}
    by_size: dict[str, str] = {}
    for size, px in sorted(conf.IMAGE_SIZES.items(), key=lambda item: -item[1]):
        current = current.copy()  # each from the one before: largest first, cheaper
        current.thumbnail((px, px), Image.Resampling.LANCZOS)  # never upscales
        # Named by the longest side it really has: every size the picture is too small for
        # is the same file, and the name means the same pixels whatever the settings say.
        thumb_name = f"{folder}/{digest}-{max(current.size)}.webp"
        if thumb_name not in files:
            files[thumb_name] = _encode(current, "WEBP", quality=80, **webp)
        by_size[size] = thumb_name
    thumbnails.update((size, by_size[size]) for size in conf.IMAGE_SIZES)
    width, height = image.size
    return Processed(
        content_hash=digest,
        width=width,
        height=height,
        original=name,
        thumbnails=thumbnails,
        files=files,
    )


# Files ----------------------------------------------------------------------------------


def _file_lock(content_hash: str) -> str:
    return f"nexus_shop.image-files:{content_hash}"


def _write_missing(files: Mapping[str, bytes]) -> list[str]:
    """Store each file that is not there yet; the names this call created."""
    store = media.storage()
    created: list[str] = []
    try:
        for name, content in files.items():
            if store.exists(name):
                continue  # same name, same bytes: never overwritten
            saved = store.save(name, ContentFile(content))
            if saved != name:  # another writer stored the same bytes meanwhile
                store.delete(saved)
            else:
                created.append(name)
    except BaseException:
        _delete(created)
        raise
    return created


def _delete(names: Iterable[str]) -> None:
    store = media.storage()
    for name in names:
        try:
            store.delete(name)
        except Exception:  # a file left behind is unused, never wrong: log and go on
            logger.warning("Could not delete image file %s", name, exc_info=True)


def _names_of(image: ProductImage) -> set[str]:
    return {image.file, *image.thumbnail_files.values()}


def remove_unused(*, content_hash: str, names: Iterable[str]) -> None:
    """Delete those of ``names`` that no image row names, under the content hash's lock.

    Run after a commit (a deleted row) or after a rollback (files an upload created).
    """
    names = set(names)
    if not names:
        return
    try:
        with transaction.atomic():
            advisory_lock(_file_lock(content_hash))
            used: set[str] = set()
            for row in ProductImage.objects.filter(content_hash=content_hash):
                used |= _names_of(row)
            _delete(sorted(names - used))
    except DatabaseError:  # cannot tell whether they are used: leaving them is safe
        logger.warning("Kept image files %s: the database could not be asked", sorted(names))


# Rows -----------------------------------------------------------------------------------


def _smallest(thumbnail_files: Mapping[str, str]) -> str:
    """The smallest thumbnail's name (its pixel size is in the name)."""

    def px(name: str) -> int:
        match = _THUMB_PX.search(name)
        return int(match.group(1)) if match else 1 << 30

    return min(thumbnail_files.values(), key=lambda name: (px(name), name), default="")


def _after_write(product: Product) -> None:
    """Keep ``Product.thumbnail_file`` and the caches in step with the product's images,
    and emit the ``product.updated`` that a staff change to an image is."""
    first = (
        ProductImage.objects.filter(product=product)
        .order_by("position", "id")
        .values_list("thumbnail_files", flat=True)
        .first()
    )
    thumbnail = _smallest(first) if first else ""
    Product.all_objects.filter(pk=product.pk).update(
        thumbnail_file=thumbnail, updated_at=timezone.now()
    )
    product.thumbnail_file = thumbnail
    # membership=False: lists show the thumbnail (their pages showing this product are
    # dropped), but no filter or ordering depends on images.
    invalidation.products_changed(product_ids=[product.pk], membership=False)
    emit_product("product.updated", product_id=product.pk)


def _check_alt(alt: str) -> str:
    if len(alt) > MAX_ALT_LENGTH:
        raise ValidationFailed(
            f"alt is at most {MAX_ALT_LENGTH} characters.", extra={"field": "alt"}
        )
    return alt


def _check_position(position: int) -> int:
    if position < 0:
        raise ValidationFailed("position must be 0 or more.", extra={"field": "position"})
    return position


def _live_variant_ids(product: Product, variant_ids: Sequence[int]) -> list[int]:
    wanted = list(dict.fromkeys(variant_ids))
    if len(wanted) > MAX_VARIANTS:
        raise ValidationFailed(
            f"variant_ids names at most {MAX_VARIANTS} variants.", extra={"field": "variant_ids"}
        )
    live = set(
        ProductVariant.objects.filter(product=product, pk__in=wanted).values_list("pk", flat=True)
    )
    missing = [pk for pk in wanted if pk not in live]
    if missing:
        raise ValidationFailed(
            f"No live variant with id {missing[0]} in product {product.pk}.",
            extra={"field": "variant_ids"},
        )
    return wanted


def _image_for_update(product: Product, image_id: int) -> ProductImage:
    image = ProductImage.objects.filter(pk=image_id, product=product).first()
    if image is None:
        raise NotFound(f"No image with id {image_id} in product {product.pk}.")
    return image


def image_add(
    *,
    product_id: int,
    data: bytes | IO[bytes],
    alt: str = "",
    position: int | None = None,
    variant_ids: Sequence[int] | None = None,
    content_type: str | None = None,
    if_match: Sequence[str] | None = None,
) -> ProductImage:
    """Add a picture to a live product.

    ``data`` is the file's bytes or a binary file; ``position`` None puts it last, and a
    position inside the list moves the images from there on one step down. Decoding
    happens before any lock is taken; the files are written under their content hash's
    lock, before the product's row lock (never held while the storage works), and removed
    again if the transaction does not commit.
    """
    _check_alt(alt)
    if position is not None:
        _check_position(position)
    processed = process_image(data, content_type=content_type)
    created: list[str] = []
    try:
        with transaction.atomic():
            # The files first, under the content hash's lock only: writing to a remote
            # storage can take seconds, and the product's row lock (taken next) is the one
            # every checkout of the product queues on. A refusal below removes them again.
            advisory_lock(_file_lock(processed.content_hash))
            created = _write_missing(processed.files)
            product = lock_product(product_id)
            check_version(product, if_match)
            count = ProductImage.objects.filter(product=product).count()
            if count >= MAX_IMAGES:
                raise ValidationFailed(
                    f"A product has at most {MAX_IMAGES} images.", extra={"field": "file"}
                )
            ids = _live_variant_ids(product, variant_ids or ())
            at = count if position is None or position >= count else position
            if at < count:
                ProductImage.objects.filter(product=product, position__gte=at).update(
                    position=F("position") + 1
                )
            image = ProductImage.objects.create(
                product=product,
                file=processed.original,
                content_hash=processed.content_hash,
                width=processed.width,
                height=processed.height,
                thumbnail_files=processed.thumbnails,
                alt=alt,
                position=at,
                variant_ids=ids,
            )
            _after_write(product)
    except BaseException:
        remove_unused(content_hash=processed.content_hash, names=created)
        raise
    return image


@transaction.atomic
def image_update(
    *,
    product_id: int,
    image_id: int,
    alt: str = UNSET,
    position: int = UNSET,
    variant_ids: Sequence[int] = UNSET,
    if_match: Sequence[str] | None = None,
) -> ProductImage:
    """Change an image's ``alt``, ``position`` (the others close up) or ``variant_ids``."""
    product = lock_product(product_id)
    check_version(product, if_match)
    image = _image_for_update(product, image_id)
    if alt is not UNSET:
        image.alt = _check_alt(alt)
    if variant_ids is not UNSET:
        image.variant_ids = _live_variant_ids(product, variant_ids)
    if position is not UNSET:
        last = ProductImage.objects.filter(product=product).count() - 1
        new, old = min(_check_position(position), last), image.position
        siblings = ProductImage.objects.filter(product=product).exclude(pk=image.pk)
        if new < old:
            siblings.filter(position__gte=new, position__lt=old).update(position=F("position") + 1)
        elif new > old:
            siblings.filter(position__gt=old, position__lte=new).update(position=F("position") - 1)
        image.position = new
    image.save()
    _after_write(product)
    return image


@transaction.atomic
def image_delete(*, product_id: int, image_id: int, if_match: Sequence[str] | None = None) -> None:
    """Delete an image row; its files go once that commits, unless another row names them."""
    product = lock_product(product_id)
    check_version(product, if_match)
    image = _image_for_update(product, image_id)
    names, content_hash, position = _names_of(image), image.content_hash, image.position
    image.delete()
    ProductImage.objects.filter(product=product, position__gt=position).update(
        position=F("position") - 1
    )
    _after_write(product)
    transaction.on_commit(lambda: remove_unused(content_hash=content_hash, names=names))
