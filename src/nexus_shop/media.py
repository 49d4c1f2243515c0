"""Where product images live: Django's storage API, under ``NEXUS_SHOP_IMAGE_STORAGE``.

Files are named by their content's hash, so a URL never changes meaning and a CDN may
cache it forever. Decoding, re-encoding and thumbnails are in
:mod:`nexus_shop.services.images`; this module only names, stores and addresses files.
"""

from __future__ import annotations

from django.core.files.storage import Storage, storages

from nexus_shop.conf import conf


def storage() -> Storage:
    """The storage product images are written to and served from."""
    return storages[conf.IMAGE_STORAGE]


def url(name: str) -> str:
    """The public URL of a stored image file."""
    return storage().url(name)
