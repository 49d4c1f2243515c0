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
