"""CDN purges: on every committed catalogue change, purge the surrogate keys it touched.

Public reads carry ``Surrogate-Key`` (Varnish, Fastly) and ``Cache-Tag`` (Cloudflare)
headers when a backend is configured: ``catalogue`` on all of them, ``product-list`` /
``category-list`` on lists (and on category details, whose product counts follow list
membership), ``product-<id>`` and ``category-<id>`` for each row a response shows.

Configure one backend by dotted path (system check ``nexus_shop.E041``)::

    NEXUS_SHOP_CDN_PURGE_BACKEND = "nexus_shop.http_cache.purge.VarnishPurge"
    NEXUS_SHOP_CDN_PURGE_OPTIONS = {"servers": ["http://varnish:6081"]}

A backend is a :class:`PurgeBackend` subclass whose ``purge(keys)`` is called after the
commit, in the request that wrote. It should be quick and must not raise for a CDN that
is down (log instead): the write has committed either way.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
from collections.abc import Sequence
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from django.utils.module_loading import import_string

from nexus_shop import instruments, invalidation, tracing
from nexus_shop.conf import conf

logger = logging.getLogger("nexus_shop.http_cache.purge")

_SAFE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class PurgeBackend:
    """Purges surrogate keys from a CDN or reverse proxy. Subclass and implement :meth:`purge`."""

    def purge(self, keys: Sequence[str]) -> None:
        """Purge every cached response tagged with any of ``keys``."""
        raise NotImplementedError


def _request(
    url: str,
    *,
    method: str,
    headers: dict[str, str],
    body: bytes | None = None,
    timeout: float,
) -> int:
    """One HTTP request; the status code. Errors are logged and answered as 0."""
    parts = urlsplit(url)
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        connection.request(method, parts.path or "/", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        status = response.status
    except OSError as exc:
        logger.error("CDN purge %s %s failed: %s", method, url, exc)
        instruments.count(instruments.CDN_PURGES, "failed")
        return 0
    finally:
        connection.close()
    if status >= 400:
        logger.error("CDN purge %s %s answered %s", method, url, status)
    instruments.count(instruments.CDN_PURGES, "failed" if status >= 400 else "succeeded")
    return status


class VarnishPurge(PurgeBackend):
    """Varnish, by ``BAN`` on the ``Surrogate-Key`` header (no vmod needed).

    Each server gets ``BAN /`` with ``X-Purge-Keys: product-42 product-list``; the VCL
    shipped in ``example_project/varnish/nexus_shop.vcl`` turns that into a ban on
    responses whose ``Surrogate-Key`` holds any of the keys, and refuses ``BAN`` from
    clients outside its ``purgers`` ACL.
    """

    def __init__(self, *, servers: Sequence[str], timeout: float = 2.0) -> None:
        self.servers = list(servers)
        self.timeout = timeout

    def purge(self, keys: Sequence[str]) -> None:
        keys = [key for key in keys if _SAFE_KEY.match(key)]
        if not keys:
            return
        for server in self.servers:
            _request(
                server.rstrip("/") + "/",
                method="BAN",
                headers={"X-Purge-Keys": " ".join(keys)},
                timeout=self.timeout,
            )


class FastlyPurge(PurgeBackend):
    """Fastly's purge by surrogate key (``POST /service/<id>/purge``, up to 256 keys a call)."""

    def __init__(
        self,
        *,
        service_id: str,
        api_token: str,
        api_url: str = "https://api.fastly.com",
        soft: bool = False,
        timeout: float = 5.0,
    ) -> None:
        self.url = f"{api_url.rstrip('/')}/service/{service_id}/purge"
        self.api_token = api_token
        self.soft = soft
        self.timeout = timeout

    def purge(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 256):
            headers = {"Fastly-Key": self.api_token, "Surrogate-Key": " ".join(keys[start:][:256])}
            if self.soft:
                headers["Fastly-Soft-Purge"] = "1"
            _request(self.url, method="POST", headers=headers, timeout=self.timeout)


class CloudflarePurge(PurgeBackend):
    """Cloudflare's purge by cache tag (``POST /zones/<id>/purge_cache``, 30 tags a call)."""

    def __init__(
        self,
        *,
        zone_id: str,
        api_token: str,
        api_url: str = "https://api.cloudflare.com/client/v4",
        timeout: float = 5.0,
    ) -> None:
        self.url = f"{api_url.rstrip('/')}/zones/{zone_id}/purge_cache"
        self.api_token = api_token
        self.timeout = timeout

    def purge(self, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 30):
            body = json.dumps({"tags": list(keys[start:][:30])}).encode()
            _request(
                self.url,
                method="POST",
                headers={
                    "Authorization": f"Bearer {self.api_token}",
                    "Content-Type": "application/json",
                },
                body=body,
                timeout=self.timeout,
            )


@cache
def _backend(path: str, options: str) -> PurgeBackend:
    backend: Any = import_string(path)
    instance: PurgeBackend = backend(**json.loads(options))
    return instance


def get_backend() -> PurgeBackend | None:
    """The configured backend (``NEXUS_SHOP_CDN_PURGE_BACKEND``), or ``None``."""
    path = conf.CDN_PURGE_BACKEND
    if not path:
        return None
    return _backend(path, json.dumps(conf.CDN_PURGE_OPTIONS, sort_keys=True))


def on_change(change: invalidation.Change) -> None:
    """The invalidation listener: purge the keys of ``change`` (after the commit)."""
    backend = get_backend()
    if backend is None:
        return
    from nexus_shop.http_cache.deps import purge_keys

    keys = purge_keys(change)
    if keys:
        with tracing.span("cdn.purge", backend=type(backend).__name__, keys=len(keys)) as span:
            try:
                backend.purge(keys)
            except Exception:
                # The built-in backends count each request they send; a backend that raises
                # counts as one failed purge (the dispatcher logs it).
                instruments.count(instruments.CDN_PURGES, "failed")
                span.set("outcome", "failed")
                raise
            span.set("outcome", "sent")
