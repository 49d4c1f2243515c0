"""System checks: ``nexus_shop.E001``... validate settings at start-up."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from nexus_shop.apps import MISSING_SIGNING_KEY_STAND_IN
from nexus_shop.conf import CATEGORY_DEPTH_LIMIT, conf
from nexus_shop.limits import MAX_PAGE_SIZE
from nexus_shop.throttling import parse_rate

_UNCHECKED_JWT_AUTH = {
    "ninja_jwt.authentication.JWTAuth",
    "ninja_jwt.authentication.AsyncJWTAuth",
}
_ALGORITHMS = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}


def _is_rate(rate: object) -> bool:
    """Whether the throttle can use ``rate``: asks its own parser, so the two never differ."""
    if not isinstance(rate, str):
        return False
    try:
        parse_rate(rate)
    except ValueError:
        return False
    return True


@register(Tags.compatibility)
def check_settings(**kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for path in conf.AUTH:
        try:
            import_string(path)
        except ImportError:
            errors.append(
                Error(
                    f"NEXUS_SHOP_AUTH names {path!r}, which cannot be imported.",
                    hint="Use dotted paths of ninja auth classes, e.g. "
                    "'nexus_shop.security.JWTAuth'.",
                    id="nexus_shop.E001",
                )
            )
    currency: object = conf.CURRENCY  # typed str, but a host can set anything
    if not (isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)):
        errors.append(
            Error(
                "NEXUS_SHOP_CURRENCY must be an ISO 4217 code such as 'USD', "
                f"not {conf.CURRENCY!r}.",
                id="nexus_shop.E002",
            )
        )
    rates: dict[str, object] = dict(conf.THROTTLE_RATES)
    for scope, rate in rates.items():
        if rate is not None and not _is_rate(rate):
            errors.append(
                Error(
                    f"NEXUS_SHOP_THROTTLE_RATES[{scope!r}] = {rate!r} is not a rate.",
                    hint="Use 'N/s', 'N/m', 'N/h' or 'N/d' (e.g. '10/m'), or None to switch off.",
                    id="nexus_shop.E003",
                )
            )
    count: object = conf.TRUSTED_PROXY_COUNT
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        errors.append(
            Error(
                f"NEXUS_SHOP_TRUSTED_PROXY_COUNT must be a whole number >= 0, not {count!r}.",
                id="nexus_shop.E004",
            )
        )
    depth: object = conf.CATEGORY_MAX_DEPTH
    if (
        isinstance(depth, bool)
        or not isinstance(depth, int)
        or not 1 <= depth <= CATEGORY_DEPTH_LIMIT
    ):
        errors.append(
            Error(
                f"NEXUS_SHOP_CATEGORY_MAX_DEPTH must be from 1 to {CATEGORY_DEPTH_LIMIT}, "
                f"not {depth!r}.",
                hint=f"A category's path (1,024 characters) holds at most "
                f"{CATEGORY_DEPTH_LIMIT} levels of ids.",
                id="nexus_shop.E030",
            )
        )
    page_size: object = conf.DEFAULT_PAGE_SIZE
    if not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        errors.append(
            Error(
                f"NEXUS_SHOP_DEFAULT_PAGE_SIZE must be from 1 to {MAX_PAGE_SIZE}, "
                f"not {page_size!r}.",
                id="nexus_shop.E005",
            )
        )
    return errors


def _whole_at_least_one(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


@register(Tags.compatibility)
def check_search_settings(**kwargs: Any) -> list[CheckMessage]:
    """Count, page-depth, ranking and facet limits (``nexus_shop.E050``-``E053``)."""
    errors: list[CheckMessage] = []
    if not _whole_at_least_one(conf.EXACT_COUNT_LIMIT):
        errors.append(
            Error(
                "NEXUS_SHOP_EXACT_COUNT_LIMIT must be a whole number >= 1, "
                f"not {conf.EXACT_COUNT_LIMIT!r}.",
                id="nexus_shop.E050",
            )
        )
    if not _whole_at_least_one(conf.PAGE_MODE_MAX_ITEMS):
        errors.append(
            Error(
                "NEXUS_SHOP_PAGE_MODE_MAX_ITEMS must be a whole number >= 1, "
                f"not {conf.PAGE_MODE_MAX_ITEMS!r}.",
                id="nexus_shop.E051",
            )
        )
    if not _whole_at_least_one(conf.SEARCH_RANK_WINDOW):
        errors.append(
            Error(
                "NEXUS_SHOP_SEARCH_RANK_WINDOW must be a whole number >= 1, "
                f"not {conf.SEARCH_RANK_WINDOW!r}.",
                id="nexus_shop.E052",
            )
        )
    try:
        bounds = conf.FACET_PRICE_BUCKETS
    except (TypeError, ValueError, ArithmeticError):
        bounds = ()
    if (
        not bounds
        or any(not bound.is_finite() or bound <= 0 for bound in bounds)
        or list(bounds) != sorted(set(bounds))
    ):
        errors.append(
            Error(
                "NEXUS_SHOP_FACET_PRICE_BUCKETS must be a non-empty, strictly ascending "
                "sequence of positive prices.",
                hint="e.g. (10, 25, 50, 100, 250, 500, 1000)",
                id="nexus_shop.E053",
            )
        )
    return errors


@register(Tags.security)
def check_jwt(**kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    jwt = conf.NINJA_JWT
    if not apps.is_installed("ninja_jwt.token_blacklist"):
        errors.append(
            Error(
                "'ninja_jwt.token_blacklist' is not in INSTALLED_APPS.",
                hint="nexus_shop rotates refresh tokens and blacklists the old ones; "
                "add the app and migrate.",
                id="nexus_shop.E010",
            )
        )
    if "SIGNING_KEY" in jwt:
        key = jwt["SIGNING_KEY"]
        if key == MISSING_SIGNING_KEY_STAND_IN or not isinstance(key, str) or not key.strip():
            errors.append(
                Error(
                    "NINJA_JWT['SIGNING_KEY'] is None or empty: the JWT signing key is not set.",
                    hint="Give it a long random string of its own (not SECRET_KEY), e.g. "
                    'NINJA_JWT = {"SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY")} '
                    "with the environment variable JWT_SIGNING_KEY set to the output of "
                    'python -c "import secrets; print(secrets.token_urlsafe(50))".',
                    id="nexus_shop.E012",
                )
            )
    algorithm = jwt.get("ALGORITHM", "HS256")
    if algorithm not in _ALGORITHMS:
        errors.append(
            Error(
                f"NINJA_JWT['ALGORITHM'] = {algorithm!r} is not an allowed signing algorithm.",
                hint=f"Pin one of {sorted(_ALGORITHMS)}.",
                id="nexus_shop.E011",
            )
        )
    for path in conf.AUTH:
        if path in _UNCHECKED_JWT_AUTH:
            errors.append(
                Warning(
                    f"NEXUS_SHOP_AUTH names {path!r}, which trusts a signed token's claims: "
                    "a user_id of true or 1.0 is looked up as user 1, an exp of 1e20 is a 500.",
                    hint="Use 'nexus_shop.security.JWTAuth' (the same, with the claims checked).",
                    id="nexus_shop.W030",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def check_jwt_deploy(**kwargs: Any) -> list[CheckMessage]:
    jwt = conf.NINJA_JWT
    key = jwt.get("SIGNING_KEY")
    if not key or key == settings.SECRET_KEY:
        return [
            Warning(
                "NINJA_JWT['SIGNING_KEY'] is unset or equal to SECRET_KEY.",
                hint="Give JWTs their own signing key, so rotating one secret does not "
                "rotate (or leak) the other.",
                id="nexus_shop.W001",
            )
        ]
    return []


def auth_tables() -> set[str]:
    """Tables holding users, their permissions and their token state (for ``E020``)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group, Permission

    user = get_user_model()
    tables = {user._meta.db_table, Permission._meta.db_table, Group._meta.db_table}
    for model in (user, Group):
        for field in model._meta.many_to_many:
            through = field.remote_field.through
            if through is not None:
                tables.add(through._meta.db_table)
    if apps.is_installed("ninja_jwt.token_blacklist"):
        for name in ("OutstandingToken", "BlacklistedToken"):
            tables.add(apps.get_model("token_blacklist", name)._meta.db_table)
    return tables


