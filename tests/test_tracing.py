"""OpenTelemetry traces: nexus_shop's own spans, read back with the SDK's in-memory exporter.

The span tests need the ``otel`` extra (``nox -s tests`` installs it) and skip cleanly
without it. Tracing off is tested whatever is installed: in a fresh process, nothing
imports OpenTelemetry, and the span helpers are the shared no-op.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings
from django.test import Client, override_settings

from nexus_shop import invalidation, tracing
from nexus_shop.http_cache import PurgeBackend, purge
from nexus_shop.http_cache.engine import get_engine
from tests.conftest import bearer
from tests.factories import ProductFactory, UserFactory, WebhookEndpointFactory, emit_event
from tests.purchase.conftest import checkout, fill_cart, set_variant
from tests.support import processes
from tests.support.webhook_receiver import Receiver
from tests.support.webhooks import deliver_due

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

OBSERVED = [
    "nexus_shop.observability.ObservabilityMiddleware",
    "nexus_shop.http_cache.ResponseCacheMiddleware",
    *settings.MIDDLEWARE,
]


# Off --------------------------------------------------------------------------------------

OFF_PROBE = """
import importlib, pkgutil, sys
import django
django.setup()
import nexus_shop
from django.test import Client
for module in pkgutil.walk_packages(nexus_shop.__path__, "nexus_shop."):
    if ".migrations" not in module.name:
        importlib.import_module(module.name)
