"""Every ``NEXUS_SHOP_*`` setting, typed and defaulted.

Values are read from ``django.conf.settings`` on each access, never cached, so
``override_settings`` works in tests and nothing is read at import time.
Validation lives in :mod:`nexus_shop.checks` (system checks ``nexus_shop.E0xx``).

Every default is in one table, :data:`DEFAULTS`. Text that states a default renders it
from there (:func:`described`, :func:`default_text`) instead of copying the figure.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, TypeVar

from django.conf import settings

_S = TypeVar("_S")

# A category's ``path`` ("/1/5/12/", varchar 1024) spends at most 20 characters a level
# (a 19-digit id and a "/"): 51 levels always fit, whatever the ids.
CATEGORY_DEPTH_LIMIT = (1024 - 1) // 20
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
    # The event outbox and webhook deliveries: workers claim rows with SKIP LOCKED, and a
    # cached read of them would redeliver or lose events.
    "nexus_shop_eventstream",
    "nexus_shop_event",
    "nexus_shop_webhookendpoint",
    "nexus_shop_webhookdelivery",
    "nexus_shop_webhookattempt",
)
# The apps whose tables a query cache must never answer from: users, groups and
# permissions (``auth``) and refresh-token state (``token_blacklist``), so that a revoked
# token or permission stops working at once (nexus_shop.E020), and the logins and the
# content types permissions point at. A host's settings say
# ``CACHALOT_UNCACHABLE_APPS = [*UNCACHABLE_APPS]`` (plus apps of its own). E020 itself
# checks the auth tables from the models, since a custom user model lives in an app of the
# host's that no fixed list can name.
UNCACHABLE_APPS = ("auth", "token_blacklist", "contenttypes", "sessions")

# The one table of defaults, by setting name without its ``NEXUS_SHOP_`` prefix. The typed
# properties of :class:`Settings` read it, and so does every text that states a default
# (their docstrings, OpenAPI descriptions: :func:`described`), as django-cors-headers
# keeps its defaults in one place.
DEFAULTS: Final[Mapping[str, Any]] = MappingProxyType(
    {
        "CURRENCY": "USD",
        "DEFAULT_PAGE_SIZE": 20,
        "CATEGORY_MAX_DEPTH": 32,
        "EXACT_COUNT_LIMIT": 10_000,
        "PAGE_MODE_MAX_ITEMS": 10_000,
        "SEARCH_RANK_WINDOW": 1_000,
        "FACET_PRICE_BUCKETS": (10, 25, 50, 100, 250, 500, 1000),
        "AUTH": ("nexus_shop.security.JWTAuth",),
        "REGISTRATION_ENABLED": True,
        "THROTTLE_RATES": MappingProxyType(
            {"register": "10/m", "token": "10/m", "login": "20/h", "refresh": "10/m"}
        ),
        "THROTTLE_CACHE": "default",
        "TRUSTED_PROXY_COUNT": 0,
        "HEALTH_CACHE": "default",
        "RESPONSE_CACHE": None,
        "RESPONSE_CACHE_TIMEOUT": 3600,
        "RESPONSE_CACHE_URL_NAMESPACE": "nexus_shop",
        "CDN_PURGE_BACKEND": None,
        "CDN_PURGE_OPTIONS": MappingProxyType({}),
        "CDN_MAX_AGE": 86400,
        "PURCHASE_ENABLED": True,
        "ANONYMOUS_CART_TTL": timedelta(days=30),
        "IDEMPOTENCY_KEY_TTL": timedelta(hours=24),
        "ORDER_PAYMENT_TIMEOUT": timedelta(hours=1),
        "PAYMENT_PROVIDER": "nexus_shop.payments.ManualPayment",
        "SHIPPING_CALCULATOR": "nexus_shop.pricing.zero_shipping",
        "TAX_CALCULATOR": "nexus_shop.pricing.zero_tax",
        "CHECKOUT_REQUIRED_FIELDS": (),
        "IMAGE_STORAGE": "default",
        "MAX_IMAGE_BYTES": 10 * 1024 * 1024,
        "MAX_IMAGE_PIXELS": 40_000_000,
        "IMAGE_SIZES": MappingProxyType({"thumb": 160, "card": 480, "large": 1200}),
        "SLOW_QUERY_MS": 200,
        "ACCESS_LOG_HITS_EVERY": 100,
        "METRICS_TOKEN": None,
        "METRICS_ALLOWED_NETWORKS": (),
        "TRACING": False,
        "WEBHOOK_ALLOW_HTTP": False,
        "WEBHOOK_ALLOWED_NETWORKS": (),
        "WEBHOOK_MAX_ENDPOINTS": 20,
        "WEBHOOK_RETRY_SCHEDULE": (
            timedelta(seconds=5),
            timedelta(minutes=5),
            timedelta(minutes=30),
            timedelta(hours=2),
            timedelta(hours=5),
            timedelta(hours=10),
            timedelta(hours=6),
        ),
        "WEBHOOK_DISABLE_AFTER": timedelta(days=5),
        "WEBHOOK_CONNECT_TIMEOUT": 2.0,
        "WEBHOOK_TIMEOUT": 10.0,
        "WEBHOOK_SECRET_OVERLAP": timedelta(hours=24),
        "WEBHOOK_RETENTION_DAYS": 30,
        "WEBHOOK_FAILED_RETENTION_DAYS": 90,
        "READ_REPLICAS": (),
        "READ_REPLICA_CACHE": "default",
    }
)
# ninja-jwt's keys that nexus_shop reads with defaults of its own (ninja-jwt's are frozen
# at import, 5 minutes and 1 day), in the host's ``NINJA_JWT`` dict.
NINJA_JWT_DEFAULTS: Final[Mapping[str, timedelta]] = MappingProxyType(
    {
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=10),
        "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    }
)


def _duration_text(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return str(value)  # pragma: no cover  (whole seconds always divide)


def _text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, timedelta):
        return _duration_text(value)
    if isinstance(value, MappingProxyType):
        return repr(dict(value))
    return repr(value)


def default_text(name: str) -> str:
    """The default of ``NEXUS_SHOP_<name>`` as prose states it.

    ``10,000``, ``'USD'``, ``30 days``, ``None``, ``(10, 25, 50, 100, 250, 500, 1000)``.
    """
    return _text(DEFAULTS[name])


def described(name: str) -> str:
    """How a description names a setting: ``NEXUS_SHOP_EXACT_COUNT_LIMIT (default 10,000)``."""
    return f"NEXUS_SHOP_{name} (default {default_text(name)})"


def _setting(name: str) -> Any:
    return getattr(settings, f"NEXUS_SHOP_{name}", DEFAULTS[name])


def _with_defaults(cls: type[_S]) -> type[_S]:
    """End each setting's docstring with its name and its default, from :data:`DEFAULTS`."""
    for name in DEFAULTS:
        prop = vars(cls)[name]
        text = f"``NEXUS_SHOP_{name}``, default {default_text(name)}."
        doc = inspect.cleandoc(prop.__doc__ or "")
        setattr(cls, name, property(prop.fget, doc=f"{doc}\n\n{text}" if doc else text))
    for key, value in NINJA_JWT_DEFAULTS.items():
        prop = vars(cls)[key]
        text = f'``NINJA_JWT["{key}"]``, default {_text(value)}.'
        setattr(cls, key, property(prop.fget, doc=f"{inspect.cleandoc(prop.__doc__)}\n\n{text}"))
    return cls


