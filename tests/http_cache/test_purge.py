"""Purge backends against a local HTTP server that records what it was sent; the check."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import Client, override_settings

from nexus_shop import invalidation
from nexus_shop.checks import check_http_cache
from nexus_shop.http_cache import CloudflarePurge, FastlyPurge, PurgeBackend, VarnishPurge
from nexus_shop.http_cache.core import purge_keys
from tests.factories import ProductFactory


class Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, dict[str, str], bytes]] = []

    def _record(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.append((self.command, self.path, dict(self.headers), body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_BAN = do_POST = _record  # noqa: N815  (http.server's naming)

    def log_message(self, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def recorder() -> Iterator[str]:
    Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_varnish_sends_a_ban_with_the_keys(recorder: str) -> None:
    VarnishPurge(servers=[recorder]).purge(["product-1", "product-list", "bad key;"])
    [(method, path, headers, _)] = Recorder.seen
    assert (method, path) == ("BAN", "/")
    assert headers["X-Purge-Keys"] == "product-1 product-list"  # unsafe keys are dropped


def test_fastly_purges_by_surrogate_key_in_batches(recorder: str) -> None:
    keys = [f"product-{n}" for n in range(300)]
    FastlyPurge(service_id="svc", api_token="tok", api_url=recorder).purge(keys)
    assert [(m, p) for m, p, _, _ in Recorder.seen] == [("POST", "/service/svc/purge")] * 2
    assert Recorder.seen[0][2]["Fastly-Key"] == "tok"
    sent = [k for _, _, h, _ in Recorder.seen for k in h["Surrogate-Key"].split()]
    assert sent == keys


def test_cloudflare_purges_by_tag(recorder: str) -> None:
    CloudflarePurge(zone_id="zone", api_token="tok", api_url=recorder).purge(["a", "b"])
    [(method, path, headers, body)] = Recorder.seen
    assert (method, path) == ("POST", "/zones/zone/purge_cache")
    assert headers["Authorization"] == "Bearer tok"
    assert json.loads(body) == {"tags": ["a", "b"]}


def test_purge_keys_are_narrow() -> None:
    stock = invalidation.Change(product_ids=frozenset({4}), membership=False)
    assert purge_keys(stock) == ["product-4"]
    price = invalidation.Change(product_ids=frozenset({4}), membership=True)
    assert purge_keys(price) == ["product-4", "product-list", "category-list"]
    assert purge_keys(invalidation.Change(everything=True)) == ["catalogue"]


@pytest.mark.django_db
def test_a_committed_write_purges_and_public_reads_carry_surrogate_keys(
    recorder: str, django_capture_on_commit_callbacks: Any
) -> None:
    product = ProductFactory()
    with override_settings(
        NEXUS_SHOP_CDN_PURGE_BACKEND="nexus_shop.http_cache.purge.VarnishPurge",
        NEXUS_SHOP_CDN_PURGE_OPTIONS={"servers": [recorder]},
        NEXUS_SHOP_CDN_MAX_AGE=600,
    ):
        response = Client().get(f"/api/products/{product.pk}")
        assert response["Cache-Control"] == "public, max-age=0, must-revalidate, s-maxage=600"
        assert response["Surrogate-Control"] == "max-age=600"
        keys = response["Surrogate-Key"].split()
        assert f"product-{product.pk}" in keys
        assert response["Cache-Tag"] == ",".join(keys)
        with django_capture_on_commit_callbacks(execute=True):
            invalidation.products_changed(product_ids=[product.pk], membership=False)
    assert Recorder.seen[0][2]["X-Purge-Keys"] == f"product-{product.pk}"


def test_the_purge_backend_setting_is_checked() -> None:
    # Exactly the one message, from the one check (E040 and E041 once had a second meaning).
    with override_settings(NEXUS_SHOP_CDN_PURGE_BACKEND="no.such.Backend"):
        assert [m.id for m in check_http_cache()] == ["nexus_shop.E041"]
    with override_settings(NEXUS_SHOP_CDN_PURGE_BACKEND="json.JSONDecoder"):
        assert [m.id for m in check_http_cache()] == ["nexus_shop.E041"]
    with override_settings(NEXUS_SHOP_CDN_PURGE_BACKEND="nexus_shop.http_cache.VarnishPurge"):
        assert check_http_cache() == []
        assert "nexus_shop.E041" not in [m.id for m in run_checks()]
    with override_settings(NEXUS_SHOP_RESPONSE_CACHE="nope"):
        assert [m.id for m in check_http_cache()] == ["nexus_shop.E040"]
        assert "nexus_shop.E040" in [m.id for m in run_checks()]
    assert issubclass(VarnishPurge, PurgeBackend)
