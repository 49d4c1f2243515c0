"""Every system check id of nexus_shop, with its level and meaning: the one table.

The checks take their ids from here (``CheckId.CURRENCY.message(...)``), docs/checks.md
explains each of them, and ``tests/test_checks.py`` keeps the three in step: an id is used
once, and every id in this table is in the docs and the other way round.

An id keeps its meaning for good: a host may list it in ``SILENCED_SYSTEM_CHECKS``. A new
check takes a new, free id; the numbers group the topics (E00x general settings, E01x
JWT, E02x django-cachalot and the cache backend, E03x the category tree, E04x the response
cache and the purchase path, E05x search, E06x images, E07x operations, E08x read
replicas, W0xx warnings).
"""

from __future__ import annotations

from enum import Enum

from django.core.checks import CheckMessage, Error, Warning


class CheckId(Enum):
    """One system check: its id, its level (Error or Warning) and what it means."""

    id: str
    level: type[Error] | type[Warning]
    meaning: str

    AUTH_PATH = ("nexus_shop.E001", Error, "an entry of NEXUS_SHOP_AUTH cannot be imported")
    CURRENCY = ("nexus_shop.E002", Error, "NEXUS_SHOP_CURRENCY is not an ISO 4217 code")
    THROTTLE_RATE = ("nexus_shop.E003", Error, "a NEXUS_SHOP_THROTTLE_RATES value is not a rate")
    PROXY_COUNT = ("nexus_shop.E004", Error, "NEXUS_SHOP_TRUSTED_PROXY_COUNT is not >= 0")
    PAGE_SIZE = ("nexus_shop.E005", Error, "NEXUS_SHOP_DEFAULT_PAGE_SIZE is out of range")
    THROTTLE_CACHE = ("nexus_shop.E006", Error, "NEXUS_SHOP_THROTTLE_CACHE is not in CACHES")
    TOKEN_BLACKLIST = ("nexus_shop.E010", Error, "ninja_jwt.token_blacklist is not installed")
    JWT_ALGORITHM = ("nexus_shop.E011", Error, "NINJA_JWT['ALGORITHM'] is not allowed")
    JWT_SIGNING_KEY = ("nexus_shop.E012", Error, "NINJA_JWT['SIGNING_KEY'] is None or empty")
    CACHALOT_AUTH = ("nexus_shop.E020", Error, "django-cachalot would cache the auth tables")
    CACHALOT_PURCHASE = (
        "nexus_shop.E021",
        Error,
        "django-cachalot would cache the purchase tables",
    )
    RETRY_AFTER = (
        "nexus_shop.E022",
        Error,
        "a CACHES entry's OPTIONS['RETRY_AFTER'] is not a number >= 0, or its backend "
        "is not nexus_shop.cache.RedisCache",
    )
    CATEGORY_DEPTH = ("nexus_shop.E030", Error, "NEXUS_SHOP_CATEGORY_MAX_DEPTH is out of range")
    RESPONSE_CACHE = ("nexus_shop.E040", Error, "NEXUS_SHOP_RESPONSE_CACHE is not in CACHES")
    CDN_PURGE_BACKEND = (
        "nexus_shop.E041",
        Error,
        "NEXUS_SHOP_CDN_PURGE_BACKEND is not an importable PurgeBackend",
    )
    PURCHASE_DURATION = (
        "nexus_shop.E042",
        Error,
        "a purchase duration is not a positive timedelta",
    )
    CHECKOUT_FIELDS = (
        "nexus_shop.E043",
        Error,
        "NEXUS_SHOP_CHECKOUT_REQUIRED_FIELDS names unknown fields",
    )
    PURCHASE_PLUGGABLE = (
        "nexus_shop.E044",
        Error,
        "a payment provider, shipping or tax calculator cannot be imported",
    )
    EXACT_COUNT_LIMIT = ("nexus_shop.E050", Error, "NEXUS_SHOP_EXACT_COUNT_LIMIT is not >= 1")
    PAGE_MODE_MAX_ITEMS = ("nexus_shop.E051", Error, "NEXUS_SHOP_PAGE_MODE_MAX_ITEMS is not >= 1")
    SEARCH_RANK_WINDOW = ("nexus_shop.E052", Error, "NEXUS_SHOP_SEARCH_RANK_WINDOW is not >= 1")
    FACET_PRICE_BUCKETS = (
        "nexus_shop.E053",
        Error,
        "NEXUS_SHOP_FACET_PRICE_BUCKETS is not an ascending sequence of positive prices",
    )
    IMAGE_STORAGE = (
        "nexus_shop.E060",
        Error,
        "NEXUS_SHOP_IMAGE_STORAGE is not in STORAGES, or its storage cannot be built",
    )
    IMAGE_LIMITS = (
        "nexus_shop.E061",
        Error,
        "NEXUS_SHOP_MAX_IMAGE_BYTES or NEXUS_SHOP_MAX_IMAGE_PIXELS is not an integer >= 1",
    )
    IMAGE_SIZES = (
        "nexus_shop.E062",
        Error,
        "NEXUS_SHOP_IMAGE_SIZES is not a mapping of names to pixel sizes",
    )
    METRICS_ACCESS = (
        "nexus_shop.E070",
        Error,
        "NEXUS_SHOP_METRICS_TOKEN or NEXUS_SHOP_METRICS_ALLOWED_NETWORKS is malformed",
    )
    OPERATIONS_SETTINGS = (
        "nexus_shop.E071",
        Error,
        "NEXUS_SHOP_SLOW_QUERY_MS or NEXUS_SHOP_ACCESS_LOG_HITS_EVERY is not a number >= 0",
    )
    TRACING = (
        "nexus_shop.E072",
        Error,
        "NEXUS_SHOP_TRACING is not a bool, or is on without the nexus-shop[otel] extra",
    )
    READ_REPLICAS = (
        "nexus_shop.E080",
        Error,
        "an alias of NEXUS_SHOP_READ_REPLICAS is not in DATABASES (or is 'default'), or "
        "NEXUS_SHOP_READ_REPLICA_CACHE is not in CACHES",
    )
    JWT_SHARED_KEY = (
        "nexus_shop.W001",
        Warning,
        "(--deploy) NINJA_JWT['SIGNING_KEY'] is unset or equal to SECRET_KEY",
    )
    THROTTLE_DUMMY_CACHE = ("nexus_shop.W002", Warning, "the throttle's cache is a DummyCache")
    UNCHECKED_JWT_AUTH = (
        "nexus_shop.W030",
        Warning,
        "NEXUS_SHOP_AUTH names ninja-jwt's JWTAuth, which trusts a token's claims",
    )
    IMAGE_URLS_EXPIRE = (
        "nexus_shop.W050",
        Warning,
        "the image storage hands out expiring (signed) URLs, which cached answers would keep",
    )

    def __init__(self, id: str, level: type[Error] | type[Warning], meaning: str) -> None:
        self.id = id
        self.level = level
        self.meaning = meaning

    def message(self, msg: str, *, hint: str | None = None) -> CheckMessage:
        """The check message for this id, at this id's level."""
        return self.level(msg, hint=hint, id=self.id)
