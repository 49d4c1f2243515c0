"""The image endpoints over HTTP: multipart uploads, their limits and statuses, PATCH, DELETE."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from PIL import Image

from nexus_shop import versions
from nexus_shop.limits import MULTIPART_ALLOWANCE
from nexus_shop.models import ProductImage
from nexus_shop.selectors.products import product_written
from tests.conftest import bearer
from tests.factories import ProductFactory, UserFactory
from tests.support import images as pictures

pytestmark = pytest.mark.django_db

IMAGE_KEYS = {"id", "alt", "position", "variant_ids", "width", "height", "url", "thumbnails"}


@pytest.fixture(autouse=True)
def sizes(settings: Any, media: Path) -> None:
    settings.NEXUS_SHOP_IMAGE_SIZES = {"thumb": 16, "card": 32}


def url(product_id: int, image_id: int | None = None) -> str:
    base = f"/api/products/{product_id}/images"
    return base if image_id is None else f"{base}/{image_id}"


def upload(
    client: Client,
    product_id: int,
    data: bytes,
    name: str = "mug.jpg",
    content_type: str = "image/jpeg",
    **fields: Any,
) -> Any:
    return client.post(
        url(product_id),
        {"file": SimpleUploadedFile(name, data, content_type=content_type), **fields},
    )


def stored(media: Path) -> set[str]:
    return {
        str(Path(root, name).relative_to(media))
        for root, _d, files in os.walk(media)
        for name in files
    }


def assert_error(response: Any, status: int, field: str | None = "file") -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body["detail"], str)
    assert isinstance(body["errors"], list)
    if field is not None:
        assert body["errors"][0]["loc"] == ["body", field]
    return cast("dict[str, Any]", body)


# Upload ----------------------------------------------------------------------------------


def test_an_upload_answers_201_with_the_image(staff_client: Client, media: Path) -> None:
    product = ProductFactory()
    variant = product.variants.get()
    response = upload(
        staff_client,
        product.pk,
        pictures.jpeg(),
        alt="The mug",
        variant_ids=[variant.pk],
        position="0",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == IMAGE_KEYS
    assert body["alt"] == "The mug"
    assert body["position"] == 0
    assert body["variant_ids"] == [variant.pk]
    assert (body["width"], body["height"]) == (64, 48)
    image = ProductImage.objects.get()
    assert body["url"] == f"/media/{image.file}"
    assert body["thumbnails"] == {
        "thumb": f"/media/{image.thumbnail_files['thumb']}",
        "card": f"/media/{image.thumbnail_files['card']}",
    }
    assert stored(media) == {image.file, *image.thumbnail_files.values()}


def test_several_variant_ids_are_the_field_repeated(staff_client: Client, media: Path) -> None:
    from nexus_shop.models import ProductVariant

    product = ProductFactory()
    other = ProductVariant.objects.create(
        product=product, sku="SKU-X", price=1, stock=1, combination="x"
    )
    first = product.variants.exclude(pk=other.pk).get()
    response = upload(
        staff_client,
        product.pk,
        pictures.png(),
        name="a.png",
        content_type="image/png",
        variant_ids=[first.pk, other.pk],
    )
    assert response.status_code == 201, response.content
    assert response.json()["variant_ids"] == [first.pk, other.pk]


def test_uploads_need_authentication_and_change_product(media: Path) -> None:
    product = ProductFactory()
    assert_error(upload(Client(), product.pk, pictures.jpeg()), 401, None)
    customer = Client(headers=bearer(UserFactory()))
    assert_error(upload(customer, product.pk, pictures.jpeg()), 403, None)
    assert stored(media) == set()


def test_an_unknown_product_is_404(staff_client: Client) -> None:
    assert_error(upload(staff_client, 999_999, pictures.jpeg()), 404, None)


def test_a_missing_file_is_422(staff_client: Client) -> None:
    response = staff_client.post(url(ProductFactory().pk), {"alt": "no file"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][-1] == "file"


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (pictures.SVG, "logo.svg", "image/svg+xml"),
        (pictures.SVG, "logo.png", "image/png"),
        (pictures.HTML, "page.jpg", "image/jpeg"),
        (pictures.png() + b"<html><script>alert(1)</script></html>", "x.png", "image/png"),
        (pictures.png(), "photo.jpg", "image/jpeg"),  # claims JPEG, is PNG
    ],
    ids=["svg", "svg-named-png", "html", "polyglot", "lying-type"],
)
def test_unaccepted_types_are_415(
    staff_client: Client, media: Path, data: bytes, name: str, content_type: str
) -> None:
    body = assert_error(upload(staff_client, ProductFactory().pk, data, name, content_type), 415)
    assert body["errors"][0]["type"] == "unsupported_media_type"
    assert stored(media) == set()


@pytest.mark.parametrize(
    "data",
    [
        pictures.jpeg(200, 200)[:400],
        b"\xff\xd8\xff" + os.urandom(300),
        os.urandom(300),
        pictures.png_bomb(20_000, 20_000),
    ],
    ids=["truncated", "garbage-jpeg", "random", "bomb"],
)
def test_undecodable_truncated_and_bombs_are_422(
    staff_client: Client, media: Path, data: bytes
) -> None:
    assert_error(
        upload(staff_client, ProductFactory().pk, data, "x.bin", "application/octet-stream"), 422
    )
    assert stored(media) == set()


def test_variant_ids_of_another_product_are_422(staff_client: Client, media: Path) -> None:
    product, other = ProductFactory(), ProductFactory()
    response = upload(
        staff_client, product.pk, pictures.jpeg(), variant_ids=[other.variants.get().pk]
    )
    assert_error(response, 422, "variant_ids")
    assert stored(media) == set()


def test_form_fields_are_validated(staff_client: Client) -> None:
    product = ProductFactory()
    assert upload(staff_client, product.pk, pictures.jpeg(), position="-1").status_code == 422
    assert upload(staff_client, product.pk, pictures.jpeg(), alt="x" * 501).status_code == 422
    assert upload(staff_client, product.pk, pictures.jpeg(), variant_ids="abc").status_code == 422


# Size limits -------------------------------------------------------------------------------


class Unreadable(io.RawIOBase):
    """A WSGI input that fails the test if anything reads it."""

    touched = False

    def read(self, size: int = -1) -> bytes:
        Unreadable.touched = True
        raise AssertionError("the body was read")

    def readline(self, size: int | None = -1) -> bytes:
        return self.read()


def test_a_content_length_over_the_limit_is_413_before_the_body_is_read(
    staff_client: Client, settings: Any, media: Path
) -> None:
    settings.NEXUS_SHOP_MAX_IMAGE_BYTES = 10_000
    Unreadable.touched = False
    response = staff_client.generic(
        "POST",
        url(ProductFactory().pk),
        CONTENT_TYPE=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(10_000 + MULTIPART_ALLOWANCE + 1),
        **cast("dict[str, Any]", {"wsgi.input": Unreadable()}),
    )
    body = assert_error(response, 413)
    assert body["errors"][0]["type"] == "too_large"
    assert body["max_bytes"] == 10_000
    assert not Unreadable.touched


def test_the_default_limit_is_10_mb_from_content_length(staff_client: Client) -> None:
    response = staff_client.generic(
        "POST",
        url(ProductFactory().pk),
        CONTENT_TYPE=MULTIPART_CONTENT,
        CONTENT_LENGTH=str(10 * 1024 * 1024 + MULTIPART_ALLOWANCE + 1),
        **cast("dict[str, Any]", {"wsgi.input": Unreadable()}),
    )
    assert_error(response, 413)


def test_a_file_part_over_the_limit_is_413_as_it_streams(
    staff_client: Client, settings: Any, media: Path
) -> None:
    data = pictures.jpeg(300, 300)
    settings.NEXUS_SHOP_MAX_IMAGE_BYTES = len(data) - 1  # Content-Length within the allowance
    assert_error(upload(staff_client, ProductFactory().pk, data), 413)
    settings.NEXUS_SHOP_MAX_IMAGE_BYTES = len(data)
    assert upload(staff_client, ProductFactory().pk, data).status_code == 201


class Endless(io.RawIOBase):
    """A de-chunked WSGI input: a multipart file part that never ends. Counts what is read."""

    def __init__(self) -> None:
        self.head = (
            f"--{BOUNDARY}\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode() + pictures.jpeg()
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None, "an unbounded read of an endless body"
        assert size >= 0, "an unbounded read of an endless body"
        chunk = (self.head[self.consumed : self.consumed + size]).ljust(size, b"\0")
        self.consumed += size
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        return self.read(size)


def test_a_chunked_body_is_cut_off_at_the_limit(
    staff_client: Client, settings: Any, media: Path
) -> None:
    settings.NEXUS_SHOP_MAX_IMAGE_BYTES = 50_000
    body = Endless()
    response = staff_client.generic(
        "POST",
        url(ProductFactory().pk),
        CONTENT_TYPE=MULTIPART_CONTENT,
        HTTP_TRANSFER_ENCODING="chunked",
        **cast("dict[str, Any]", {"wsgi.input": body, "wsgi.input_terminated": True}),
    )
    assert_error(response, 413)
    # Read to the bound and one byte past it, never more.
    assert 50_000 < body.consumed <= 50_000 + MULTIPART_ALLOWANCE + 1
    assert stored(media) == set()


def test_a_chunked_body_within_the_limit_is_accepted(staff_client: Client, media: Path) -> None:
    payload = encode_multipart(
        BOUNDARY,
        {"file": SimpleUploadedFile("a.jpg", pictures.jpeg(), "image/jpeg"), "alt": "chunked"},
    )
    response = staff_client.generic(
        "POST",
        url(ProductFactory().pk),
        CONTENT_TYPE=MULTIPART_CONTENT,
        HTTP_TRANSFER_ENCODING="chunked",
        **cast(
            "dict[str, Any]", {"wsgi.input": io.BytesIO(payload), "wsgi.input_terminated": True}
        ),
    )
    assert response.status_code == 201, response.content
    assert response.json()["alt"] == "chunked"


# PATCH and DELETE --------------------------------------------------------------------------


def etag(product_id: int) -> str:
    return versions.etag(versions.product_version(product_written(product_id=product_id)))


def test_patch_changes_alt_position_and_variant_ids(staff_client: Client) -> None:
    product = ProductFactory()
    first = upload(staff_client, product.pk, pictures.png(10, 10), "a.png", "image/png").json()
    second = upload(staff_client, product.pk, pictures.png(11, 10), "b.png", "image/png").json()
    response = staff_client.patch(
        url(product.pk, second["id"]),
        {"alt": "Side", "position": 0, "variant_ids": [product.variants.get().pk]},
        content_type="application/json",
        headers={"If-Match": etag(product.pk)},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == IMAGE_KEYS
    assert (body["alt"], body["position"]) == ("Side", 0)
    assert ProductImage.objects.get(pk=first["id"]).position == 1


def test_patch_refuses_nulls_unknown_fields_and_a_stale_etag(staff_client: Client) -> None:
    product = ProductFactory()
    image = upload(staff_client, product.pk, pictures.jpeg()).json()
    path = url(product.pk, image["id"])
    assert (
        staff_client.patch(path, {"alt": None}, content_type="application/json").status_code == 422
    )
    assert (
        staff_client.patch(path, {"file": "x"}, content_type="application/json").status_code == 422
    )
    assert (
        staff_client.patch(
            path, {"variant_ids": [10**6]}, content_type="application/json"
        ).status_code
        == 422
    )
    stale = staff_client.patch(
        path, {"alt": "x"}, content_type="application/json", headers={"If-Match": '"old"'}
    )
    assert_error(stale, 412, None)
    assert (
        staff_client.patch(
            url(product.pk, 999_999), {"alt": "x"}, content_type="application/json"
        ).status_code
        == 404
    )


def test_delete_answers_204_and_removes_the_files_on_commit(
    staff_client: Client, media: Path, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    product = ProductFactory()
    image = upload(staff_client, product.pk, pictures.jpeg()).json()
    assert stored(media)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.delete(url(product.pk, image["id"]))
    assert response.status_code == 204
    assert stored(media) == set()
    assert staff_client.delete(url(product.pk, image["id"])).status_code == 404


def test_patch_and_delete_need_change_product(media: Path) -> None:
    product = ProductFactory()
    customer = Client(headers=bearer(UserFactory()))
    assert (
        customer.patch(
            url(product.pk, 1), {"alt": "x"}, content_type="application/json"
        ).status_code
        == 403
    )
    assert customer.delete(url(product.pk, 1)).status_code == 403
    assert Client().delete(url(product.pk, 1)).status_code == 401


# What the reads show -----------------------------------------------------------------------


def test_the_product_detail_lists_images_and_the_list_shows_the_thumbnail(
    staff_client: Client, anon: Client
) -> None:
    product = ProductFactory()
    first = upload(
        staff_client, product.pk, pictures.png(20, 20), "a.png", "image/png", alt="Front"
    ).json()
    second = upload(staff_client, product.pk, pictures.jpeg(), alt="Back").json()
    detail = anon.get(f"/api/products/{product.pk}").json()
    assert detail["images"] == [first, second]
    assert detail["images"][0]["url"].startswith("/media/nexus_shop/images/")
    listed = anon.get("/api/products").json()["items"]
    assert [item["thumbnail"] for item in listed if item["id"] == product.pk] == [
        first["thumbnails"]["thumb"]
    ]
    assert "images" not in listed[0]


def test_a_product_without_images_has_a_null_thumbnail(anon: Client) -> None:
    ProductFactory()
    assert anon.get("/api/products").json()["items"][0]["thumbnail"] is None


def test_the_operations_are_in_openapi_with_their_statuses(anon: Client) -> None:
    schema = json.loads(anon.get("/api/openapi.json").content)
    upload_op = schema["paths"]["/api/products/{product_id}/images"]["post"]
    assert upload_op["operationId"] == "image_create"
    assert {"201", "400", "401", "403", "404", "412", "413", "415", "422"} <= set(
        upload_op["responses"]
    )
    assert "multipart/form-data" in upload_op["requestBody"]["content"]
    item = schema["paths"]["/api/products/{product_id}/images/{image_id}"]
    assert item["patch"]["operationId"] == "image_update"
    assert item["delete"]["operationId"] == "image_delete"
    assert "204" in item["delete"]["responses"]


def test_an_unknown_form_field_is_a_422_and_nothing_is_stored(staff_client: Client) -> None:
    product = ProductFactory()
    upload = SimpleUploadedFile("red.png", _review_png(), content_type="image/png")
    response = staff_client.post(
        f"/api/products/{product.pk}/images", {"file": upload, "colour": "red"}
    )
    assert response.status_code == 422
    assert response.json()["field"] == "colour"
    assert not ProductImage.objects.exists()


def test_alt_text_refuses_bidirectional_overrides(staff_client: Client) -> None:
    product = ProductFactory()
    upload = SimpleUploadedFile("red.png", _review_png(), content_type="image/png")
    response = staff_client.post(
        f"/api/products/{product.pk}/images", {"file": upload, "alt": "evil\u202etxt.exe"}
    )
    assert response.status_code == 422
    assert not ProductImage.objects.exists()


def _review_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3), "red").save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
def test_a_multipart_body_without_a_usable_boundary_is_a_400(
    staff_client: Client, content_type: str
) -> None:
    """Found by the fuzzer: Django's parser refuses it, and that is the client's mistake."""
    product = ProductFactory()
    response = staff_client.post(
        f"/api/products/{product.pk}/images", data=b"--x\r\nabc", content_type=content_type
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Malformed multipart body")
    assert not ProductImage.objects.exists()
