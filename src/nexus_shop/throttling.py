"""Fixed-window throttles for the auth endpoints, kept in a Django cache.

One counter per scope, identity and window: ``cache.add(key, 0)`` opens the window (it
expires with it), ``cache.incr(key)`` counts. ``incr`` is atomic on Redis, memcached and
the local-memory cache, so concurrent requests are counted exactly. A request is refused
when any of its identities (client IP, username, ...) is over the limit, with
:class:`~nexus_shop.exceptions.Throttled` carrying the seconds until that window ends.

The throttle **fails open**: when the cache raises (Redis down, a backend without
``incr``), the request is let through and a warning is logged. Locking every user out
because the cache is down would be worse than a minute without rate limits.

Rates come from :attr:`nexus_shop.conf.Settings.THROTTLE_RATES` (``"10/m"``, ``None`` =
off); counters live in the cache alias :attr:`~nexus_shop.conf.Settings.THROTTLE_CACHE`.

Why not ``ninja.throttling``: its throttles count per client IP or per authenticated user,
while a login or registration must also be counted per *username sent in the body* (so
guessing one account's password from many addresses is stopped) and a refresh per token
and per the user a signed token names; and they keep a DRF-style history list with
``cache.get`` then ``cache.set``, which concurrent requests undercount, where
``cache.incr`` here counts atomically.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.core.cache import caches
from django.http import HttpRequest, HttpResponse

from nexus_shop import instruments
from nexus_shop.conf import conf
from nexus_shop.exceptions import Throttled

logger = logging.getLogger("nexus_shop.throttling")

__all__ = ["check", "client_ip", "login_idents", "parse_rate", "refund", "throttle_login_view"]

_PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"10/m"`` -> ``(10, 60)``: requests allowed per window, window length in seconds.

    Raises ``ValueError`` for anything else; system check ``nexus_shop.E003`` calls this
    same parser, so a rate the check accepts is one the throttle can use.
    """
    count, _, period = rate.partition("/")
    if not (count.isascii() and count.isdigit()) or period not in _PERIODS:
        raise ValueError(f"{rate!r} is not a rate such as '10/m'.")
    return int(count), _PERIODS[period]


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The client's address, as far as it can be trusted.

    ``REMOTE_ADDR`` unless ``NEXUS_SHOP_TRUSTED_PROXY_COUNT`` is N > 0; then the Nth entry
    from the right of ``X-Forwarded-For``, the one the outermost trusted proxy appended.
    Entries left of it are whatever the client sent and are never used, so a forged header
    cannot change the identity a request is counted under. A header shorter than N (the
    request bypassed a proxy) or an entry that is not an IP address falls back to
    ``REMOTE_ADDR``.
    """
    remote = str(request.META.get("REMOTE_ADDR") or "unknown")
    proxies = conf.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
    if len(entries) < proxies:
        return remote
    return _valid_ip(entries[-proxies]) or remote


def _digest(value: str) -> str:
    # Keys stay short and printable whatever the client sends (memcached refuses spaces).
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _count(key: str, *, timeout: int) -> int:
    cache = caches[conf.THROTTLE_CACHE]
    cache.add(key, 0, timeout=timeout)
    return int(cache.incr(key))


def _key(scope: str, kind: str, value: str, window: int) -> str:
    return f"nexus_shop:throttle:{scope}:{kind}:{_digest(value)}:{window}"


def check(scope: str, idents: Iterable[tuple[str, str]]) -> None:
    """Count one request under each ``(kind, value)`` identity of ``scope``.

    Raises :class:`Throttled` when one of them went over ``THROTTLE_RATES[scope]`` in the
    current window. Every identity is counted even when an earlier one is already over, so
    a client cannot dodge one counter by tripping another.
    """
    rate = conf.THROTTLE_RATES.get(scope)
    if rate is None:
        return
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    retry_after = math.ceil((window + 1) * period - now) or 1
    over = False
    for kind, value in idents:
        key = _key(scope, kind, value, window)
        try:
            count = _count(key, timeout=period + 1)
        except Exception:  # any cache failure: fail open (see the module doc)
            logger.warning("Throttle cache unavailable; not throttling %s", scope, exc_info=True)
            return
        if count > limit:
            over = True
    if over:
        raise Throttled(
            f"Too many requests. Try again in {retry_after} seconds.", retry_after=retry_after
        )


def refund(scope: str, idents: Iterable[tuple[str, str]]) -> None:
    """Take back the request :func:`check` just counted under each identity of ``scope``.

    Counting every attempt, then refunding the ones that succeeded, counts failures
    without a race: concurrent attempts are each counted before any of them is judged.
    A refund that misses (the window ended meanwhile, the cache is down) is dropped.
    """
    rate = conf.THROTTLE_RATES.get(scope)
    if rate is None:
        return
    _, period = parse_rate(rate)
    window = int(time.time() // period)
    cache = caches[conf.THROTTLE_CACHE]
    for kind, value in idents:
        try:
            cache.decr(_key(scope, kind, value, window))
        except Exception:  # a new window (the key is gone) or a cache failure: nothing to undo
            logger.debug("Throttle refund dropped for %s", scope, exc_info=True)


@contextlib.contextmanager
def login_counted() -> Iterator[None]:
    """Count the login attempt inside: throttled (429), failed (401, or any other error)
    or succeeded (nexus_shop_logins)."""
    outcome = "failed"
    try:
        yield
        outcome = "succeeded"
    except Throttled:
        outcome = "throttled"
        raise
    finally:
        instruments.count(instruments.LOGINS, outcome)


def login_idents(
    request: HttpRequest, username: str
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The identities a login attempt is counted under: ``(token scope, login scope)``.

    ``token``: the client IP, every attempt. ``login``: the username *and* the client IP,
    failed attempts only (see :func:`refund`), so failures from other addresses never lock
    the account's owner out.
    """
    ip = client_ip(request)
    return [("ip", ip)], [("username_ip", f"{username.casefold()}\n{ip}")]


def throttle_login_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Throttle a Django login view (``admin.site.login``...) like ``POST /auth/token``.

    The same scopes and counters: a POST is refused with a 429 (``Retry-After``, plain
    text) when its client IP is over the ``token`` rate or its username and IP are over the
    ``login`` rate. A login that succeeds (the user is authenticated afterwards) is not
    counted as a failure. In a host's URLconf, before ``admin.site.urls``::

        path("admin/login/", throttle_login_view(admin.site.login)),
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        per_ip, failures = login_idents(request, str(request.POST.get("username", "")))
        try:
            check("token", per_ip)
            check("login", failures)
        except Throttled as error:
            instruments.count(instruments.LOGINS, "throttled")
            refused = HttpResponse(error.message, status=429, content_type="text/plain")
            refused["Retry-After"] = str(error.retry_after)
            return refused
        response = view(request, *args, **kwargs)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            refund("login", failures)
            instruments.count(instruments.LOGINS, "succeeded")
        else:
            instruments.count(instruments.LOGINS, "failed")
        return response

    return wrapper
