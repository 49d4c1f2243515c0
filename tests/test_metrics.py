"""The scrape view and the metrics it serves, read back with prometheus-client's parser.

Each test takes a scrape before and after doing something real (a request, a cache hit,
a checkout, a login) and asserts the difference, so it does not depend on what other
tests counted in this process. The two-worker sum is tests/heavy/test_metrics_processes.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from nexus_shop.breaker import Breaker
from nexus_shop.http_cache.engine import get_engine
from tests.conftest import bearer
from tests.factories import ProductFactory, UserFactory, WebhookEndpointFactory, emit_event
from tests.purchase.conftest import checkout, fill_cart, set_variant
from tests.support.webhook_receiver import Receiver
from tests.support.webhooks import deliver_due

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-tests-0123456789"
OBSERVED = [
    "nexus_shop.observability.ObservabilityMiddleware",
    "nexus_shop.http_cache.ResponseCacheMiddleware",
    *settings.MIDDLEWARE,
]
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(autouse=True)
def observed() -> Iterator[None]:
    with override_settings(
        MIDDLEWARE=OBSERVED, NEXUS_SHOP_METRICS_TOKEN=TOKEN, NEXUS_SHOP_RESPONSE_CACHE="default"
    ):
        engine = get_engine()
        assert engine is not None
        assert engine.store.flush()
        yield


def scrape() -> Samples:
    response = Client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def moved() -> Callable[..., Callable[..., float]]:
    """``delta = moved()`` then ``delta(name, **labels)``: how much it grew since."""

    def start() -> Callable[..., float]:
        before = scrape()

        def delta(name: str, **labels: str) -> float:
            return value(scrape(), name, **labels) - value(before, name, **labels)

        return delta

    return start


# The view's door -----------------------------------------------------------------------


def test_without_credentials_the_view_is_a_bare_404() -> None:
    response = Client().get("/metrics")
    assert response.status_code == 404
    assert response.content == b""
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "header", ["Bearer wrong", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "]
)
def test_a_wrong_token_gets_the_same_404(header: str) -> None:
    response = Client().get("/metrics", headers={"Authorization": header})
    assert response.status_code == 404
    assert response.content == b""


def test_with_no_token_set_nobody_scrapes() -> None:
    with override_settings(NEXUS_SHOP_METRICS_TOKEN=None):
        response = Client().get("/metrics", headers={"Authorization": "Bearer None"})
    assert response.status_code == 404


def test_an_allowed_network_scrapes_without_a_token() -> None:
    with override_settings(NEXUS_SHOP_METRICS_ALLOWED_NETWORKS=("127.0.0.0/8",)):
        assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
        assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 404
    # X-Forwarded-For is not believed without NEXUS_SHOP_TRUSTED_PROXY_COUNT.
    with override_settings(NEXUS_SHOP_METRICS_ALLOWED_NETWORKS=("10.0.0.0/8",)):
        forged = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.0.0.1")
        assert forged.get("/metrics").status_code == 404


def test_a_write_is_refused() -> None:
    response = Client().post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404


def test_build_info_names_the_versions() -> None:
    import nexus_shop

    samples = scrape()
    [labels] = [dict(k[1]) for k in samples if k[0] == "nexus_shop_build_info"]
    assert labels["version"] == nexus_shop.__version__
    assert {"django", "python"} <= set(labels)


# Requests ------------------------------------------------------------------------------


def test_requests_are_counted_by_operation_method_and_status_class(moved: Any) -> None:
    product = ProductFactory()
    delta = moved()
    anon = Client()
    anon.get(f"/api/products/{product.pk}")
    anon.get("/api/products/999999")
    assert (
        delta("nexus_shop_http_requests_total", operation="product_get", method="GET", status="2xx")
        == 1
    )
    assert (
        delta("nexus_shop_http_requests_total", operation="product_get", method="GET", status="4xx")
        == 1
    )
    assert (
        delta(
            "nexus_shop_http_request_duration_seconds_count", operation="product_get", method="GET"
        )
        == 2
    )
    assert delta("nexus_shop_db_queries_per_request_count", operation="product_get") == 2
    assert delta("nexus_shop_db_queries_per_request_sum", operation="product_get") >= 2


def test_a_client_cannot_choose_a_label(moved: Any) -> None:
    delta = moved()
    for path in ("/api/no/such/thing", "/api/products/1/x/y", "/nowhere", "/api/%0d%0a"):
        Client().get(path)
    Client().generic("BREW", "/api/products")
    assert (
        delta("nexus_shop_http_requests_total", operation="unmatched", method="GET", status="4xx")
        == 4
    )
    labels = {dict(key[1]).get("operation") for key in scrape()}
    assert not any(label and "/" in label for label in labels)
    assert not any(dict(key[1]).get("method") == "BREW" for key in scrape())


# The response cache --------------------------------------------------------------------


def test_cache_hits_misses_304s_and_stores_per_read_kind(moved: Any) -> None:
    product = ProductFactory()
    url = f"/api/products/{product.pk}"
    delta = moved()
    anon = Client()
    etag = anon.get(url)["ETag"]
    anon.get(url)
    anon.get(url, headers={"If-None-Match": etag})
    kind = "product-detail"
    assert delta("nexus_shop_response_cache_total", kind=kind, outcome="miss") == 1
    assert delta("nexus_shop_response_cache_total", kind=kind, outcome="store") == 1
    assert delta("nexus_shop_response_cache_total", kind=kind, outcome="hit") == 1
    assert delta("nexus_shop_response_cache_total", kind=kind, outcome="not_modified") == 1
    assert (
        delta("nexus_shop_http_requests_total", operation="product_get", method="GET", status="3xx")
        == 1
    )


def test_the_breaker_state_is_a_gauge_per_cache() -> None:
    breaker = Breaker("test", lambda: True, retry_after=60, cache="response_cache")
    breaker.trip()
    assert value(scrape(), "nexus_shop_cache_breaker_state", cache="response_cache") == 2
    breaker.flushed(breaker.token())
    assert value(scrape(), "nexus_shop_cache_breaker_state", cache="response_cache") == 0


def test_invalidations_are_counted(moved: Any, django_capture_on_commit_callbacks: Any) -> None:
    from nexus_shop import invalidation

    delta = moved()
    with django_capture_on_commit_callbacks(execute=True):
        invalidation.catalogue_changed()
    assert delta("nexus_shop_invalidations_total", result="succeeded") == 1


# Commerce --------------------------------------------------------------------------------


def test_checkouts_by_outcome(moved: Any, django_capture_on_commit_callbacks: Any) -> None:
    buyer = UserFactory()
    client = Client(headers=bearer(buyer))
    product = ProductFactory(stock=5)
    delta = moved()
    fill_cart(client, [(product.pk, 2)])
    assert checkout(client, key="k-1").status_code == 201
    assert checkout(client, key="k-1").status_code == 201  # the replay
    fill_cart(client, [(product.pk, 2)])
    set_variant(product, stock=1)
    assert checkout(client, key="k-2").status_code == 409
    assert client.post("/api/checkout", {}, content_type="application/json").status_code == 428
    assert delta("nexus_shop_checkouts_total", outcome="created") == 1
    assert delta("nexus_shop_checkouts_total", outcome="replayed") == 1
    assert delta("nexus_shop_checkouts_total", outcome="out_of_stock") == 1
    assert delta("nexus_shop_checkouts_total", outcome="key_missing") == 1


def test_order_transitions_are_counted_on_commit(
    moved: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from nexus_shop.services.orders import order_cancel

    buyer = UserFactory()
    client = Client(headers=bearer(buyer))
    fill_cart(client, [(ProductFactory(stock=5).pk, 1)])
    number = checkout(client).json()["number"]
    delta = moved()
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(number=number, user=buyer)
    assert delta("nexus_shop_order_transitions_total", status="cancelled") == 1


def test_logins_succeeded_failed_and_throttled(moved: Any) -> None:
    user = UserFactory(password="right-Passw0rd!")
    delta = moved()
    login = Client()

    def attempt(password: str) -> int:
        return login.post(
            "/api/auth/token",
            {"username": user.username, "password": password},
            content_type="application/json",
        ).status_code

    assert attempt("right-Passw0rd!") == 200
    assert attempt("wrong") == 401
    with override_settings(NEXUS_SHOP_THROTTLE_RATES={"token": "1000/m", "login": "1/m"}):
        statuses = [attempt("wrong") for _ in range(3)]
    assert 429 in statuses
    assert delta("nexus_shop_logins_total", outcome="succeeded") == 1
    assert delta("nexus_shop_logins_total", outcome="failed") == 1 + statuses.count(401)
    assert delta("nexus_shop_logins_total", outcome="throttled") == statuses.count(429)


def test_expired_carts_and_orders_are_counted(
    moved: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from nexus_shop.services.cart import carts_prune
    from nexus_shop.services.orders import orders_expire

    Client().post("/api/cart")  # an anonymous cart, soon stale
    buyer_client = Client(headers=bearer(UserFactory()))
    fill_cart(buyer_client, [(ProductFactory(stock=5).pk, 1)])
    assert checkout(buyer_client).status_code == 201  # pending payment
    delta = moved()
    later = timezone.now() + timedelta(days=365)
    with django_capture_on_commit_callbacks(execute=True):
        assert carts_prune(now=later) == 1
        assert orders_expire(now=later) == 1
    assert delta("nexus_shop_carts_expired_total") == 1
    assert delta("nexus_shop_orders_expired_total") == 1
    assert delta("nexus_shop_order_transitions_total", status="cancelled") == 1


def test_searches_are_timed_and_widened_ones_counted(moved: Any, is_postgres: bool) -> None:
    ProductFactory(name="Espresso cup")
    delta = moved()
    Client().get("/api/products", {"q": "espresso"})
    Client().get("/api/products", {"q": "espreso"})  # a typo
    Client().get("/api/products")  # no q: no search
    assert delta("nexus_shop_search_duration_seconds_count") == 2
    # Both match fewer than WIDEN_WHEN_FEWER_THAN products, so PostgreSQL widens both;
    # elsewhere a search is a substring match that never widens.
    assert delta("nexus_shop_searches_widened_total") == (2 if is_postgres else 0)


def test_webhook_deliveries_by_outcome_and_attempts_by_status_class(
    moved: Any, receiver: Receiver, unreachable_port: int
) -> None:
    WebhookEndpointFactory(url=receiver.url("/ok"))
    WebhookEndpointFactory(url=receiver.url("/status/503"))
    WebhookEndpointFactory(url=receiver.url("/status/404"))
    WebhookEndpointFactory(url=f"http://127.0.0.1:{unreachable_port}/")
    emit_event()
    delta = moved()
    deliver_due()
    assert delta("nexus_shop_webhook_deliveries_total", outcome="succeeded") == 1
    assert delta("nexus_shop_webhook_deliveries_total", outcome="retrying") == 2
    assert delta("nexus_shop_webhook_deliveries_total", outcome="failed") == 1
    for status in ("2xx", "4xx", "5xx", "error"):
        assert delta("nexus_shop_webhook_attempt_duration_seconds_count", status=status) == 1


def test_the_webhook_backlog_age_is_measured_at_each_scrape() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from nexus_shop.models import Event
    from nexus_shop.services.webhooks import delivery

    assert value(scrape(), "nexus_shop_webhook_backlog_age_seconds", queue="event") == 0
    event = emit_event()
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    samples = scrape()
    assert 600 <= value(samples, "nexus_shop_webhook_backlog_age_seconds", queue="event") < 700
    assert value(samples, "nexus_shop_webhook_backlog_age_seconds", queue="delivery") == 0

    WebhookEndpointFactory()  # never reachable: the delivery waits
    delivery.fan_out()
    samples = scrape()
    assert value(samples, "nexus_shop_webhook_backlog_age_seconds", queue="event") == 0
    # The event's age, not the delivery row's: how long the receiver has been waiting.
    assert 600 <= value(samples, "nexus_shop_webhook_backlog_age_seconds", queue="delivery") < 700