def _cached_by_cachalot(tables: Iterable[str]) -> list[str]:
    """Which of ``tables`` django-cachalot would cache (none when it is not installed)."""
    if not apps.is_installed("cachalot"):
        return []
    from cachalot.settings import cachalot_settings

    uncached: set[str] = set(cachalot_settings.CACHALOT_UNCACHABLE_TABLES)
    only: set[str] = set(cachalot_settings.CACHALOT_ONLY_CACHABLE_TABLES)
    return sorted(t for t in tables if t not in uncached and (not only or t in only))


@register(Tags.caches)
def check_cachalot(**kwargs: Any) -> list[CheckMessage]:
    """Auth tables must never be served from cachalot's cache (a revoked token could return)."""
    cached = _cached_by_cachalot(auth_tables())
    if cached:
        return [
            Error(
                f"django-cachalot caches the auth tables {', '.join(cached)}.",
                hint="Add them to CACHALOT_UNCACHABLE_TABLES (or their apps to "
                "CACHALOT_UNCACHABLE_APPS), so a revoked token or permission is never "
                "read back from the cache.",
                id="nexus_shop.E020",
            )
        ]
    return []


@register(Tags.caches)
def check_throttle_cache(**kwargs: Any) -> list[CheckMessage]:
    """The throttle fails open on cache errors, so a wrong alias would switch it off silently."""
    alias = conf.THROTTLE_CACHE
    caches: dict[str, Any] = getattr(settings, "CACHES", {}) or {}
    if alias not in caches:
        return [
            Error(
                f"NEXUS_SHOP_THROTTLE_CACHE names the cache {alias!r}, which is not in CACHES.",
                hint="Name a configured cache alias; otherwise every throttle check fails "
                "open and nothing is rate-limited.",
                id="nexus_shop.E006",
            )
        ]
    if caches[alias].get("BACKEND") == "django.core.cache.backends.dummy.DummyCache":
        return [
            Warning(
                f"NEXUS_SHOP_THROTTLE_CACHE {alias!r} is a DummyCache: the auth endpoints "
                "are not rate-limited.",
                hint="Use a cache shared by every process (Redis, memcached).",
                id="nexus_shop.W002",
            )
        ]
    return []


