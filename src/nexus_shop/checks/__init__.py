"""System checks: ``nexus_shop.E001``... validate the settings at start-up.

One module per topic; every id, with its level and meaning, is in one table,
:class:`nexus_shop.checks.ids.CheckId` (docs/checks.md explains each). Importing this
package registers every check (``NexusShopConfig.ready`` does).
"""

from __future__ import annotations

from nexus_shop.checks.auth import check_jwt, check_jwt_deploy
from nexus_shop.checks.caches import (
    auth_tables,
    check_cachalot,
    check_cachalot_purchase,
    check_retry_after,
    check_throttle_cache,
)
from nexus_shop.checks.general import check_settings
from nexus_shop.checks.http_cache import check_http_cache
from nexus_shop.checks.ids import CheckId
from nexus_shop.checks.images import check_image_storage
from nexus_shop.checks.operations import check_operations_settings
from nexus_shop.checks.purchase import check_purchase_settings
from nexus_shop.checks.replicas import check_read_replicas
from nexus_shop.checks.search import check_search_settings

__all__ = [
    "CheckId",
    "auth_tables",
    "check_cachalot",
    "check_cachalot_purchase",
    "check_http_cache",
    "check_image_storage",
    "check_jwt",
    "check_jwt_deploy",
    "check_operations_settings",
    "check_purchase_settings",
    "check_read_replicas",
    "check_retry_after",
    "check_search_settings",
    "check_settings",
    "check_throttle_cache",
]
