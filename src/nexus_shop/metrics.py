"""The Prometheus scrape view: ``path("metrics", nexus_shop.metrics.view)`` in the host's URLconf.

Not public: a scraper sends ``Authorization: Bearer <NEXUS_SHOP_METRICS_TOKEN>``, or
comes from one of ``NEXUS_SHOP_METRICS_ALLOWED_NETWORKS`` (the client address the login
throttle uses). Anything else gets a bare 404, the same whether the token was missing or
wrong, so a stranger learns nothing, not even that the view exists. With neither setting,
the view answers 404 to everyone.

Under several worker processes (``PROMETHEUS_MULTIPROC_DIR`` set before they start), the
scrape of any worker reports all of them: prometheus-client's ``MultiProcessCollector``
sums the counters and histograms of every process, and gives the gauges their declared
mode (see :mod:`nexus_shop.instruments`).

The webhook backlog gauge is measured by the scrape itself, from the database (two small
aggregates), so it shows a growing backlog even when no worker runs.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import os

from django.db import DatabaseError, transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from nexus_shop import instruments
from nexus_shop.conf import conf
from nexus_shop.selectors.webhook_backlog import webhook_backlog_ages
from nexus_shop.throttling import client_ip

__all__ = ["view"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    # An invalid entry is reported by the system check nexus_shop.E070 and skipped here.
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            continue
    return tuple(networks)


def allowed(request: HttpRequest) -> bool:
    """Whether ``request`` may scrape: the right bearer token, or an allowed network."""
    token = conf.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    scheme, _, sent = header.partition(" ")
    if token and scheme.lower() == "bearer" and hmac.compare_digest(sent.encode(), token.encode()):
        return True
    networks = _networks(conf.METRICS_ALLOWED_NETWORKS)
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    return any(address in network for network in networks)


def registry() -> CollectorRegistry:
    """The process's registry, or every worker's under ``PROMETHEUS_MULTIPROC_DIR``."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)  # type: ignore[no-untyped-call]  # untyped in prometheus-client
        return combined
    return REGISTRY


def _measure_backlog() -> None:
    """Set the webhook backlog gauge from the database, now (a scrape-time gauge: the
    workers may all be down, which is when it matters). On a database error the last
    value stays."""
    try:
        with transaction.atomic():
            ages = webhook_backlog_ages()
    except DatabaseError:
        return
    instruments.webhook_backlog(event_seconds=ages.event, delivery_seconds=ages.delivery)


@csrf_exempt
def view(request: HttpRequest) -> HttpResponse:
    """The metrics in Prometheus's text format, for an allowed scraper; else a bare 404."""
    if request.method not in ("GET", "HEAD") or not allowed(request):
        refused = HttpResponse(status=404)
        refused["Cache-Control"] = "no-store"
        return refused
    _measure_backlog()
    response = HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response