@register(Tags.caches)
def check_http_cache(**kwargs: Any) -> list[CheckMessage]:
    """The response cache's alias and the CDN purge backend (``nexus_shop.E040``/``E041``)."""
    errors: list[CheckMessage] = []
    alias: object = conf.RESPONSE_CACHE
    caches: dict[str, Any] = getattr(settings, "CACHES", {}) or {}
    if alias is not None and (not isinstance(alias, str) or alias not in caches):
        errors.append(
            Error(
                f"NEXUS_SHOP_RESPONSE_CACHE names the cache {alias!r}, which is not in CACHES.",
                hint="Name a configured cache alias (Redis for more than one process), "
                "or None to switch the response cache off.",
                id="nexus_shop.E040",
            )
        )
    path: object = conf.CDN_PURGE_BACKEND
    if path is not None:
        from nexus_shop.http_cache.purge import PurgeBackend

        problem = None
        try:
            backend = import_string(path) if isinstance(path, str) else None
        except ImportError:
            backend = None
        if backend is None:
            problem = "cannot be imported"
        elif not (isinstance(backend, type) and issubclass(backend, PurgeBackend)):
            problem = "is not a nexus_shop.http_cache.purge.PurgeBackend subclass"
        if problem:
            errors.append(
                Error(
                    f"NEXUS_SHOP_CDN_PURGE_BACKEND {path!r} {problem}.",
                    hint="Use e.g. 'nexus_shop.http_cache.purge.VarnishPurge', or your own "
                    "PurgeBackend subclass.",
                    id="nexus_shop.E041",
                )
            )
    return errors


_PLUGGABLE = (
    ("NEXUS_SHOP_PAYMENT_PROVIDER", "PAYMENT_PROVIDER", "a payment provider class"),
    ("NEXUS_SHOP_SHIPPING_CALCULATOR", "SHIPPING_CALCULATOR", "a shipping calculator"),
    ("NEXUS_SHOP_TAX_CALCULATOR", "TAX_CALCULATOR", "a tax calculator"),
)
_DURATIONS = (
    ("NEXUS_SHOP_ANONYMOUS_CART_TTL", "ANONYMOUS_CART_TTL"),
    ("NEXUS_SHOP_IDEMPOTENCY_KEY_TTL", "IDEMPOTENCY_KEY_TTL"),
    ("NEXUS_SHOP_ORDER_PAYMENT_TIMEOUT", "ORDER_PAYMENT_TIMEOUT"),
)


@register(Tags.compatibility)
def check_purchase_settings(**kwargs: Any) -> list[CheckMessage]:
    """The purchase path's pluggable parts import, its durations are positive."""
    from datetime import timedelta

    from nexus_shop.conf import CHECKOUT_FIELDS

    errors: list[CheckMessage] = []
    for name, attribute, what in _PLUGGABLE:
        path: object = getattr(conf, attribute)
        try:
            loaded = import_string(path) if isinstance(path, str) else None
        except ImportError:
            loaded = None
        if not callable(loaded):
            errors.append(
                Error(
                    f"{name} = {path!r} does not name {what} that can be imported.",
                    hint="Give the dotted path of a class or function, e.g. "
                    "'nexus_shop.pricing.zero_tax' (see the settings page of the docs).",
                    id="nexus_shop.E040",
                )
            )
    for name, attribute in _DURATIONS:
        value: object = getattr(conf, attribute)
        if not isinstance(value, timedelta) or value <= timedelta(0):
            errors.append(
                Error(
                    f"{name} must be a positive datetime.timedelta, not {value!r}.",
                    id="nexus_shop.E042",
                )
            )
    unknown = sorted(set(conf.CHECKOUT_REQUIRED_FIELDS) - set(CHECKOUT_FIELDS))
    if unknown:
        errors.append(
            Error(
                f"NEXUS_SHOP_CHECKOUT_REQUIRED_FIELDS names unknown fields {unknown}.",
                hint=f"Choose from {list(CHECKOUT_FIELDS)}.",
                id="nexus_shop.E043",
            )
        )
    return errors


@register(Tags.caches)
def check_cachalot_purchase(**kwargs: Any) -> list[CheckMessage]:
    """Carts, orders and idempotency records must never come from cachalot's cache.

    A cached cart or order read could show another moment's stock or status, and a cached
    idempotency record could let a retry place a second order.
    """
    from nexus_shop.models.orders import purchase_tables

    cached = _cached_by_cachalot(purchase_tables())
    if cached:
        return [
            Error(
                f"django-cachalot caches the purchase tables {', '.join(cached)}.",
                hint="Add them to CACHALOT_UNCACHABLE_TABLES (nexus_shop.models.orders."
                "purchase_tables() lists them), so carts, orders and idempotency records "
                "are always read from the database.",
                id="nexus_shop.E041",
            )
        ]
    return []
