"""The image settings checks (E060-E062) and the warning about expiring image URLs (W050)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.storage import FileSystemStorage

from nexus_shop.checks import check_image_storage


class SignedStorage(FileSystemStorage):
    """Stands for django-storages' S3 with querystring_auth: every URL is signed."""

    def url(self, name: str | None) -> str:
        return (
            f"https://bucket.s3.amazonaws.com/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            "&X-Amz-Expires=3600&X-Amz-Signature=abc123"
        )


class GoogleSignedStorage(FileSystemStorage):
    def url(self, name: str | None) -> str:
        return f"https://storage.googleapis.com/b/{name}?Expires=1700000000&GoogleAccessId=x&Signature=y"


class CdnStorage(FileSystemStorage):
    """A public bucket behind a CDN domain: lasting URLs, whatever the query says."""

    def url(self, name: str | None) -> str:
        return f"https://cdn.example.com/{name}?v=1"


class NoCredentials(FileSystemStorage):
    """A storage whose URLs cannot be built at check time; its switches say it signs."""

    querystring_auth = True
    custom_domain: str | None = None

    def url(self, name: str | None) -> str:
        raise RuntimeError("no credentials")


class NoCredentialsBehindACdn(NoCredentials):
    custom_domain = "cdn.example.com"


def with_images_in(settings: Any, backend: type) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "images": {"BACKEND": f"{__name__}.{backend.__name__}"},
    }
    settings.NEXUS_SHOP_IMAGE_STORAGE = "images"


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_the_default_file_system_storage_passes() -> None:
    assert check_image_storage() == []


@pytest.mark.parametrize("backend", [SignedStorage, GoogleSignedStorage, NoCredentials])
def test_a_storage_with_expiring_urls_is_warned_about(settings: Any, backend: type) -> None:
    with_images_in(settings, backend)
    messages = check_image_storage()
    assert ids(messages) == ["nexus_shop.W050"]
    assert "expiring" in messages[0].msg
    assert "images" in messages[0].msg


@pytest.mark.parametrize("backend", [CdnStorage, NoCredentialsBehindACdn, FileSystemStorage])
def test_lasting_urls_pass(settings: Any, backend: type) -> None:
    if backend is FileSystemStorage:
        settings.STORAGES = {
            **settings.STORAGES,
            "images": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        }
        settings.NEXUS_SHOP_IMAGE_STORAGE = "images"
    else:
        with_images_in(settings, backend)
    assert check_image_storage() == []


def test_an_unknown_alias_is_an_error(settings: Any) -> None:
    settings.NEXUS_SHOP_IMAGE_STORAGE = "pictures"
    assert ids(check_image_storage()) == ["nexus_shop.E060"]


def test_a_storage_that_cannot_be_built_is_an_error(settings: Any) -> None:
    settings.STORAGES = {**settings.STORAGES, "images": {"BACKEND": "no.such.Storage"}}
    settings.NEXUS_SHOP_IMAGE_STORAGE = "images"
    assert ids(check_image_storage()) == ["nexus_shop.E060"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NEXUS_SHOP_MAX_IMAGE_BYTES", 0),
        ("NEXUS_SHOP_MAX_IMAGE_PIXELS", "many"),
        ("NEXUS_SHOP_MAX_IMAGE_BYTES", True),
    ],
)
def test_bad_limits_are_errors(settings: Any, name: str, value: Any) -> None:
    setattr(settings, name, value)
    assert ids(check_image_storage()) == ["nexus_shop.E061"]


@pytest.mark.parametrize(
    "sizes", [{}, {"thumb": 0}, {"thumb": "160"}, {"a/b": 160}, [160], {"thumb": 10_001}]
)
def test_bad_sizes_are_errors(settings: Any, sizes: Any) -> None:
    settings.NEXUS_SHOP_IMAGE_SIZES = sizes
    assert ids(check_image_storage()) == ["nexus_shop.E062"]
