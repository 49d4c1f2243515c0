"""The image services: accepted types, cleaning, thumbnails, names, files and positions."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from django.utils import timezone
from PIL import Image, ImageCms

from nexus_shop import invalidation
from nexus_shop.exceptions import (
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    UnsupportedMediaType,
    ValidationFailed,
)
from nexus_shop.models import Product, ProductImage, ProductVariant
from nexus_shop.models.catalog import MAX_IMAGES
from nexus_shop.services import images as services
from nexus_shop.services.images import image_add, image_delete, image_update
from tests.factories import ProductFactory
from tests.support import images as pictures
from tests.support.race import race_n

pytestmark = pytest.mark.django_db

SIZES = {"thumb": 16, "card": 32, "large": 1200}


@pytest.fixture(autouse=True)
def sizes(settings: Any, media: Path) -> None:
    settings.NEXUS_SHOP_IMAGE_SIZES = SIZES


def stored(media: Path) -> set[str]:
    """Every file under MEDIA_ROOT, as storage names."""
    return {
        str(Path(root, name).relative_to(media))
        for root, _dirs, files in os.walk(media)
        for name in files
    }


def opened(media: Path, name: str) -> Image.Image:
    return Image.open(io.BytesIO((media / name).read_bytes()))


# Accepted types --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "stored_as", "extension"),
    [
        (pictures.jpeg(), "JPEG", "jpg"),
        (pictures.png(), "PNG", "png"),
        (pictures.webp(), "WEBP", "webp"),
        (pictures.gif(), "PNG", "png"),
    ],
    ids=["jpeg", "png", "webp", "gif"],
)
def test_each_accepted_type_is_stored_at_full_size(
    media: Path, data: bytes, stored_as: str, extension: str
) -> None:
    product = ProductFactory()
    image = image_add(product_id=product.pk, data=data, alt="A mug")
    assert (image.width, image.height) == (64, 48)
    assert image.file.endswith(f".{extension}")
    original = opened(media, image.file)
    assert original.format == stored_as
    assert original.size == (64, 48)
    assert image.alt == "A mug"


def test_a_file_object_is_read_as_well_as_bytes(media: Path) -> None:
    image = image_add(product_id=ProductFactory().pk, data=io.BytesIO(pictures.png()))
    assert image.file in stored(media)


def test_a_gif_keeps_its_first_frame_only(media: Path) -> None:
    image = image_add(product_id=ProductFactory().pk, data=pictures.gif(frames=3))
    original = opened(media, image.file).convert("RGB")
    assert getattr(original, "n_frames", 1) == 1
    assert original.getpixel((60, 10)) == (255, 0, 0)  # the red first frame, not blue or green


# Orientation and metadata ------------------------------------------------------------------


def test_the_exif_orientation_is_applied(media: Path) -> None:
    # Orientation 6: the camera was turned, the stored pixels need a quarter turn.
    image = image_add(product_id=ProductFactory().pk, data=pictures.jpeg(64, 48, orientation=6))
    assert (image.width, image.height) == (48, 64)
    original = opened(media, image.file)
    assert original.size == (48, 64)
    assert ORIENTATION_GONE(original)
    # The orange half (the left one before turning) is now at the top.
    r, g, b = cast("tuple[int, int, int]", original.convert("RGB").getpixel((24, 5)))
    assert r > 200
    assert 100 < g < 200
    assert b < 80


def ORIENTATION_GONE(image: Image.Image) -> bool:  # noqa: N802  (reads as a condition)
    return pictures.ORIENTATION not in image.getexif()


def test_exif_gps_and_comments_are_stripped_from_a_jpeg(media: Path) -> None:
    data = pictures.jpeg(gps=True, comment=b"taken at home")
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(pictures.GPS_IFD)  # there before
    image = image_add(product_id=ProductFactory().pk, data=data)
    original = opened(media, image.file)
    assert not original.getexif()
    assert "exif" not in original.info
    assert "comment" not in original.info
    raw = (media / image.file).read_bytes()
    assert b"Secret editor" not in raw
    assert b"Camera maker" not in raw
    assert b"taken at home" not in raw
    for name in image.thumbnail_files.values():
        thumb = (media / name).read_bytes()
        assert b"Exif" not in thumb
        assert b"Secret editor" not in thumb


def test_png_text_chunks_are_stripped(media: Path) -> None:
    image = image_add(product_id=ProductFactory().pk, data=pictures.png(text="my address"))
    raw = (media / image.file).read_bytes()
    assert b"my address" not in raw
    assert b"tEXt" not in raw
    assert b"iTXt" not in raw
    assert b"zTXt" not in raw


def test_the_icc_colour_profile_is_kept(media: Path) -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = pictures.encode(pictures.picture(), "JPEG", icc_profile=profile)
    image = image_add(product_id=ProductFactory().pk, data=data)
    assert opened(media, image.file).info.get("icc_profile") == profile


def test_png_transparency_is_kept(media: Path) -> None:
    source = pictures.picture(mode="RGBA")
    source.putpixel((0, 0), (0, 0, 0, 0))
    image = image_add(product_id=ProductFactory().pk, data=pictures.encode(source, "PNG"))
    assert cast("tuple[int, ...]", opened(media, image.file).getpixel((0, 0)))[3] == 0
    thumb = opened(media, image.thumbnail_files["large"]).convert("RGBA")
    assert cast("tuple[int, ...]", thumb.getpixel((0, 0)))[3] == 0


# Thumbnails ----------------------------------------------------------------------------------


def test_thumbnails_are_webp_at_each_size_and_never_upscaled(media: Path) -> None:
    image = image_add(product_id=ProductFactory().pk, data=pictures.jpeg(64, 48))
    assert set(image.thumbnail_files) == set(SIZES)
    sizes = {size: opened(media, name) for size, name in image.thumbnail_files.items()}
    assert {thumb.format for thumb in sizes.values()} == {"WEBP"}
    assert sizes["thumb"].size == (16, 12)
    assert sizes["card"].size == (32, 24)
    assert sizes["large"].size == (64, 48)  # 1200 asked, 64 there: not upscaled


def test_sizes_a_picture_does_not_reach_share_one_file(media: Path, settings: Any) -> None:
    settings.NEXUS_SHOP_IMAGE_SIZES = {"thumb": 16, "card": 480, "large": 1200}
    image = image_add(product_id=ProductFactory().pk, data=pictures.png(64, 48))
    assert image.thumbnail_files["card"] == image.thumbnail_files["large"]
    assert image.thumbnail_files["card"].endswith("-64.webp")
    assert len(stored(media)) == 3


def test_the_longest_side_is_the_one_sized(media: Path) -> None:
    image = image_add(product_id=ProductFactory().pk, data=pictures.png(30, 90))
    assert opened(media, image.thumbnail_files["thumb"]).size == (5, 16)


def test_the_answer_gives_urls_of_the_original_and_each_thumbnail(media: Path) -> None:
    image = image_add(product_id=ProductFactory().pk, data=pictures.png())
    assert image.url == f"/media/{image.file}"
    assert image.thumbnails == {
        size: f"/media/{name}" for size, name in image.thumbnail_files.items()
    }


# Names and shared files ----------------------------------------------------------------------


def test_names_are_the_hash_of_the_stored_original(media: Path) -> None:
    image = image_add(product_id=ProductFactory().pk, data=pictures.jpeg())
    digest = hashlib.sha256((media / image.file).read_bytes()).hexdigest()
    assert image.content_hash == digest
    assert image.file == f"nexus_shop/images/{digest[:2]}/{digest}.jpg"
    assert image.thumbnail_files == {
        "thumb": f"nexus_shop/images/{digest[:2]}/{digest}-16.webp",
        "card": f"nexus_shop/images/{digest[:2]}/{digest}-32.webp",
        "large": f"nexus_shop/images/{digest[:2]}/{digest}-64.webp",  # its own size
    }
    assert stored(media) == {image.file, *image.thumbnail_files.values()}


def test_identical_uploads_share_their_files(media: Path) -> None:
    data = pictures.jpeg()
    first = image_add(product_id=ProductFactory().pk, data=data)
    second = image_add(product_id=ProductFactory().pk, data=data)
    assert second.file == first.file
    assert second.thumbnail_files == first.thumbnail_files
    assert len(stored(media)) == 4  # one original, three thumbnails


def test_an_existing_file_is_never_overwritten(media: Path) -> None:
    data = pictures.png()
    first = image_add(product_id=ProductFactory().pk, data=data)
    (media / first.file).write_bytes(b"kept as it was")
    image_add(product_id=ProductFactory().pk, data=data)
    assert (media / first.file).read_bytes() == b"kept as it was"


def test_deleting_keeps_files_another_image_uses_and_removes_the_rest_on_commit(
    media: Path, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    data = pictures.jpeg()
    first = image_add(product_id=ProductFactory().pk, data=data)
    second = image_add(product_id=ProductFactory().pk, data=data)
    other = image_add(product_id=ProductFactory().pk, data=pictures.png())
    names = {first.file, *first.thumbnail_files.values()}
    with django_capture_on_commit_callbacks() as callbacks:
        image_delete(product_id=first.product_id, image_id=first.pk)
    assert names <= stored(media)  # nothing goes before the commit
    for callback in callbacks:
        callback()
    assert names <= stored(media)  # the second image still uses them
    with django_capture_on_commit_callbacks(execute=True):
        image_delete(product_id=second.product_id, image_id=second.pk)
    assert stored(media) == {other.file, *other.thumbnail_files.values()}


def test_a_failing_transaction_leaves_no_files(
    media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = ProductFactory()

    def broken(product: Product) -> None:
        raise RuntimeError("the database went away after the files were written")

    written: list[str] = []
    real_write = services._write_missing

    def spy(files: Any) -> list[str]:
        written.extend(real_write(files))
        return written

    monkeypatch.setattr(services, "_write_missing", spy)
    monkeypatch.setattr(services, "_after_write", broken)
    with pytest.raises(RuntimeError):
        image_add(product_id=product.pk, data=pictures.jpeg())
    assert len(written) == 4  # the files were there before the failure
    assert stored(media) == set()
    assert not ProductImage.objects.exists()


def test_a_failing_upload_keeps_the_files_another_image_uses(
    media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pictures.jpeg()
    kept = image_add(product_id=ProductFactory().pk, data=data)
    monkeypatch.setattr(services, "_after_write", lambda product: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        image_add(product_id=ProductFactory().pk, data=data)
    assert stored(media) == {kept.file, *kept.thumbnail_files.values()}


def test_files_for_sizes_added_later_are_removed_with_the_last_row(
    media: Path, settings: Any, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    data = pictures.png()
    first = image_add(product_id=ProductFactory().pk, data=data)
    settings.NEXUS_SHOP_IMAGE_SIZES = {"thumb": 20}
    second = image_add(product_id=ProductFactory().pk, data=data)
    assert second.thumbnail_files == {"thumb": second.file.replace(".png", "-20.webp")}
    with django_capture_on_commit_callbacks(execute=True):
        image_delete(product_id=second.product_id, image_id=second.pk)
    assert stored(media) == {first.file, *first.thumbnail_files.values()}


# Refused uploads ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pictures.SVG,
        pictures.HTML,
        b"\xef\xbb\xbf  \n" + pictures.HTML,
        pictures.png() + b"<html><script>alert(1)</script></html>",
        pictures.jpeg(comment=b"<script>alert(1)</script>"),
        pictures.gif(comment=b"<svg onload=alert(1)>"),
        pictures.png(text="<iframe src=//evil>"),
        pictures.encode(pictures.picture(), "BMP"),
        pictures.encode(pictures.picture(), "TIFF"),
    ],
    ids=[
        "svg",
        "html",
        "html-bom",
        "png-html",
        "jpeg-comment",
        "gif-comment",
        "png-text",
        "bmp",
        "tiff",
    ],
)
def test_markup_polyglots_and_other_types_are_unsupported(media: Path, data: bytes) -> None:
    with pytest.raises(UnsupportedMediaType):
        image_add(product_id=ProductFactory().pk, data=data)
    assert stored(media) == set()
    assert not ProductImage.objects.exists()


def test_a_claimed_type_that_lies_is_unsupported(media: Path) -> None:
    with pytest.raises(UnsupportedMediaType, match="claims to be image/jpeg but is image/png"):
        image_add(product_id=ProductFactory().pk, data=pictures.png(), content_type="image/jpeg")


@pytest.mark.parametrize(
    "claimed", [None, "", "application/octet-stream", "image/png", "IMAGE/PNG; x=1"]
)
def test_a_true_or_empty_claim_is_accepted(media: Path, claimed: str | None) -> None:
    image_add(product_id=ProductFactory().pk, data=pictures.png(), content_type=claimed)


@pytest.mark.parametrize(
    "data",
    [
        pictures.jpeg(200, 200)[:400],  # truncated
        pictures.png(200, 200)[:200],
        b"\x89PNG\r\n\x1a\n" + os.urandom(300),  # the right magic, then garbage
        os.urandom(500),  # not an image at all
        b"just some text",
        b"",
    ],
    ids=["truncated-jpeg", "truncated-png", "garbage-png", "random", "text", "empty"],
)
def test_undecodable_truncated_and_garbage_files_are_invalid(media: Path, data: bytes) -> None:
    with pytest.raises(ValidationFailed) as caught:
        image_add(product_id=ProductFactory().pk, data=data)
    assert caught.value.extra["field"] == "file"
    assert stored(media) == set()


def test_too_many_pixels_is_refused_from_the_header(media: Path, settings: Any) -> None:
    settings.NEXUS_SHOP_MAX_IMAGE_PIXELS = 1000
    with pytest.raises(ValidationFailed, match="too many pixels") as caught:
        image_add(product_id=ProductFactory().pk, data=pictures.png(64, 48))
    assert caught.value.extra["max_pixels"] == 1000


@pytest.mark.parametrize(("width", "height"), [(10_000, 10_000), (30_000, 30_000)])
def test_a_decompression_bomb_is_refused_before_it_is_decoded(
    media: Path, width: int, height: int
) -> None:
    # 100 and 900 megapixels claimed in a file of a hundred bytes; the second is past
    # Pillow's own limit too. Decoding either would take gigabytes.
    data = pictures.png_bomb(width, height)
    assert len(data) < 200
    with pytest.raises(ValidationFailed, match="too many pixels"):
        image_add(product_id=ProductFactory().pk, data=data)


def test_over_the_byte_limit_is_too_large(media: Path, settings: Any) -> None:
    data = pictures.png()
    settings.NEXUS_SHOP_MAX_IMAGE_BYTES = len(data) - 1
    with pytest.raises(PayloadTooLarge):
        image_add(product_id=ProductFactory().pk, data=data)
    with pytest.raises(PayloadTooLarge):
        image_add(product_id=ProductFactory().pk, data=io.BytesIO(data))
    settings.NEXUS_SHOP_MAX_IMAGE_BYTES = len(data)
    image_add(product_id=ProductFactory().pk, data=data)


def test_alt_is_at_most_500_characters(media: Path) -> None:
    with pytest.raises(ValidationFailed):
        image_add(product_id=ProductFactory().pk, data=pictures.png(), alt="x" * 501)


# Variants, limits, the product ------------------------------------------------------------


def test_variant_ids_must_be_live_variants_of_the_same_product(media: Path) -> None:
    product, other = ProductFactory(), ProductFactory()
    own = product.variants.get()
    theirs = other.variants.get()
    image = image_add(product_id=product.pk, data=pictures.png(), variant_ids=[own.pk, own.pk])
    assert image.variant_ids == [own.pk]
    with pytest.raises(ValidationFailed) as caught:
        image_add(product_id=product.pk, data=pictures.png(), variant_ids=[theirs.pk])
    assert caught.value.extra["field"] == "variant_ids"
    gone = ProductVariant.objects.create(
        product=product,
        sku="GONE-1",
        price=1,
        stock=1,
        combination="gone",
        deleted_at=timezone.now(),
    )
    with pytest.raises(ValidationFailed):
        image_update(product_id=product.pk, image_id=image.pk, variant_ids=[gone.pk])
    assert len(stored(media)) == 4


def test_a_product_has_at_most_50_images(media: Path) -> None:
    product = ProductFactory()
    ProductImage.objects.bulk_create(
        ProductImage(
            product=product, file=f"x{n}.png", content_hash=f"{n}", width=1, height=1, position=n
        )
        for n in range(MAX_IMAGES)
    )
    with pytest.raises(ValidationFailed, match="at most 50 images"):
        image_add(product_id=product.pk, data=pictures.png())
    assert stored(media) == set()


def test_an_unknown_or_deleted_product_is_not_found(media: Path) -> None:
    with pytest.raises(NotFound):
        image_add(product_id=999_999, data=pictures.png())
    product = ProductFactory(deleted_at=timezone.now())
    with pytest.raises(NotFound):
        image_add(product_id=product.pk, data=pictures.png())
    with pytest.raises(NotFound):
        image_update(product_id=ProductFactory().pk, image_id=999_999, alt="x")
    assert stored(media) == set()


def test_an_image_of_another_product_is_not_found(media: Path) -> None:
    image = image_add(product_id=ProductFactory().pk, data=pictures.png())
    other = ProductFactory()
    with pytest.raises(NotFound):
        image_update(product_id=other.pk, image_id=image.pk, alt="x")
    with pytest.raises(NotFound):
        image_delete(product_id=other.pk, image_id=image.pk)


def test_if_match_takes_the_products_version(media: Path) -> None:
    product = ProductFactory()
    with pytest.raises(PreconditionFailed):
        image_add(product_id=product.pk, data=pictures.png(), if_match=['"stale"'])
    assert stored(media) == set()
    image_add(product_id=product.pk, data=pictures.png(), if_match=["*"])


def positions(product: Product) -> list[tuple[str, int]]:
    return list(
        ProductImage.objects.filter(product=product)
        .order_by("position")
        .values_list("alt", "position")
    )


def test_positions_stay_0_to_n_without_gaps(
    media: Path, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    product = ProductFactory()
    a = image_add(product_id=product.pk, data=pictures.png(10, 10), alt="a")
    image_add(product_id=product.pk, data=pictures.png(11, 10), alt="b")
    image_add(product_id=product.pk, data=pictures.png(12, 10), alt="first", position=0)
    image_add(product_id=product.pk, data=pictures.png(13, 10), alt="last", position=99)
    assert positions(product) == [("first", 0), ("a", 1), ("b", 2), ("last", 3)]
    image_update(product_id=product.pk, image_id=a.pk, position=3)
    assert positions(product) == [("first", 0), ("b", 1), ("last", 2), ("a", 3)]
    image_update(product_id=product.pk, image_id=a.pk, position=0)
    assert positions(product) == [("a", 0), ("first", 1), ("b", 2), ("last", 3)]
    with django_capture_on_commit_callbacks(execute=True):
        image_delete(product_id=product.pk, image_id=a.pk)
    assert positions(product) == [("first", 0), ("b", 1), ("last", 2)]


def test_the_product_thumbnail_is_the_first_images_smallest(
    media: Path, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    product = ProductFactory()
    first = image_add(product_id=product.pk, data=pictures.png(20, 20))
    product.refresh_from_db()
    assert product.thumbnail_file == first.thumbnail_files["thumb"]
    assert product.thumbnail == f"/media/{first.thumbnail_files['thumb']}"
    second = image_add(product_id=product.pk, data=pictures.jpeg(), position=0)
    product.refresh_from_db()
    assert product.thumbnail_file == second.thumbnail_files["thumb"]
    image_update(product_id=product.pk, image_id=first.pk, position=0)
    product.refresh_from_db()
    assert product.thumbnail_file == first.thumbnail_files["thumb"]
    with django_capture_on_commit_callbacks(execute=True):
        image_delete(product_id=product.pk, image_id=first.pk)
        image_delete(product_id=product.pk, image_id=second.pk)
    product.refresh_from_db()
    assert product.thumbnail_file == ""
    assert product.thumbnail is None


def test_every_write_tells_the_caches_without_a_membership_change(
    media: Path,
    changes: list[invalidation.Change],
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):
        image = image_add(product_id=product.pk, data=pictures.png())
    with django_capture_on_commit_callbacks(execute=True):
        image_update(product_id=product.pk, image_id=image.pk, alt="new")
    with django_capture_on_commit_callbacks(execute=True):
        image_delete(product_id=product.pk, image_id=image.pk)
    assert (
        changes == [invalidation.Change(product_ids=frozenset({product.pk}), membership=False)] * 3
    )


def test_alt_and_variant_ids_can_be_changed(media: Path) -> None:
    product = ProductFactory()
    variant = product.variants.get()
    image = image_add(product_id=product.pk, data=pictures.png(), variant_ids=[variant.pk])
    image_update(product_id=product.pk, image_id=image.pk, alt="Side view", variant_ids=[])
    image.refresh_from_db()
    assert (image.alt, image.variant_ids) == ("Side view", [])


# Concurrency (PostgreSQL) ------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_keep_positions_unique(media: Path) -> None:
    product = ProductFactory()
    outcomes = race_n(8, lambda n: image_add(product_id=product.pk, data=pictures.png(20 + n, 20)))
    assert all(isinstance(outcome, ProductImage) for outcome in outcomes), outcomes
    assert sorted(
        ProductImage.objects.filter(product=product).values_list("position", flat=True)
    ) == list(range(8))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_uploads_at_position_0_keep_positions_unique(media: Path) -> None:
    product = ProductFactory()
    outcomes = race_n(
        6,
        lambda n: image_add(product_id=product.pk, data=pictures.png(30 + n, 20), position=0),
    )
    assert all(isinstance(outcome, ProductImage) for outcome in outcomes), outcomes
    assert sorted(
        ProductImage.objects.filter(product=product).values_list("position", flat=True)
    ) == list(range(6))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_delete_racing_an_upload_of_the_same_picture_never_loses_its_files(media: Path) -> None:
    data = pictures.jpeg()
    old = image_add(product_id=ProductFactory().pk, data=data)
    product = ProductFactory()
    names = {old.file, *old.thumbnail_files.values()}
    outcomes = race_n(
        2,
        lambda n: (
            image_delete(product_id=old.product_id, image_id=old.pk)
            if n == 0
            else image_add(product_id=product.pk, data=data)
        ),
    )
    assert not any(isinstance(outcome, BaseException) for outcome in outcomes), outcomes
    assert names <= stored(media)


def test_files_are_written_before_the_products_row_lock_is_taken(
    monkeypatch: pytest.MonkeyPatch, media: Path
) -> None:
    """The product's row lock is the one its checkouts queue on: never held while a
    (possibly remote) storage writes files."""
    product = ProductFactory()
    calls: list[str] = []
    write, lock = services._write_missing, services.lock_product  # type: ignore[attr-defined]

    def writing(files: Any) -> list[str]:
        calls.append("write files")
        return write(files)

    def locking(product_id: int, **kwargs: Any) -> Product:
        calls.append("lock product")
        return lock(product_id, **kwargs)

    monkeypatch.setattr(services, "_write_missing", writing)
    monkeypatch.setattr(services, "lock_product", locking)
    image_add(product_id=product.pk, data=pictures.png())
    assert calls == ["write files", "lock product"]
