"""OpenTelemetry traces: the host's one call, and nexus_shop's own spans.

With the ``nexus-shop[otel]`` extra installed and ``NEXUS_SHOP_TRACING = True``, the host
calls :func:`instrument` once, where its WSGI or ASGI application is built (after it has
set up its own tracer provider and exporter, which are the host's choice)::

    import nexus_shop.tracing

    nexus_shop.tracing.instrument()
    application = get_wsgi_application()

That turns on the standard Django and psycopg instrumentations (a span per request and
per SQL statement) and nexus_shop's own spans, children of the request's: the
response-cache lookup, search, checkout (with its stock step), CDN purges, and webhook
deliveries in the workers (:func:`span`; a delivery also sends its ``traceparent``,
:func:`inject`). Their attributes are bounded: an operation id, a read kind, an event
type, an outcome, a count; never a user's id, a token or a query's text.

Off (the default), or with TRACING on but OpenTelemetry missing (system check
``nexus_shop.E072``), nothing imports OpenTelemetry: :func:`span` returns the shared
:data:`NO_SPAN`, whose ``with`` and :meth:`~Span.set` do nothing, for the cost of one dict
lookup.

Why OpenTelemetry's own packages and not a wrapper: the API, the SDK and the Django and
psycopg instrumentations are the reference implementation, and a host already exporting
traces (OTLP, Jaeger, a vendor's agent) configures the same SDK.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from nexus_shop import logs
from nexus_shop.conf import conf

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer, TracerProvider

__all__ = ["NO_SPAN", "Span", "available", "inject", "instrument", "span", "uninstrument"]

TRACER_NAME = "nexus_shop"
PREFIX = "nexus_shop."

Attribute = str | int | float | bool

_tracer: Tracer | None = None


def available() -> bool:
    """Whether the ``otel`` extra is installed (its packages found, none imported)."""
    from importlib.util import find_spec

    return all(
        find_spec(name) is not None
        for name in ("opentelemetry", "opentelemetry.trace", "opentelemetry.instrumentation")
    )


class Span:
    """What :func:`span` returns: a context manager whose :meth:`set` adds an attribute.

    This base class is the no-op (:data:`NO_SPAN`); with tracing on, a real span is opened.
    """

    __slots__ = ()

    def __enter__(self) -> Span:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def set(self, key: str, value: Attribute) -> None:
        """Set the attribute ``nexus_shop.<key>`` (a bounded value: never an id or a query)."""


NO_SPAN = Span()
"""The span of tracing off: shared, stateless, free."""


class _OpenSpan(Span):
    __slots__ = ("_attributes", "_manager", "_name", "_span")

    def __init__(self, name: str, attributes: dict[str, Attribute]) -> None:
        self._name = name
        self._attributes = attributes
        self._manager: Any = None
        self._span: Any = None

    def __enter__(self) -> Span:
        attributes = {PREFIX + key: value for key, value in self._attributes.items()}
        state = logs.current()
        if state is not None and state.operation is not None:
            attributes.setdefault(PREFIX + "operation", state.operation)
        self._manager = _get_tracer().start_as_current_span(
            PREFIX + self._name, attributes=attributes
        )
        self._span = self._manager.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._manager.__exit__(*exc)

    def set(self, key: str, value: Attribute) -> None:
        self._span.set_attribute(PREFIX + key, value)


def _get_tracer() -> Tracer:
    global _tracer  # noqa: PLW0603  (one tracer per process, made on first use)
    if _tracer is None:
        from opentelemetry import trace

        import nexus_shop

        _tracer = trace.get_tracer(TRACER_NAME, nexus_shop.__version__)
    return _tracer


def span(name: str, **attributes: Attribute) -> Span:
    """A span named ``nexus_shop.<name>``, its attributes ``nexus_shop.<key>``, under the
    current one; the request's operation id is added when known.

    ``with tracing.span("search") as found: ... found.set("widened", True)``. With tracing
    off, :data:`NO_SPAN`: nothing is imported, created or recorded.
    """
    if not logs.hot_setting("TRACING") or not _usable():
        return NO_SPAN
    return _OpenSpan(name, attributes)


def inject(headers: dict[str, str]) -> None:
    """Add the current span's W3C ``traceparent`` (and ``tracestate``) to ``headers``, for
    an outgoing request (a webhook delivery) that the receiver may join to the trace.

    Off, nothing is added or imported.
    """
    if not logs.hot_setting("TRACING") or not _usable():
        return
    from opentelemetry.propagate import inject as inject_context

    inject_context(headers)


_usable_memo: list[bool] = []


def _usable() -> bool:
    # TRACING on without the extra is reported by check E072; requests must not fail.
    if not _usable_memo:
        _usable_memo.append(available())
    return _usable_memo[0]


def instrument(*, tracer_provider: TracerProvider | None = None) -> bool:
    """Turn traces on, once, where the host builds its application; False if TRACING is off.

    Instruments Django (a server span per request: its middleware goes first in
    ``MIDDLEWARE``, so call this before ``get_wsgi_application()``/``get_asgi_application()``)
    and psycopg (a span per statement, when psycopg is installed), and gives nexus_shop's
    own spans ``tracer_provider``'s tracer (default: OpenTelemetry's global provider, which
    the host sets up with its exporter).
    """
    if not conf.TRACING:
        return False
    if not available():
        raise ImproperlyConfigured(
            "NEXUS_SHOP_TRACING is on but OpenTelemetry is not installed: "
            'pip install "nexus-shop[otel]"'
        )
    from opentelemetry import trace
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    import nexus_shop

    global _tracer  # noqa: PLW0603  (the provider the host chose)
    provider = tracer_provider or trace.get_tracer_provider()
    _tracer = provider.get_tracer(TRACER_NAME, nexus_shop.__version__)
    DjangoInstrumentor().instrument(tracer_provider=provider)
    try:
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    except ImportError:  # no psycopg (a SQLite host): Django's spans only
        return True
    PsycopgInstrumentor().instrument(tracer_provider=provider)
    return True


def uninstrument() -> None:
    """Undo :func:`instrument` (for tests): the instrumentations off, the tracer forgotten."""
    global _tracer  # noqa: PLW0603  (see instrument)
    _tracer = None
    if "opentelemetry" not in sys.modules:
        return  # never instrumented: nothing to undo, and nothing to import
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    DjangoInstrumentor().uninstrument()
    try:
        from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    except ImportError:
        return
    PsycopgInstrumentor().uninstrument()
