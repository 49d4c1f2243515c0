"""Swagger UI served by the API itself, so ``/api/docs`` works offline in any host.

django-ninja renders Swagger UI from its own static files only when the host lists
``"ninja"`` in ``INSTALLED_APPS``; otherwise the page loads its JavaScript and CSS from a
CDN, and offline (or behind a strict firewall or CSP) it is a blank page. Hosts should not
need to know that. :class:`OfflineSwagger` renders the same page with links to
``<docs_url>/assets/<file>``, a route :class:`nexus_shop.api.NexusShopAPI` adds, which
answers with the files django-ninja already ships (no copy, no ``collectstatic``, no
template engine). It has no inline script, so a ``script-src 'self'`` policy allows it.
"""

from __future__ import annotations

import json
import mimetypes
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ninja
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from ninja.openapi.docs import Swagger, _csrf_needed

if TYPE_CHECKING:
    from ninja import NinjaAPI

ASSETS_DIR = Path(ninja.__file__).parent / "static" / "ninja"
# The files the page links to (the source maps are for browser developer tools).
ASSETS = frozenset(
    {
        "swagger-ui-bundle.js",
        "swagger-ui-bundle.js.map",
        "swagger-ui-init.js",
        "swagger-ui.css",
        "swagger-ui.css.map",
        "favicon.png",
        "favicon.svg",
    }
)
ASSET_URL_NAME = "docs-asset"
# The files change only with django-ninja's version, which is part of their URL.
ASSET_CACHE_CONTROL = "public, max-age=86400"

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{css}">
<link rel="icon" href="{favicon}" type="image/svg+xml">
</head>
<body data-csrf-token="{csrf_token}" data-api-csrf="{api_csrf}">
<script type="application/json" id="swagger-settings">{settings}</script>
<div id="swagger-ui"></div>
<script src="{bundle}"></script>
<script src="{init}"></script>
</body>
</html>
"""


class OfflineSwagger(Swagger):
    """django-ninja's Swagger UI, with its assets served by the API instead of a CDN."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        add_csrf = _csrf_needed(api)

        def asset(name: str) -> str:
            url = reverse(f"{api.urls_namespace}:{ASSET_URL_NAME}", kwargs={**kwargs, "name": name})
            return f"{url}?v={escape(ninja.__version__)}"

        # JSON inside <script>: "</" must not end the element early.
        settings = json.dumps(self.settings, indent=1).replace("</", "<\\/")
        html = PAGE.format(
            title=escape(api.title),
            css=asset("swagger-ui.css"),
            favicon=asset("favicon.svg"),
            bundle=asset("swagger-ui-bundle.js"),
            init=asset("swagger-ui-init.js"),
            settings=settings,
            csrf_token=escape(get_token(request)) if add_csrf else "",
            api_csrf="true" if add_csrf else "",
        )
        return HttpResponse(html, content_type="text/html; charset=utf-8")


@csrf_exempt  # read-only; a POST gets a JSON 405, not the CSRF failure page
def asset_view(request: HttpRequest, name: str, **kwargs: Any) -> HttpResponseBase:
    """One of Swagger UI's files, from django-ninja's package directory."""
    if request.method not in {"GET", "HEAD"}:
        not_allowed = JsonResponse({"detail": "Method not allowed.", "errors": []}, status=405)
        not_allowed["Allow"] = "GET, HEAD"
        return not_allowed
    if name not in ASSETS:
        return JsonResponse(
            {"detail": f"No documentation asset named {name!r}.", "errors": []}, status=404
        )
    content_type, _ = mimetypes.guess_type(name)
    if name.endswith(".map"):
        content_type = "application/json"
    response = FileResponse(
        (ASSETS_DIR / name).open("rb"), content_type=content_type or "application/octet-stream"
    )
    response["Cache-Control"] = ASSET_CACHE_CONTROL
    response["X-Content-Type-Options"] = "nosniff"
    return response
