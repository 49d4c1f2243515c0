"""Django Tasks entry points: webhook delivery run by the host's task backend.

For hosts that use Django's Tasks framework (``django.tasks``, built into Django 6; on
Django 5.2 the ``django-tasks`` package, which this module uses when Django has none),
instead of, or beside, the ``nexus_shop_deliver_webhooks`` worker command::

    from nexus_shop.tasks import deliver_webhooks

    deliver_webhooks.enqueue()  # e.g. every few seconds, from the host's scheduler

Each run is one pass: events fanned out, one batch of due deliveries claimed, sent and
recorded. Runs may overlap (on several task workers): they share the work through the
same row locks as the command's processes. Importing this module without either
framework is an ImportError that says what to install.
"""

from __future__ import annotations

from typing import Any

try:
    from django.tasks import task  # type: ignore[import-not-found,unused-ignore]  # Django 6
except ImportError:
    try:
        from django_tasks import task  # type: ignore[no-redef,unused-ignore]  # Django 5.2
    except ImportError:
        raise ImportError(
            "nexus_shop.tasks needs Django's Tasks framework: Django 6 (django.tasks), or "
            "on Django 5.2 the django-tasks package (pip install django-tasks)."
        ) from None

from nexus_shop.services.webhooks.worker import DEFAULT_BATCH, DEFAULT_CONCURRENCY, Worker

__all__ = ["deliver_webhooks"]


@task()
def deliver_webhooks(
    batch_size: int = DEFAULT_BATCH, concurrency: int = DEFAULT_CONCURRENCY
) -> dict[str, Any]:
    """One delivery pass; returns what it did: ``{"fanned_out", "claimed", "outcomes"}``."""
    with Worker(batch_size=batch_size, concurrency=concurrency) as worker:
        done = worker.run_once()
    return {
        "fanned_out": done.fanned_out,
        "claimed": done.claimed,
        "outcomes": dict(done.outcomes),
    }
