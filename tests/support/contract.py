"""What the API answered during the test run, operation by operation: the contract's evidence.

:class:`Recorder` heads ``MIDDLEWARE`` in tests/settings.py, so every request that the
suite sends through Django (test client, ASGI application, live server) is seen: its
method, path, status and response header names. ``tests/test_openapi_contract.py``,
which the suite runs last, maps each to its operation in the OpenAPI document and fails
on a status or header the document does not declare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    status: int
    headers: frozenset[str]
    """Lower-case response header names."""
    purchase_enabled: bool
    """``NEXUS_SHOP_PURCHASE_ENABLED`` then: off, the purchase path is out of the document."""


SEEN: set[Seen] = set()


def _record(request: HttpRequest, response: HttpResponse) -> None:
    from nexus_shop.conf import conf

    if request.path.startswith("/api/"):
        names = frozenset(name.lower() for name in response.headers)
        SEEN.add(
            Seen(
                request.method or "",
                request.path,
                response.status_code,
                names,
                conf.PURCHASE_ENABLED,
            )
        )


class Recorder:
    """Adds each answer under ``/api/`` to :data:`SEEN` (sync and async, no thread hop)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        response: HttpResponse = self.get_response(request)
        _record(request, response)
        return response

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response: HttpResponse = await self.get_response(request)
        _record(request, response)
        return response


# pytest-xdist: each worker hands what it saw to the controller (tests/conftest.py), which
# checks that the whole run called every operation.


def dump(seen: set[Seen]) -> list[list[Any]]:
    """``seen`` as plain data (an xdist worker's output must be serialisable)."""
    return [[s.method, s.path, s.status, sorted(s.headers), s.purchase_enabled] for s in seen]


def load(rows: list[list[Any]]) -> set[Seen]:
    return {
        Seen(method, path, status, frozenset(headers), purchase_enabled)
        for method, path, status, headers, purchase_enabled in rows
    }
