"""Request ids, the request's state for logs and metrics, JSON log lines, slow statements.

* **The request's state.** :class:`RequestState` (its id, operation, cache outcome, query
  count, user) lives in a context variable for the length of one request:
  :class:`nexus_shop.observability.ObservabilityMiddleware` (WSGI) or
  :class:`~nexus_shop.observability.ObservabilityASGI` sets it; asgiref copies it into
  the thread a sync view runs in, so every log record and statement of the request sees it.
* **Request ids.** The incoming ``X-Request-ID`` is kept when it is sane (1 to 128 visible
  ASCII characters: :func:`sane_request_id`), else replaced by a new one; a hostile value
  (CRLF, control characters, 10 KB) is never echoed, logged or stored.
* **Log records** carry ``request_id`` through :class:`RequestIdFilter` (``"-"`` outside
  a request), and :class:`JsonFormatter` writes one JSON object a line.
* **Slow statements.** :func:`observe_connection` puts :func:`_observe_statement` on every
  database connection: it counts the request's statements and logs those slower than
  ``NEXUS_SHOP_SLOW_QUERY_MS`` with the request id and the operation (never the parameters).

Why the standard library's ``logging`` and ``json``, not python-json-logger or structlog:
the formatter is forty lines over ``json.dumps``, a host's existing ``LOGGING`` keeps
working, and nothing is added to every install for it.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.signals import setting_changed

from nexus_shop.conf import conf

__all__ = [
    "JsonFormatter",
    "RequestIdFilter",
    "RequestState",
    "begin",
    "current",
    "current_request_id",
    "end",
    "new_request_id",
    "observe_connection",
    "sane_request_id",
]

REQUEST_ID_HEADER = "X-Request-ID"
MAX_REQUEST_ID_LENGTH = 128
_SANE = re.compile(rf"[!-~]{{1,{MAX_REQUEST_ID_LENGTH}}}")  # visible ASCII, no space
MAX_LOGGED_SQL = 2000  # characters of a slow statement's SQL in its log record

db_logger = logging.getLogger("nexus_shop.db")

# Settings read on every request or statement. ``conf`` reads Django's settings on each
# access, and an unset one costs an AttributeError inside LazySettings: ~7 µs, as much as
# the whole instrumentation of a cache hit. They are read once, and again after any
# setting_changed (override_settings in tests).
_hot: dict[str, Any] = {}


def hot_setting(name: str) -> Any:
    """``getattr(conf, name)``, remembered until a setting changes."""
    try:
        return _hot[name]
    except KeyError:
        value = _hot[name] = getattr(conf, name)
        return value


def _forget_settings(**kwargs: Any) -> None:
    _hot.clear()


setting_changed.connect(_forget_settings)


@dataclass(slots=True)
class RequestState:
    """What one request has shown so far; read by its log line and its metrics."""

    request_id: str
    operation: str | None = None
    """The OpenAPI operation id (``product_list``), ``"unmatched"``, or None while unknown."""
    cache: str | None = None
    """The response cache's outcome: ``"hit"``, ``"miss"`` or None (not a cached read)."""
    queries: int = 0
    user_id: int | str | None = None


_state: ContextVar[RequestState | None] = ContextVar("nexus_shop_request", default=None)


def sane_request_id(value: str | None) -> str | None:
    """``value`` if it may serve as a request id (1 to 128 visible ASCII characters)."""
    if value is None or len(value) > MAX_REQUEST_ID_LENGTH:
        return None
    return value if _SANE.fullmatch(value) else None


def new_request_id() -> str:
    return uuid.uuid4().hex


def begin(incoming: str | None) -> tuple[RequestState, Token[RequestState | None]]:
    """Start a request's state, its id the sane ``incoming`` one or a new one."""
    state = RequestState(sane_request_id(incoming) or new_request_id())
    return state, _state.set(state)


def end(token: Token[RequestState | None]) -> None:
    _state.reset(token)


def current() -> RequestState | None:
    """The state of the request being served, or None (no request, or not observed)."""
    return _state.get()


def current_request_id() -> str | None:
    state = _state.get()
    return None if state is None else state.request_id


class RequestIdFilter(logging.Filter):
    """Gives every record a ``request_id`` attribute: the request's, or ``"-"``.

    Attach it to the handlers (``"filters": ["request_id"]``) so ``%(request_id)s`` and
    :class:`JsonFormatter` find it on records of every logger.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            state = _state.get()
            record.request_id = "-" if state is None else state.request_id
        return True


# The attributes every LogRecord has: anything else on a record came from ``extra``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time``, ``level``, ``logger``, ``message``, the record's
    ``extra`` keys (``request_id``, and the access log's ``operation``, ``status``...),
    and ``exc_info`` as ``exception`` text.

    Values JSON cannot hold are written as their ``str``. The ``request`` and
    ``status_code`` extras Django's own loggers add are left out (an object, and a
    repeat of the status).
    """

    skipped = frozenset({"request", "status_code"})

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in self.skipped and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


def _observe_statement(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    """Count the statement for the request, and log it if it was slow (no parameters)."""
    start = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        elapsed_ms = (time.perf_counter() - start) * 1000
        state = _state.get()
        if state is not None:
            state.queries += 1
        threshold = hot_setting("SLOW_QUERY_MS")
        if threshold is not None and elapsed_ms >= threshold:
            db_logger.warning(
                "Slow statement (%.0f ms) in %s: %s",
                elapsed_ms,
                "-" if state is None else (state.operation or "-"),
                sql[:MAX_LOGGED_SQL],
                extra={
                    "duration_ms": round(elapsed_ms, 1),
                    "operation": None if state is None else state.operation,
                    "alias": context["connection"].alias,
                },
            )


def observe_connection(*, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: observe the statements of ``connection`` (once)."""
    if not getattr(connection, "_nexus_shop_observed", False):
        connection.execute_wrappers.append(_observe_statement)
        connection._nexus_shop_observed = True