@_with_defaults
class Settings:
    """Typed, lazy accessors. Use the module-level ``conf`` instance.

    Each reads its ``NEXUS_SHOP_*`` setting on access, else its default from
    :data:`DEFAULTS`; each docstring ends with the setting's name and that default.
    """

    @property
    def CURRENCY(self) -> str:  # noqa: N802  (mirrors the setting's name)
        """The shop's one currency, an ISO 4217 code."""
        value: str = _setting("CURRENCY")
        return value

    @property
    def DEFAULT_PAGE_SIZE(self) -> int:  # noqa: N802
        """Page size when the client sends none."""
        value: int = _setting("DEFAULT_PAGE_SIZE")
        return value

    @property
    def CATEGORY_MAX_DEPTH(self) -> int:  # noqa: N802
        """How many levels the category tree may have (a root category is level 1).

        At most :data:`CATEGORY_DEPTH_LIMIT`, what the materialised ``path`` can hold
        (check ``nexus_shop.E030``). Creating or moving a category past it is a 422.
        """
        value: int = _setting("CATEGORY_MAX_DEPTH")
        return value

    @property
    def EXACT_COUNT_LIMIT(self) -> int:  # noqa: N802
        """Page-mode ``count`` (and facet counts) are exact up to this many matches.

        Past it, counting stops: ``count`` is this limit and ``count_exact`` is false, so a
        broad filter over a million products does not pay for a full ``COUNT(*)`` on every
        page.
        """
        value: int = _setting("EXACT_COUNT_LIMIT")
        return value

    @property
    def PAGE_MODE_MAX_ITEMS(self) -> int:  # noqa: N802
        """How deep page mode reaches: ``page * page_size`` may not exceed this (422).

        An ``OFFSET`` reads and throws away every row before the page; cursors
        (``next_cursor``) go any depth at the cost of one page.
        """
        value: int = _setting("PAGE_MODE_MAX_ITEMS")
        return value

    @property
    def SEARCH_RANK_WINDOW(self) -> int:  # noqa: N802
        """``ordering=relevance`` ranks at most this many matches (PostgreSQL).

        The first matches the index yields are ranked, and the list is those, best first.
        See the catalogue docs.
        """
        value: int = _setting("SEARCH_RANK_WINDOW")
        return value

    @property
    def FACET_PRICE_BUCKETS(self) -> tuple[Decimal, ...]:  # noqa: N802
        """Upper bounds of the price buckets of ``GET /products/facets``, ascending.

        Bounds ``(10, 25)`` make the buckets ``[0, 10)``, ``[10, 25)`` and ``[25, ∞)``.
        """
        return tuple(Decimal(str(bound)) for bound in _setting("FACET_PRICE_BUCKETS"))

    @property
    def IMAGE_STORAGE(self) -> str:  # noqa: N802
        """The alias in Django's ``STORAGES`` that product images are stored through.

        Any backend works (``FileSystemStorage``, django-storages' S3 or GCS). Cached
        answers embed the images' URLs, so the storage must hand out lasting public URLs
        (a public bucket or a CDN domain), not expiring signed ones (check
        ``nexus_shop.W050``).
        """
        value: str = _setting("IMAGE_STORAGE")
        return value

    @property
    def MAX_IMAGE_BYTES(self) -> int:  # noqa: N802
        """The largest image upload accepted, in bytes (413 past it)."""
        value: int = _setting("MAX_IMAGE_BYTES")
        return value

    @property
    def MAX_IMAGE_PIXELS(self) -> int:  # noqa: N802
        """The most pixels (width times height) an uploaded image may have (422 past it)."""
        value: int = _setting("MAX_IMAGE_PIXELS")
        return value

    @property
    def IMAGE_SIZES(self) -> dict[str, int]:  # noqa: N802
        """Thumbnail names and their longest side in pixels; each image gets one WebP of each.

        Never upscaled: an image smaller than a size keeps its own dimensions there.
        """
        return dict(_setting("IMAGE_SIZES"))

    @property
    def AUTH(self) -> tuple[str, ...]:  # noqa: N802
        """Dotted paths of the ninja auth classes (or callables) that guard writes.

        The default is ninja-jwt's ``JWTAuth`` with the token's claims checked. Each must
        return the authenticated user (a ``django.contrib.auth`` user) or ``None``.
        """
        value = _setting("AUTH")
        if isinstance(value, str):
            return (value,)
        return tuple(value)

    @property
    def REGISTRATION_ENABLED(self) -> bool:  # noqa: N802
        """Whether ``POST /auth/register`` is open."""
        return bool(_setting("REGISTRATION_ENABLED"))

    @property
    def THROTTLE_RATES(self) -> dict[str, str | None]:  # noqa: N802
        """Rates such as ``"10/m"`` per scope; ``None`` switches one off.

        Scopes: ``register``, ``token`` (logins per client IP), ``login`` (failed logins
        per username and client IP), ``refresh``. Scopes the host leaves out keep their
        default.
        """
        value: Mapping[str, str | None] = getattr(settings, "NEXUS_SHOP_THROTTLE_RATES", {})
        return {**DEFAULTS["THROTTLE_RATES"], **value}

    @property
    def THROTTLE_CACHE(self) -> str:  # noqa: N802
        """Cache alias holding the throttle counters."""
        value: str = _setting("THROTTLE_CACHE")
        return value

    @property
    def TRUSTED_PROXY_COUNT(self) -> int:  # noqa: N802
        """How many reverse proxies in front of Django append to ``X-Forwarded-For``.

        With no proxy counted, the client IP is ``REMOTE_ADDR`` and ``X-Forwarded-For`` is
        ignored, so it cannot be spoofed.
        """
        value: int = _setting("TRUSTED_PROXY_COUNT")
        return value

    @property
    def READ_REPLICAS(self) -> tuple[str, ...]:  # noqa: N802
        """``DATABASES`` aliases of streaming replicas that nexus_shop's reads may use,
        through ``nexus_shop.db_router.ReplicaRouter`` (docs/replicas.md); empty: every
        query goes to ``default``."""
        return tuple(_setting("READ_REPLICAS"))

    @property
    def READ_REPLICA_CACHE(self) -> str:  # noqa: N802
        """Cache alias (a Redis one) where the router records each client's last commit
        LSN, so that read-your-writes holds across processes."""
        value: str = _setting("READ_REPLICA_CACHE")
        return value

    @property
    def HEALTH_CACHE(self) -> str:  # noqa: N802
        """Cache alias that ``GET /health`` probes."""
        value: str = _setting("HEALTH_CACHE")
        return value

    @property
    def RESPONSE_CACHE(self) -> str | None:  # noqa: N802
        """Cache alias of the response cache for public reads (e.g. ``"default"``); ``None``
        turns it off.

        A Redis alias (``nexus_shop.cache.RedisCache`` or Django's) is used through
        redis-py directly and is exact across processes; any other backend works within
        one process only.
        """
        value: str | None = _setting("RESPONSE_CACHE")
        return value

    @property
    def RESPONSE_CACHE_TIMEOUT(self) -> int:  # noqa: N802
        """Seconds an entry lives at most (memory bound; freshness comes from stamps)."""
        value: int = _setting("RESPONSE_CACHE_TIMEOUT")
        return value

    @property
    def RESPONSE_CACHE_URL_NAMESPACE(self) -> str:  # noqa: N802
        """URL namespace of the mounted API, to find the cached paths (``create_api``'s)."""
        value: str = _setting("RESPONSE_CACHE_URL_NAMESPACE")
        return value

    @property
    def CDN_PURGE_BACKEND(self) -> str | None:  # noqa: N802
        """Dotted path of a purge backend class (see :mod:`nexus_shop.http_cache.purge`).

        ``None`` means no CDN. When set, public reads also carry ``s-maxage``,
        ``Surrogate-Control``, ``Surrogate-Key`` and ``Cache-Tag``.
        """
        value: str | None = _setting("CDN_PURGE_BACKEND")
        return value

    @property
    def CDN_PURGE_OPTIONS(self) -> dict[str, Any]:  # noqa: N802
        """Keyword arguments for the purge backend."""
        return dict(_setting("CDN_PURGE_OPTIONS") or {})

    @property
    def CDN_MAX_AGE(self) -> int:  # noqa: N802
        """Seconds a CDN keeps a public read (it is purged on change)."""
        value: int = _setting("CDN_MAX_AGE")
        return value

    # Purchase path ------------------------------------------------------------------------

    @property
    def PURCHASE_ENABLED(self) -> bool:  # noqa: N802
        """Whether carts, checkout and orders exist at all.

        When False their endpoints answer 404 and are left out of the OpenAPI document.
        """
        return bool(_setting("PURCHASE_ENABLED"))

    @property
    def ANONYMOUS_CART_TTL(self) -> timedelta:  # noqa: N802
        """Anonymous carts untouched this long are deleted by ``nexus_shop_prune_carts``."""
        value: timedelta = _setting("ANONYMOUS_CART_TTL")
        return value

    @property
    def IDEMPOTENCY_KEY_TTL(self) -> timedelta:  # noqa: N802
        """How long an ``Idempotency-Key`` and its stored answer are kept."""
        value: timedelta = _setting("IDEMPOTENCY_KEY_TTL")
        return value

    @property
    def ORDER_PAYMENT_TIMEOUT(self) -> timedelta:  # noqa: N802
        """``pending_payment`` orders older than this are cancelled by
        ``nexus_shop_expire_orders`` (their stock returns).
        """
        value: timedelta = _setting("ORDER_PAYMENT_TIMEOUT")
        return value

    @property
    def PAYMENT_PROVIDER(self) -> str:  # noqa: N802
        """Dotted path of the payment provider class (see :mod:`nexus_shop.payments`)."""
        value: str = _setting("PAYMENT_PROVIDER")
        return value

    @property
    def SHIPPING_CALCULATOR(self) -> str:  # noqa: N802
        """Dotted path of the shipping calculator (see :mod:`nexus_shop.pricing`)."""
        value: str = _setting("SHIPPING_CALCULATOR")
        return value

    @property
    def TAX_CALCULATOR(self) -> str:  # noqa: N802
        """Dotted path of the tax calculator (see :mod:`nexus_shop.pricing`)."""
        value: str = _setting("TAX_CALCULATOR")
        return value

    @property
    def CHECKOUT_REQUIRED_FIELDS(self) -> tuple[str, ...]:  # noqa: N802
        """Which of ``"email"`` and ``"shipping_address"`` a checkout must send (else 422)."""
        value = _setting("CHECKOUT_REQUIRED_FIELDS")
        if isinstance(value, str):
            return (value,)
        return tuple(value)

    # Operations ------------------------------------------------------------------------------

    @property
    def SLOW_QUERY_MS(self) -> int | None:  # noqa: N802
        """SQL statements that take at least this many milliseconds are logged (a warning on
        ``nexus_shop.db``, with the request id and the operation); ``None`` logs none.
        """
        value: int | None = _setting("SLOW_QUERY_MS")
        return value

    @property
    def ACCESS_LOG_HITS_EVERY(self) -> int:  # noqa: N802
        """Log one response-cache hit in this many on ``nexus_shop.access`` (sampled, per
        process; the record says ``sampled``); ``1`` logs every hit, ``0`` none.

        Every other request is logged. A hit costs ~150 µs, and a log record ~10 µs: the
        sampling keeps the access log off the hot path. The metrics count every hit.
        """
        value: int = _setting("ACCESS_LOG_HITS_EVERY")
        return value

    @property
    def METRICS_TOKEN(self) -> str | None:  # noqa: N802
        """The bearer token a scraper sends to ``nexus_shop.metrics.view``
        (``Authorization: Bearer <token>``); ``None``: no token opens it.
        """
        value: str | None = _setting("METRICS_TOKEN")
        return value

    @property
    def METRICS_ALLOWED_NETWORKS(self) -> tuple[str, ...]:  # noqa: N802
        """Networks (``"10.0.0.0/8"``, ``"127.0.0.1/32"``) whose clients may scrape
        ``nexus_shop.metrics.view`` without a token; the client address is the one the
        login throttle uses (``NEXUS_SHOP_TRUSTED_PROXY_COUNT``).
        """
        return tuple(_setting("METRICS_ALLOWED_NETWORKS") or ())

    @property
    def TRACING(self) -> bool:  # noqa: N802
        """Whether OpenTelemetry traces are on (the ``nexus-shop[otel]`` extra): the host's
        ``nexus_shop.tracing.instrument()`` instruments Django and psycopg, and nexus_shop
        opens its own spans. Off, :mod:`nexus_shop.tracing` never imports OpenTelemetry.
        """
        value: bool = _setting("TRACING")
        return value

    # Webhooks (nexus_shop.services.webhooks, docs/webhooks.md).

    @property
    def WEBHOOK_ALLOW_HTTP(self) -> bool:  # noqa: N802
        """Whether an endpoint URL may be plain ``http`` (otherwise ``https`` only)."""
        value: bool = _setting("WEBHOOK_ALLOW_HTTP")
        return value

    @property
    def WEBHOOK_ALLOWED_NETWORKS(self) -> tuple[str, ...]:  # noqa: N802
        """CIDRs a webhook may reach although they are loopback, private, link-local or
        reserved (every such address is refused otherwise, when an endpoint is saved and at
        each delivery)."""
        value: tuple[str, ...] = tuple(_setting("WEBHOOK_ALLOWED_NETWORKS"))
        return value

    @property
    def WEBHOOK_MAX_ENDPOINTS(self) -> int:  # noqa: N802
        """How many webhook endpoints may exist (a 422 past it)."""
        value: int = _setting("WEBHOOK_MAX_ENDPOINTS")
        return value

    @property
    def WEBHOOK_RETRY_SCHEDULE(self) -> tuple[timedelta, ...]:  # noqa: N802
        """The wait before each retry of a failed delivery (each with up to 20% jitter).
        A delivery is given up once the schedule is spent (about 24 hours by default)."""
        value: tuple[timedelta, ...] = tuple(_setting("WEBHOOK_RETRY_SCHEDULE"))
        return value

    @property
    def WEBHOOK_DISABLE_AFTER(self) -> timedelta:  # noqa: N802
        """An endpoint that has failed every delivery for this long is disabled."""
        value: timedelta = _setting("WEBHOOK_DISABLE_AFTER")
        return value

    @property
    def WEBHOOK_CONNECT_TIMEOUT(self) -> float:  # noqa: N802
        """Seconds to connect to a receiver."""
        value: float = _setting("WEBHOOK_CONNECT_TIMEOUT")
        return value

    @property
    def WEBHOOK_TIMEOUT(self) -> float:  # noqa: N802
        """Seconds for a whole delivery attempt, connect to last byte read."""
        value: float = _setting("WEBHOOK_TIMEOUT")
        return value

    @property
    def WEBHOOK_SECRET_OVERLAP(self) -> timedelta:  # noqa: N802
        """After a rotation, how long the old secret keeps signing next to the new one."""
        value: timedelta = _setting("WEBHOOK_SECRET_OVERLAP")
        return value

    @property
    def WEBHOOK_RETENTION_DAYS(self) -> int:  # noqa: N802
        """Days a succeeded delivery (and its attempts) is kept; then pruned."""
        value: int = _setting("WEBHOOK_RETENTION_DAYS")
        return value

    @property
    def WEBHOOK_FAILED_RETENTION_DAYS(self) -> int:  # noqa: N802
        """Days a failed or given-up delivery is kept; events outlive their deliveries."""
        value: int = _setting("WEBHOOK_FAILED_RETENTION_DAYS")
        return value

    # JWT lifetimes live with the rest of the JWT settings, in ninja-jwt's ``NINJA_JWT`` dict.
    # ninja-jwt freezes its own defaults at import; nexus_shop's tokens read these properties
    # on each use, with the defaults of NINJA_JWT_DEFAULTS.

    @property
    def NINJA_JWT(self) -> dict[str, Any]:  # noqa: N802
        """ninja-jwt's own settings dict (``NINJA_JWT``), as the host wrote it; ``{}`` if unset."""
        value: dict[str, Any] = getattr(settings, "NINJA_JWT", {}) or {}
        return value

    @property
    def ACCESS_TOKEN_LIFETIME(self) -> timedelta:  # noqa: N802
        """How long an access token is valid."""
        key = "ACCESS_TOKEN_LIFETIME"
        value: timedelta = self.NINJA_JWT.get(key, NINJA_JWT_DEFAULTS[key])
        return value

    @property
    def REFRESH_TOKEN_LIFETIME(self) -> timedelta:  # noqa: N802
        """How long a refresh token is valid."""
        key = "REFRESH_TOKEN_LIFETIME"
        value: timedelta = self.NINJA_JWT.get(key, NINJA_JWT_DEFAULTS[key])
        return value


conf = Settings()
