"""nexus_shop's Prometheus metrics: every instrument, defined once, with bounded labels.

The code that sees an event counts it here (the response cache its hits, checkout its
outcomes, the breaker its state); :mod:`nexus_shop.metrics` serves them to a scraper.
Labels only ever take values from a fixed set written in the code: an operation id, a
read kind, a method, a status class, an outcome. Never a path, an id or a query, so a
client cannot grow the series.

With ``PROMETHEUS_MULTIPROC_DIR`` set before the workers start, prometheus-client keeps
each process's values in files there and a scrape of any worker sums them (counters and
histograms), or takes the worst live value (the breaker state: ``livemax``, since a
breaker state is not a sum).

The hot path (a response-cache hit, ~150 µs) pays for one counter and one histogram
observation: the labelled children are looked up once per label set
(:func:`_child`), not on each request.
"""

from __future__ import annotations

import platform
from typing import Any, TypeVar

import django
from prometheus_client import Counter, Gauge, Histogram

import nexus_shop

_M = TypeVar("_M")

# Seconds: from a cache hit (~0.15 ms) to a slow search; the bounds a dashboard's p99 needs.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
QUERY_BUCKETS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144)
STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "nexus_shop_http_requests",
    "Requests answered, by OpenAPI operation id, method and status class.",
    ["operation", "method", "status"],
)
HTTP_DURATION = Histogram(
    "nexus_shop_http_request_duration_seconds",
    "Time from the request entering nexus_shop's middleware to the answer, by operation.",
    ["operation", "method"],
    buckets=LATENCY_BUCKETS,
)
DB_QUERIES = Histogram(
    "nexus_shop_db_queries_per_request",
    "SQL statements one request ran, by operation.",
    ["operation"],
    buckets=QUERY_BUCKETS,
)
RESPONSE_CACHE = Counter(
    "nexus_shop_response_cache",
    "Response-cache lookups and stores by read kind; outcome is hit, not_modified (a hit "
    "answered 304), miss or store.",
    ["kind", "outcome"],
)
INVALIDATIONS = Counter(
    "nexus_shop_invalidations",
    "Committed changes sent to the caches' listeners; result is succeeded or failed.",
    ["result"],
)
CDN_PURGES = Counter(
    "nexus_shop_cdn_purges", "CDN purge requests; result is succeeded or failed.", ["result"]
)
BREAKER_STATE = Gauge(
    "nexus_shop_cache_breaker_state",
    "The Redis breaker of each cache: 0 closed and clean, 1 dirty (to flush before reuse), "
    "2 open (Redis skipped). Across processes: the worst live one.",
    ["cache"],
    multiprocess_mode="livemax",
)
SEARCH_DURATION = Histogram(
    "nexus_shop_search_duration_seconds",
    "Time a product search (q=...) took in the database.",
    buckets=LATENCY_BUCKETS,
)
SEARCHES_WIDENED = Counter(
    "nexus_shop_searches_widened",
    "Searches that found too few products and were widened (name substrings, typo fixes).",
)
CHECKOUTS = Counter(
    "nexus_shop_checkouts",
    "Checkouts by outcome: created, out_of_stock (409), replayed (same Idempotency-Key), "
    "key_missing (428), failed (any other error).",
    ["outcome"],
)
ORDER_TRANSITIONS = Counter(
    "nexus_shop_order_transitions", "Orders that entered each status.", ["status"]
)
CARTS_EXPIRED = Counter("nexus_shop_carts_expired", "Anonymous carts deleted when stale.")
ORDERS_EXPIRED = Counter(
    "nexus_shop_orders_expired", "Orders cancelled for waiting too long for payment."
)
LOGINS = Counter(
    "nexus_shop_logins", "Login attempts: succeeded, failed or throttled.", ["outcome"]
)
WEBHOOK_DELIVERIES = Counter(
    "nexus_shop_webhook_deliveries",
    "Webhook delivery attempts by what they led to: succeeded, retrying (pending again), "
    "failed (an answer no retry changes), given_up (the retry schedule spent), lease_lost "
    "(another worker had taken it over), released (not sent: the worker was stopping).",
    ["outcome"],
)
WEBHOOK_ATTEMPT_DURATION = Histogram(
    "nexus_shop_webhook_attempt_duration_seconds",
    "Time of one webhook POST, resolving the host to the last byte read, by the answer's "
    "status class (error: no answer, e.g. refused, timed out).",
    ["status"],
    buckets=LATENCY_BUCKETS,
)
WEBHOOK_BACKLOG_AGE = Gauge(
    "nexus_shop_webhook_backlog_age_seconds",
    "Age of the oldest committed event not yet fanned out (queue=event), and of the oldest "
    "event still to reach an enabled endpoint, pending or retrying (queue=delivery); 0 when "
    "none waits. Computed from the database at each scrape.",
    ["queue"],
    multiprocess_mode="mostrecent",
)
BUILD_INFO = Gauge(
    "nexus_shop_build_info",
    "Always 1; the labels say which versions run.",
    ["version", "django", "python"],
    multiprocess_mode="livemax",
)
BUILD_INFO.labels(nexus_shop.__version__, django.get_version(), platform.python_version()).set(1)

_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def _child(metric: _M, *labels: str) -> _M:
    """``metric.labels(*labels)``, looked up once per label set (it takes a lock)."""
    key = (id(metric), labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)  # type: ignore[attr-defined]  # every metric given here has labels
    return found  # type: ignore[no-any-return]  # the child is of the metric's own type


def status_class(status: int) -> str:
    return STATUS_CLASSES.get(status // 100, "other")


def request_done(*, operation: str, method: str, status: int, seconds: float, queries: int) -> None:
    """One answered request. ``operation`` must be a bounded name (see observability)."""
    method = method if method in METHODS else "other"
    _child(HTTP_REQUESTS, operation, method, status_class(status)).inc()
    _child(HTTP_DURATION, operation, method).observe(seconds)
    _child(DB_QUERIES, operation).observe(queries)


def response_cache(kind: str, outcome: str) -> None:
    _child(RESPONSE_CACHE, kind, outcome).inc()


def count(metric: Counter, *labels: str, amount: float = 1) -> None:
    (_child(metric, *labels) if labels else metric).inc(amount)


def webhook_attempt(*, status: int | None, seconds: float) -> None:
    """One webhook POST: its answer's status (None when none came) and its duration."""
    _child(WEBHOOK_ATTEMPT_DURATION, "error" if status is None else status_class(status)).observe(
        seconds
    )


def webhook_backlog(*, event_seconds: float, delivery_seconds: float) -> None:
    _child(WEBHOOK_BACKLOG_AGE, "event").set(event_seconds)
    _child(WEBHOOK_BACKLOG_AGE, "delivery").set(delivery_seconds)


def breaker_state(cache: str, state: int) -> None:
    _child(BREAKER_STATE, cache).set(state)
