"""Small abstract bases shared by the catalogue models."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.db import models

if TYPE_CHECKING:
    from django.db.models import QuerySet

_M = TypeVar("_M", bound="SoftDeleteModel")


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class LiveManager(models.Manager[_M]):
    """Default manager of soft-deletable models: rows with ``deleted_at`` set are invisible."""

    def get_queryset(self) -> QuerySet[_M]:
        return super().get_queryset().filter(deleted_at__isnull=True)


class SoftDeleteModel(models.Model):
    """``deleted_at`` is null unless the row is soft-deleted.

    ``objects`` hides deleted rows; ``all_objects`` sees every row. Deleting and
    restoring are services (:mod:`nexus_shop.services.catalog`), not model methods.
    """

    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = LiveManager()
    all_objects = models.Manager()  # noqa: DJ012  (a manager, not a field: ruff misreads models.Manager())

    class Meta:
        abstract = True
        base_manager_name = "all_objects"
