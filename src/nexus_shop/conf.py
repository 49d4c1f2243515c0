"""Every ``NEXUS_SHOP_*`` setting, typed and defaulted.

Values are read from ``django.conf.settings`` on each access, never cached, so
``override_settings`` works in tests and nothing is read at import time.
Validation lives in :mod:`nexus_shop.checks` (system checks ``nexus_shop.E0xx``).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings

DEFAULT_AUTH = ("nexus_shop.security.JWTAuth",)
DEFAULT_THROTTLE_RATES: dict[str, str | None] = {
    "register": "10/m",
    "token": "10/m",
    "login": "20/h",
    "refresh": "10/m",
}
DEFAULT_CATEGORY_MAX_DEPTH = 32
# A category's ``path`` ("/1/5/12/", varchar 1024) spends at most 20 characters a level
# (a 19-digit id and a "/"): 51 levels always fit, whatever the ids.
CATEGORY_DEPTH_LIMIT = (1024 - 1) // 20
DEFAULT_PRICE_BUCKETS = (10, 25, 50, 100, 250, 500, 1000)
DEFAULT_ACCESS_TOKEN_LIFETIME = timedelta(minutes=10)
DEFAULT_REFRESH_TOKEN_LIFETIME = timedelta(days=7)
DEFAULT_ANONYMOUS_CART_TTL = timedelta(days=30)
DEFAULT_IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
DEFAULT_ORDER_PAYMENT_TIMEOUT = timedelta(hours=1)
DEFAULT_PAYMENT_PROVIDER = "nexus_shop.payments.ManualPayment"
DEFAULT_SHIPPING_CALCULATOR = "nexus_shop.pricing.zero_shipping"
DEFAULT_TAX_CALCULATOR = "nexus_shop.pricing.zero_tax"
CHECKOUT_FIELDS = ("email", "shipping_address")
# The purchase path's tables (carts, orders, idempotency records), which a query cache must
# never answer from: a host's settings say ``CACHALOT_UNCACHABLE_TABLES = [*PURCHASE_TABLES]``
# (settings are read before the models exist, hence names, not models), and the check
# nexus_shop.E021 derives what it checks from this same tuple.
PURCHASE_TABLES = (
    "nexus_shop_cart",
    "nexus_shop_cartline",
    "nexus_shop_order",
    "nexus_shop_orderline",
    "nexus_shop_orderevent",
    "nexus_shop_idempotencyrecord",
)


class Settings:
    """Typed, lazy accessors. Use the module-level ``conf`` instance."""

    @property
    def CURRENCY(self) -> str:  # noqa: N802  (mirrors the setting's name)
        """The shop's one currency, an ISO 4217 code. ``NEXUS_SHOP_CURRENCY``, default ``"USD"``."""
        value: str = getattr(settings, "NEXUS_SHOP_CURRENCY", "USD")
        return value

    @property
    def DEFAULT_PAGE_SIZE(self) -> int:  # noqa: N802
        """Page size when the client sends none. ``NEXUS_SHOP_DEFAULT_PAGE_SIZE``, default 20."""
        value: int = getattr(settings, "NEXUS_SHOP_DEFAULT_PAGE_SIZE", 20)
        return value

    @property
    def CATEGORY_MAX_DEPTH(self) -> int:  # noqa: N802
        """How many levels the category tree may have (a root category is level 1).

        ``NEXUS_SHOP_CATEGORY_MAX_DEPTH``, default 32, at most 51 (what the materialised
        ``path`` can hold; check ``nexus_shop.E030``). Creating or moving a category past it
        is a 422.
        """
        value: int = getattr(settings, "NEXUS_SHOP_CATEGORY_MAX_DEPTH", DEFAULT_CATEGORY_MAX_DEPTH)
        return value

    @property
    def EXACT_COUNT_LIMIT(self) -> int:  # noqa: N802
        """Page-mode ``count`` (and facet counts) are exact up to this many matches.

        ``NEXUS_SHOP_EXACT_COUNT_LIMIT``, default 10,000. Past it, counting stops: ``count``
        is this limit and ``count_exact`` is false, so a broad filter over a million
        products does not pay for a full ``COUNT(*)`` on every page.
        """
        value: int = getattr(settings, "NEXUS_SHOP_EXACT_COUNT_LIMIT", 10_000)
        return value

    @property
    def PAGE_MODE_MAX_ITEMS(self) -> int:  # noqa: N802
        """How deep page mode reaches: ``page * page_size`` may not exceed this (422).

        ``NEXUS_SHOP_PAGE_MODE_MAX_ITEMS``, default 10,000. An ``OFFSET`` reads and throws
        away every row before the page; cursors (``next_cursor``) go any depth at the cost
        of one page.
        """
        value: int = getattr(settings, "NEXUS_SHOP_PAGE_MODE_MAX_ITEMS", 10_000)
        return value

    @property
    def SEARCH_RANK_WINDOW(self) -> int:  # noqa: N802
        """``ordering=relevance`` ranks at most this many matches (PostgreSQL).

        ``NEXUS_SHOP_SEARCH_RANK_WINDOW``, default 1,000: the first matches the index
        yields are ranked, and the list is those, best first. See the catalogue docs.
        """
        value: int = getattr(settings, "NEXUS_SHOP_SEARCH_RANK_WINDOW", 1_000)
        return value

    @property
    def FACET_PRICE_BUCKETS(self) -> tuple[Decimal, ...]:  # noqa: N802
        """Upper bounds of the price buckets of ``GET /products/facets``, ascending.

        ``NEXUS_SHOP_FACET_PRICE_BUCKETS``, default ``(10, 25, 50, 100, 250, 500, 1000)``:
        buckets ``[0, 10)``, ``[10, 25)`` ... ``[1000, ∞)``.
        """
        value = getattr(settings, "NEXUS_SHOP_FACET_PRICE_BUCKETS", DEFAULT_PRICE_BUCKETS)
        return tuple(Decimal(str(bound)) for bound in value)

    @property
    def AUTH(self) -> tuple[str, ...]:  # noqa: N802
        """Dotted paths of the ninja auth classes (or callables) that guard writes.

        ``NEXUS_SHOP_AUTH``, default ``("nexus_shop.security.JWTAuth",)`` (ninja-jwt's
        ``JWTAuth`` with the token's claims checked). Each must
        return the authenticated user (a ``django.contrib.auth`` user) or ``None``.
        """
        value = getattr(settings, "NEXUS_SHOP_AUTH", DEFAULT_AUTH)
        if isinstance(value, str):
            return (value,)
        return tuple(value)

    @property
    def REGISTRATION_ENABLED(self) -> bool:  # noqa: N802
        """Whether ``POST /auth/register`` is open.

        ``NEXUS_SHOP_REGISTRATION_ENABLED``, default True.
        """
        return bool(getattr(settings, "NEXUS_SHOP_REGISTRATION_ENABLED", True))

    @property
    def THROTTLE_RATES(self) -> dict[str, str | None]:  # noqa: N802
        """Rates such as ``"10/m"`` per scope; ``None`` switches one off.

        Scopes: ``register``, ``token`` (logins per client IP), ``login`` (failed logins
        per username and client IP), ``refresh``.

        ``NEXUS_SHOP_THROTTLE_RATES``; scopes the host leaves out keep their default.
        """
        value: dict[str, str | None] = getattr(settings, "NEXUS_SHOP_THROTTLE_RATES", {})
        return {**DEFAULT_THROTTLE_RATES, **value}

    @property
    def THROTTLE_CACHE(self) -> str:  # noqa: N802
        """Cache alias holding the throttle counters.

        ``NEXUS_SHOP_THROTTLE_CACHE``, default "default".
        """
        value: str = getattr(settings, "NEXUS_SHOP_THROTTLE_CACHE", "default")
        return value

    @property
    def TRUSTED_PROXY_COUNT(self) -> int:  # noqa: N802
        """How many reverse proxies in front of Django append to ``X-Forwarded-For``.

        ``NEXUS_SHOP_TRUSTED_PROXY_COUNT``, default 0: the client IP is ``REMOTE_ADDR``
        and ``X-Forwarded-For`` is ignored, so it cannot be spoofed.
        """
        value: int = getattr(settings, "NEXUS_SHOP_TRUSTED_PROXY_COUNT", 0)
        return value

    @property
    def HEALTH_CACHE(self) -> str:  # noqa: N802
        """Cache alias that ``GET /health`` probes.

        ``NEXUS_SHOP_HEALTH_CACHE``, default "default".
        """
        value: str = getattr(settings, "NEXUS_SHOP_HEALTH_CACHE", "default")
        return value

    @property
    def RESPONSE_CACHE(self) -> str | None:  # noqa: N802
        """Cache alias of the response cache for public reads; ``None`` (default) turns it off.

        ``NEXUS_SHOP_RESPONSE_CACHE``, e.g. ``"default"``. A Redis alias
        (``nexus_shop.cache.RedisCache`` or Django's) is used through redis-py directly and
        is exact across processes; any other backend works within one process only.
        """
        value: str | None = getattr(settings, "NEXUS_SHOP_RESPONSE_CACHE", None)
        return value

    @property
    def RESPONSE_CACHE_TIMEOUT(self) -> int:  # noqa: N802
        """Seconds an entry lives at most (memory bound; freshness comes from versions).

        ``NEXUS_SHOP_RESPONSE_CACHE_TIMEOUT``, default 3600.
        """
        value: int = getattr(settings, "NEXUS_SHOP_RESPONSE_CACHE_TIMEOUT", 3600)
        return value

    @property
    def RESPONSE_CACHE_URL_NAMESPACE(self) -> str:  # noqa: N802
        """URL namespace of the mounted API, to find the cached paths.

        ``NEXUS_SHOP_RESPONSE_CACHE_URL_NAMESPACE``, default "nexus_shop" (``create_api``'s).
        """
        value: str = getattr(settings, "NEXUS_SHOP_RESPONSE_CACHE_URL_NAMESPACE", "nexus_shop")
        return value

    @property
    def CDN_PURGE_BACKEND(self) -> str | None:  # noqa: N802
        """Dotted path of a purge backend class (see :mod:`nexus_shop.http_cache.purge`).

        ``NEXUS_SHOP_CDN_PURGE_BACKEND``, default ``None`` (no CDN). When set, public reads
        also carry ``s-maxage``, ``Surrogate-Control``, ``Surrogate-Key`` and ``Cache-Tag``.
        """
        value: str | None = getattr(settings, "NEXUS_SHOP_CDN_PURGE_BACKEND", None)
        return value

    @property
    def CDN_PURGE_OPTIONS(self) -> dict[str, Any]:  # noqa: N802
        """Keyword arguments for the purge backend. ``NEXUS_SHOP_CDN_PURGE_OPTIONS``, default {}."""
        value: dict[str, Any] = getattr(settings, "NEXUS_SHOP_CDN_PURGE_OPTIONS", {}) or {}
        return value

    @property
    def CDN_MAX_AGE(self) -> int:  # noqa: N802
        """Seconds a CDN keeps a public read (it is purged on change).

        ``NEXUS_SHOP_CDN_MAX_AGE``, default 86400.
        """
        value: int = getattr(settings, "NEXUS_SHOP_CDN_MAX_AGE", 86400)
        return value

    # Purchase path ------------------------------------------------------------------------

    @property
    def PURCHASE_ENABLED(self) -> bool:  # noqa: N802
        """Whether carts, checkout and orders exist at all.

        ``NEXUS_SHOP_PURCHASE_ENABLED``, default True. When False their endpoints answer 404
        and are left out of the OpenAPI document.
        """
        return bool(getattr(settings, "NEXUS_SHOP_PURCHASE_ENABLED", True))

    @property
    def ANONYMOUS_CART_TTL(self) -> timedelta:  # noqa: N802
        """Anonymous carts untouched this long are deleted by ``nexus_shop_prune_carts``.

        ``NEXUS_SHOP_ANONYMOUS_CART_TTL``, default 30 days.
        """
        value: timedelta = getattr(
            settings, "NEXUS_SHOP_ANONYMOUS_CART_TTL", DEFAULT_ANONYMOUS_CART_TTL
        )
        return value

    @property
    def IDEMPOTENCY_KEY_TTL(self) -> timedelta:  # noqa: N802
        """How long an ``Idempotency-Key`` and its stored answer are kept.

        ``NEXUS_SHOP_IDEMPOTENCY_KEY_TTL``, default 24 hours.
        """
        value: timedelta = getattr(
            settings, "NEXUS_SHOP_IDEMPOTENCY_KEY_TTL", DEFAULT_IDEMPOTENCY_KEY_TTL
        )
        return value

    @property
    def ORDER_PAYMENT_TIMEOUT(self) -> timedelta:  # noqa: N802
        """``pending_payment`` orders older than this are cancelled by
        ``nexus_shop_expire_orders`` (their stock returns).

        ``NEXUS_SHOP_ORDER_PAYMENT_TIMEOUT``, default 1 hour.
        """
        value: timedelta = getattr(
            settings, "NEXUS_SHOP_ORDER_PAYMENT_TIMEOUT", DEFAULT_ORDER_PAYMENT_TIMEOUT
        )
        return value

    @property
    def PAYMENT_PROVIDER(self) -> str:  # noqa: N802
        """Dotted path of the payment provider class (see :mod:`nexus_shop.payments`).

        ``NEXUS_SHOP_PAYMENT_PROVIDER``, default ``"nexus_shop.payments.ManualPayment"``.
        """
        value: str = getattr(settings, "NEXUS_SHOP_PAYMENT_PROVIDER", DEFAULT_PAYMENT_PROVIDER)
        return value

    @property
    def SHIPPING_CALCULATOR(self) -> str:  # noqa: N802
        """Dotted path of the shipping calculator (see :mod:`nexus_shop.pricing`).

        ``NEXUS_SHOP_SHIPPING_CALCULATOR``, default ``"nexus_shop.pricing.zero_shipping"``.
        """
        value: str = getattr(
            settings, "NEXUS_SHOP_SHIPPING_CALCULATOR", DEFAULT_SHIPPING_CALCULATOR
        )
        return value

    @property
    def TAX_CALCULATOR(self) -> str:  # noqa: N802
        """Dotted path of the tax calculator (see :mod:`nexus_shop.pricing`).

        ``NEXUS_SHOP_TAX_CALCULATOR``, default ``"nexus_shop.pricing.zero_tax"``.
        """
        value: str = getattr(settings, "NEXUS_SHOP_TAX_CALCULATOR", DEFAULT_TAX_CALCULATOR)
        return value

    @property
    def CHECKOUT_REQUIRED_FIELDS(self) -> tuple[str, ...]:  # noqa: N802
        """Which of ``"email"`` and ``"shipping_address"`` a checkout must send (else 422).

        ``NEXUS_SHOP_CHECKOUT_REQUIRED_FIELDS``, default ``()``.
        """
        value = getattr(settings, "NEXUS_SHOP_CHECKOUT_REQUIRED_FIELDS", ())
        if isinstance(value, str):
            return (value,)
        return tuple(value)

    # JWT lifetimes live with the rest of the JWT settings, in ninja-jwt's ``NINJA_JWT`` dict.
    # ninja-jwt freezes its own defaults (5 minutes / 1 day) at import; nexus_shop's tokens read
    # these properties on each use, with defaults of 10 minutes / 7 days.

    @property
    def NINJA_JWT(self) -> dict[str, Any]:  # noqa: N802
        """ninja-jwt's own settings dict (``NINJA_JWT``), as the host wrote it; ``{}`` if unset."""
        value: dict[str, Any] = getattr(settings, "NINJA_JWT", {}) or {}
        return value

    @property
    def ACCESS_TOKEN_LIFETIME(self) -> timedelta:  # noqa: N802
        """``NINJA_JWT["ACCESS_TOKEN_LIFETIME"]``, default 10 minutes."""
        value: timedelta = self.NINJA_JWT.get(
            "ACCESS_TOKEN_LIFETIME", DEFAULT_ACCESS_TOKEN_LIFETIME
        )
        return value

    @property
    def REFRESH_TOKEN_LIFETIME(self) -> timedelta:  # noqa: N802
        """``NINJA_JWT["REFRESH_TOKEN_LIFETIME"]``, default 7 days."""
        value: timedelta = self.NINJA_JWT.get(
            "REFRESH_TOKEN_LIFETIME", DEFAULT_REFRESH_TOKEN_LIFETIME
        )
        return value


conf = Settings()
