"""``BENCH_OBSERVABILITY=0``: nexus_shop's observability all off, for a clean baseline.

Without the middleware nothing is counted or logged per request, but nexus_shop's app
still puts its statement counter and slow-statement log (``nexus_shop.logs``) on every
database connection. "Off" in ``benchmarks/observability.py`` means off: the entry
points call :func:`switch_off_if_asked` once the apps are loaded, before any connection.
"""

from __future__ import annotations

from django.conf import settings
from django.db.backends.signals import connection_created


def switch_off_if_asked() -> None:
    if settings.NO_OBSERVABILITY:
        connection_created.disconnect(dispatch_uid="nexus_shop.logs")
