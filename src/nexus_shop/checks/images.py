"""Checks of the image settings, and of the URLs the image storage hands out.

Cached answers (the response cache, a CDN) embed each image's URL for as long as they
live. An expiring, signed URL (django-storages' S3 with ``querystring_auth``, GCS without
a public ACL, Azure with ``expiration_secs``...) would go stale inside them: a product page
served from the cache an hour later shows broken pictures. ``W050`` warns about it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.core.files.storage import Storage, storages

from nexus_shop.checks.ids import CheckId
from nexus_shop.conf import conf

# Query parameters of a signed, expiring URL: AWS (v4 and v2, CloudFront), Google Cloud
# Storage, Azure SAS, and the generic names other signers use.
SIGNED_URL_PARAMETERS = frozenset(
    {
        "x-amz-signature",
        "x-amz-expires",
        "x-amz-credential",
        "x-amz-security-token",
        "awsaccesskeyid",
        "signature",
        "expires",
        "key-pair-id",
        "policy",
        "x-goog-signature",
        "x-goog-expires",
        "googleaccessid",
        "sig",
        "se",
        "token",
    }
)
PROBE_NAME = "nexus_shop/images/00/nexus-shop-check-probe.jpg"
_SIZE_NAME = re.compile(r"[A-Za-z0-9_-]{1,50}")


def signed_url_reason(storage: Storage) -> str | None:
    """Why ``storage``'s URLs expire, or None when they look lasting.

    A URL built for a probe name is the evidence (building one signs locally; nothing is
    fetched). When it cannot be built, the storage's own switches are read instead:
    django-storages' ``querystring_auth`` (unless a ``custom_domain`` serves the files, or
    the objects are public) and ``expiration_secs``.
    """
    try:
        url = storage.url(PROBE_NAME)
    except Exception:  # credentials missing at check time: fall back to the attributes
        url = None
    if url is not None:
        names = {key.lower() for key, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
        signed = sorted(names & SIGNED_URL_PARAMETERS)
        return f"its URLs carry {', '.join(signed)}" if signed else None
    public = str(getattr(storage, "default_acl", "") or "").lower() in {"public-read", "publicread"}
    signs = getattr(storage, "querystring_auth", False) and not getattr(
        storage, "custom_domain", None
    )
    if signs and not public:
        return "it signs URLs (querystring_auth is True and no custom_domain is set)"
    if getattr(storage, "expiration_secs", None):
        return "it signs URLs (expiration_secs is set)"
    return None


@register(Tags.files)
def check_image_storage(**kwargs: Any) -> list[CheckMessage]:
    """The image settings are usable, and the image storage's URLs do not expire."""
    messages: list[CheckMessage] = []
    alias = conf.IMAGE_STORAGE
    if alias not in getattr(settings, "STORAGES", {}):
        return [
            CheckId.IMAGE_STORAGE.message(
                f"NEXUS_SHOP_IMAGE_STORAGE is {alias!r}, which is not in STORAGES.",
                hint='Name an alias of STORAGES ("default" is Django\'s own).',
            )
        ]
    for name in ("MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS"):
        value: object = getattr(conf, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            messages.append(
                CheckId.IMAGE_LIMITS.message(
                    f"NEXUS_SHOP_{name} must be an integer >= 1, not {value!r}."
                )
            )
    sizes: object = getattr(settings, "NEXUS_SHOP_IMAGE_SIZES", None)
    if sizes is not None and not (
        isinstance(sizes, dict)
        and sizes
        and all(
            isinstance(k, str)
            and _SIZE_NAME.fullmatch(k)
            and isinstance(v, int)
            and not isinstance(v, bool)
            and 1 <= v <= 10_000
            for k, v in sizes.items()
        )
    ):
        messages.append(
            CheckId.IMAGE_SIZES.message(
                f"NEXUS_SHOP_IMAGE_SIZES must map names to pixel sizes, not {sizes!r}.",
                hint='For example {"thumb": 160, "card": 480, "large": 1200}: names of letters, '
                "digits, - and _, sizes from 1 to 10,000.",
            )
        )
    try:
        storage = storages[alias]
    except Exception as error:
        messages.append(
            CheckId.IMAGE_STORAGE.message(
                f"The image storage {alias!r} cannot be built: {error}.",
            )
        )
        return messages
    reason = signed_url_reason(storage)
    if reason:
        messages.append(
            CheckId.IMAGE_URLS_EXPIRE.message(
                f"The image storage {alias!r} hands out expiring URLs: {reason}. Cached "
                "answers embed image URLs and would keep them after they expire.",
                hint="Serve images from a public bucket or a CDN domain (django-storages: "
                "querystring_auth=False, or custom_domain), or give them a storage alias of "
                "their own (NEXUS_SHOP_IMAGE_STORAGE). See docs/images.md.",
            )
        )
    return messages
