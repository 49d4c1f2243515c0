from __future__ import annotations

from django.apps import AppConfig


class NexusShopConfig(AppConfig):
    name = "nexus_shop"
    label = "nexus_shop"
    verbose_name = "Nexus shop catalogue"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from nexus_shop import checks  # noqa: F401  (registers the system checks)
