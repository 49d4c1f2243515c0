"""Checks of the response cache: its cache alias and the CDN purge backend."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, register
from django.utils.module_loading import import_string

from nexus_shop.checks.ids import CheckId
from nexus_shop.conf import conf


@register(Tags.caches)
def check_http_cache(**kwargs: Any) -> list[CheckMessage]:
    """The response cache's alias and the CDN purge backend (``nexus_shop.E040``/``E041``)."""
    errors: list[CheckMessage] = []
    alias: object = conf.RESPONSE_CACHE
    caches: dict[str, Any] = getattr(settings, "CACHES", {}) or {}
    if alias is not None and (not isinstance(alias, str) or alias not in caches):
        errors.append(
            CheckId.RESPONSE_CACHE.message(
                f"NEXUS_SHOP_RESPONSE_CACHE names the cache {alias!r}, which is not in CACHES.",
                hint="Name a configured cache alias (Redis for more than one process), "
                "or None to switch the response cache off.",
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
                CheckId.CDN_PURGE_BACKEND.message(
                    f"NEXUS_SHOP_CDN_PURGE_BACKEND {path!r} {problem}.",
                    hint="Use e.g. 'nexus_shop.http_cache.purge.VarnishPurge', or your own "
                    "PurgeBackend subclass.",
                )
            )
    return errors
