"""Swagger UI's page and files come from the API itself (nexus_shop.swagger): no CDN."""

from __future__ import annotations

import re

import ninja
import pytest
from django.test import Client


@pytest.fixture
def client() -> Client:
    return Client()


def test_the_docs_page_links_only_to_the_apis_own_assets(client: Client) -> None:
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(links) == sorted(
        f"/api/docs/assets/{name}?v={ninja.__version__}"
        for name in ("swagger-ui.css", "favicon.svg", "swagger-ui-bundle.js", "swagger-ui-init.js")
    )
    assert "cdn" not in html
    assert '"url": "/api/openapi.json"' in html
    assert "<script>" not in html  # no inline script: a strict script-src 'self' CSP allows it


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("swagger-ui-bundle.js", "text/javascript"),
        ("swagger-ui.css", "text/css"),
        ("swagger-ui-init.js", "text/javascript"),
    ],
)
def test_assets_are_served_with_their_type(client: Client, name: str, content_type: str) -> None:
    response = client.get(f"/api/docs/assets/{name}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith(content_type)
    assert "max-age=" in response["Cache-Control"]
    assert b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_only_swagger_files_are_served(client: Client) -> None:
    response = client.get("/api/docs/assets/__init__.py")
    assert response.status_code == 404
    assert response.json()["detail"] == "No documentation asset named '__init__.py'."
    assert client.get("/api/docs/assets/..%2F__init__.py").status_code == 404


def test_a_write_to_an_asset_is_a_json_405(client: Client) -> None:
    response = client.post("/api/docs/assets/swagger-ui.css")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["detail"] == "Method not allowed."
