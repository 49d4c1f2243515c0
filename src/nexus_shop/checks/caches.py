"""Checks of the caches: what django-cachalot must not cache, and the throttle's cache."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Tags, register

from nexus_shop.breaker import valid_retry_after
from nexus_shop.checks.ids import CheckId
from nexus_shop.conf import PURCHASE_TABLES, UNCACHABLE_APPS, conf


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


def _cached_tables_error(
    check: CheckId, what: str, tables: Iterable[str], hint: str
) -> list[CheckMessage]:
    cached = _cached_by_cachalot(tables)
    if not cached:
        return []
    return [
        check.message(f"django-cachalot caches the {what} tables {', '.join(cached)}.", hint=hint)
    ]


@register(Tags.caches)
def check_cachalot(**kwargs: Any) -> list[CheckMessage]:
    """Auth tables must never be served from cachalot's cache (a revoked token could return)."""
    return _cached_tables_error(
        CheckId.CACHALOT_AUTH,
        "auth",
        auth_tables(),
        hint="Add their apps to CACHALOT_UNCACHABLE_APPS, e.g. CACHALOT_UNCACHABLE_APPS = "
        f"[*nexus_shop.conf.UNCACHABLE_APPS] ({', '.join(UNCACHABLE_APPS)}), or the tables "
        "to CACHALOT_UNCACHABLE_TABLES, so a revoked token or permission is never read back "
        "from the cache.",
    )


@register(Tags.caches)
def check_cachalot_purchase(**kwargs: Any) -> list[CheckMessage]:
    """Carts, orders and idempotency records must never come from cachalot's cache.

    A cached cart or order read could show another moment's stock or status, and a cached
    idempotency record could let a retry place a second order. The tables are
    :data:`nexus_shop.conf.PURCHASE_TABLES`, the constant a host's settings list.
    """
    return _cached_tables_error(
        CheckId.CACHALOT_PURCHASE,
        "purchase",
        PURCHASE_TABLES,
        hint="Add them to CACHALOT_UNCACHABLE_TABLES, e.g. "
        "CACHALOT_UNCACHABLE_TABLES = [*nexus_shop.conf.PURCHASE_TABLES], so carts, "
        "orders and idempotency records are always read from the database.",
    )


@register(Tags.caches)
def check_throttle_cache(**kwargs: Any) -> list[CheckMessage]:
    """The throttle fails open on cache errors, so a wrong alias would switch it off silently."""
    alias = conf.THROTTLE_CACHE
    caches: dict[str, Any] = getattr(settings, "CACHES", {}) or {}
    if alias not in caches:
        return [
            CheckId.THROTTLE_CACHE.message(
                f"NEXUS_SHOP_THROTTLE_CACHE names the cache {alias!r}, which is not in CACHES.",
                hint="Name a configured cache alias; otherwise every throttle check fails "
                "open and nothing is rate-limited.",
            )
        ]
    if caches[alias].get("BACKEND") == "django.core.cache.backends.dummy.DummyCache":
        return [
            CheckId.THROTTLE_DUMMY_CACHE.message(
                f"NEXUS_SHOP_THROTTLE_CACHE {alias!r} is a DummyCache: the auth endpoints "
                "are not rate-limited.",
                hint="Use a cache shared by every process (Redis, memcached).",
            )
        ]
    return []


RETRY_AFTER_BACKEND = "nexus_shop.cache.RedisCache"


def _takes_retry_after(backend: object) -> bool:
    """True if ``backend`` is nexus_shop's Redis backend (or a subclass): the one that reads it."""
    if backend == RETRY_AFTER_BACKEND:
        return True
    if not isinstance(backend, str):
        return False
    try:
        from django.utils.module_loading import import_string

        from nexus_shop.cache import RedisCache

        found = import_string(backend)
    except ImportError:  # a backend that cannot be imported: Django's own checks say so
        return False
    return isinstance(found, type) and issubclass(found, RedisCache)


@register(Tags.caches)
def check_retry_after(**kwargs: Any) -> list[CheckMessage]:
    """``OPTIONS["RETRY_AFTER"]``: a finite number >= 0, given to nexus_shop's backend only.

    A wrong value would otherwise be replaced by the default (with a warning) at run time;
    any other backend does not know the option (Django's RedisCache hands it to redis-py,
    which fails on the first cache call).
    """
    caches: dict[str, Any] = getattr(settings, "CACHES", {}) or {}
    errors: list[CheckMessage] = []
    for alias, config in caches.items():
        options = config.get("OPTIONS") or {}
        if "RETRY_AFTER" not in options:
            continue
        value = options["RETRY_AFTER"]
        backend = config.get("BACKEND")
        if not _takes_retry_after(backend):
            errors.append(
                CheckId.RETRY_AFTER.message(
                    f"CACHES[{alias!r}] gives OPTIONS['RETRY_AFTER'] to {backend!r}, which "
                    "does not take it.",
                    hint=f"Only {RETRY_AFTER_BACKEND} reads RETRY_AFTER; remove it, or use "
                    "that backend.",
                )
            )
        elif not valid_retry_after(value):
            errors.append(
                CheckId.RETRY_AFTER.message(
                    f"CACHES[{alias!r}]['OPTIONS']['RETRY_AFTER'] is {value!r}, not a finite "
                    "number of seconds >= 0.",
                    hint="Give a number of seconds, such as 5 (the default).",
                )
            )
    return errors