from nexus_shop import tracing
assert tracing.instrument() is False
assert tracing.span("search", read_kind="x") is tracing.NO_SPAN
assert Client().get("/api/health/live").status_code == 200
tracing.uninstrument()
print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
"""


def test_off_nothing_imports_opentelemetry() -> None:
    # A fresh process: this one may have imported OpenTelemetry for the tests below.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "DATABASE_URL": ""}
    env.pop("NEXUS_SHOP_TRACING", None)
    result = processes.run(sys.executable, "-c", OFF_PROBE, env=env)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_off_a_span_is_the_shared_no_op() -> None:
    with tracing.span("checkout", lines=3) as span:
        span.set("outcome", "created")
    assert span is tracing.NO_SPAN


def test_on_without_the_extra_spans_are_no_ops(monkeypatch: pytest.MonkeyPatch) -> None:
    # Check E072 reports it at start-up; a request must still never fail for it.
    monkeypatch.setattr(tracing, "_usable_memo", [False])
    with override_settings(NEXUS_SHOP_TRACING=True):
        assert tracing.span("search") is tracing.NO_SPAN


def test_on_without_the_extra_instrument_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # find_spec: not installed
    assert not tracing.available()
    with (
        override_settings(NEXUS_SHOP_TRACING=True),
        pytest.raises(ImproperlyConfigured, match=r"nexus-shop\[otel\]"),
    ):
        tracing.instrument()


# On ---------------------------------------------------------------------------------------


@pytest.fixture
def spans(db: None) -> Iterator[InMemorySpanExporter]:
    pytest.importorskip("opentelemetry.sdk", reason="the otel extra is not installed")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # A list of our own: the Django instrumentation inserts its middleware into it.
    with override_settings(
        MIDDLEWARE=list(OBSERVED), NEXUS_SHOP_TRACING=True, NEXUS_SHOP_RESPONSE_CACHE="default"
    ):
        engine = get_engine()
        assert engine is not None
        assert engine.store.flush()
        assert tracing.instrument(tracer_provider=provider)
        try:
            yield exporter
        finally:
            tracing.uninstrument()
            provider.shutdown()


def named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [span for span in exporter.get_finished_spans() if span.name == name]


def attributes(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


def parent_of(exporter: InMemorySpanExporter, span: ReadableSpan) -> ReadableSpan:
    assert span.parent is not None, f"{span.name} has no parent"
    [parent] = [
        s
        for s in exporter.get_finished_spans()
        if s.context is not None and s.context.span_id == span.parent.span_id
    ]
    return parent


def test_django_and_psycopg_are_instrumented(spans: InMemorySpanExporter) -> None:
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.trace import SpanKind

    assert DjangoInstrumentor().is_instrumented_by_opentelemetry
    try:
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    except ImportError:  # no psycopg here
        pass
    else:
        assert PsycopgInstrumentor().is_instrumented_by_opentelemetry
    assert Client().get("/api/health/live").status_code == 200
    [server] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert attributes(server)["http.status_code"] == 200


def test_the_cache_lookup_is_a_child_of_the_request(spans: InMemorySpanExporter) -> None:
    from opentelemetry.trace import SpanKind

    product = ProductFactory()
    anon = Client()
    anon.get(f"/api/products/{product.pk}")
    anon.get(f"/api/products/{product.pk}")
    lookups = named(spans, "nexus_shop.response_cache.lookup")
    assert [attributes(s) for s in lookups] == [
        {
            "nexus_shop.read_kind": "product-detail",
            "nexus_shop.operation": "product_get",
            "nexus_shop.outcome": outcome,
        }
        for outcome in ("miss", "hit")
    ]
    assert all(parent_of(spans, s).kind == SpanKind.SERVER for s in lookups)


def test_a_search_says_whether_it_widened_never_what_was_searched(
    spans: InMemorySpanExporter, is_postgres: bool
) -> None:
    ProductFactory(name="Espresso cup")
    Client().get("/api/products", {"q": "espreso"})
    [search] = named(spans, "nexus_shop.search")
    # A typo widens on PostgreSQL; elsewhere a search is a substring match that never does.
    assert attributes(search) == {
        "nexus_shop.operation": "product_list",
        "nexus_shop.widened": is_postgres,
    }
    for span in spans.get_finished_spans():
        if span.name.startswith("nexus_shop."):
            assert not any("espreso" in str(v) for v in attributes(span).values())


def test_a_checkout_and_its_stock_step(spans: InMemorySpanExporter) -> None:
    client = Client(headers=bearer(UserFactory()))
    product = ProductFactory(stock=5)
    fill_cart(client, [(product.pk, 2)])
    assert checkout(client, key="k-1").status_code == 201
    [placed] = named(spans, "nexus_shop.checkout")
    # Bounded: the operation and the outcome, never the user, the cart or the key.
    assert attributes(placed) == {
        "nexus_shop.operation": "checkout",
        "nexus_shop.outcome": "created",
    }
    [stock] = named(spans, "nexus_shop.checkout.stock")
    assert parent_of(spans, stock) is placed
    assert attributes(stock) == {
        "nexus_shop.operation": "checkout",
        "nexus_shop.lines": 1,
        "nexus_shop.outcome": "taken",
    }


def test_an_out_of_stock_checkout(spans: InMemorySpanExporter) -> None:
    from opentelemetry.trace import StatusCode

    client = Client(headers=bearer(UserFactory()))
    product = ProductFactory(stock=5)
    fill_cart(client, [(product.pk, 2)])
    set_variant(product, stock=1)
    assert checkout(client, key="k-2").status_code == 409
    [refused] = named(spans, "nexus_shop.checkout")
    assert attributes(refused)["nexus_shop.outcome"] == "out_of_stock"
    [stock] = named(spans, "nexus_shop.checkout.stock")
    assert attributes(stock)["nexus_shop.outcome"] == "out_of_stock"
    assert stock.status.status_code == StatusCode.ERROR


def test_a_replayed_and_a_keyless_checkout(spans: InMemorySpanExporter) -> None:
    client = Client(headers=bearer(UserFactory()))
    fill_cart(client, [(ProductFactory(stock=5).pk, 1)])
    checkout(client, key="k-3")
    checkout(client, key="k-3")
    assert client.post("/api/checkout", {}, content_type="application/json").status_code == 428
    outcomes = [attributes(s)["nexus_shop.outcome"] for s in named(spans, "nexus_shop.checkout")]
    assert outcomes == ["created", "replayed", "key_missing"]
    assert len(named(spans, "nexus_shop.checkout.stock")) == 1  # a replay takes no stock


class Recording(PurgeBackend):
    sent: list[Sequence[str]] = []

    def purge(self, keys: Sequence[str]) -> None:
        self.sent.append(keys)


class Refusing(PurgeBackend):
    def purge(self, keys: Sequence[str]) -> None:
        raise ConnectionError("the CDN is down")


def test_a_cdn_purge(spans: InMemorySpanExporter) -> None:
    change = invalidation.Change(product_ids=frozenset({4}), membership=True)
    with override_settings(NEXUS_SHOP_CDN_PURGE_BACKEND=f"{__name__}.Recording"):
        purge.on_change(change)
    with (
        override_settings(NEXUS_SHOP_CDN_PURGE_BACKEND=f"{__name__}.Refusing"),
        pytest.raises(ConnectionError),
    ):
        purge.on_change(change)
    sent, failed = named(spans, "nexus_shop.cdn.purge")
    # The number of keys, never the keys (they name products).
    assert attributes(sent) == {
        "nexus_shop.backend": "Recording",
        "nexus_shop.keys": 3,
        "nexus_shop.outcome": "sent",
    }
    assert attributes(failed)["nexus_shop.outcome"] == "failed"


def test_instrument_does_nothing_when_off(spans: InMemorySpanExporter) -> None:
    tracing.uninstrument()
    with override_settings(NEXUS_SHOP_TRACING=False):
        assert tracing.instrument() is False
        ProductFactory()
        Client().get("/api/products")
    assert spans.get_finished_spans() == ()


def test_a_webhook_delivery_span_and_the_traceparent_it_sends(
    spans: InMemorySpanExporter, receiver: Receiver
) -> None:
    WebhookEndpointFactory(url=receiver.url("/ok"))
    WebhookEndpointFactory(url=receiver.url("/status/503"), events=["product.updated"])
    emit_event("product.updated", resource_id=3)
    deliver_due()
    by_outcome = {
        attributes(span)["nexus_shop.outcome"]: span
        for span in named(spans, "nexus_shop.webhook.delivery")
    }
    assert set(by_outcome) == {"succeeded", "retrying"}
    # The event type and the attempt: bounded values, never a URL, an id or a payload.
    assert attributes(by_outcome["succeeded"]) == {
        "nexus_shop.event_type": "product.updated",
        "nexus_shop.attempt": 1,
        "nexus_shop.outcome": "succeeded",
        "nexus_shop.status_code": 200,
    }
    # Each request carries its span's context, so the receiver may join the trace.
    for request in receiver.received():
        outcome = "succeeded" if request.path == "/ok" else "retrying"
        context = by_outcome[outcome].context
        assert context is not None
        version, trace_id, span_id, _ = request.headers["traceparent"].split("-")
        assert (version, int(trace_id, 16), int(span_id, 16)) == (
            "00",
            context.trace_id,
            context.span_id,
        )
