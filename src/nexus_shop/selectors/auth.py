from __future__ import annotations

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission


def auth_tables() -> set[str]:
    """Tables holding users, their permissions and their token state."""
    user = get_user_model()
    tables = {user._meta.db_table, Permission._meta.db_table, Group._meta.db_table}
    for model in (user, Group):
        for field in model._meta.many_to_many:
            tables.add(field.remote_field.through._meta.db_table)
    if apps.is_installed("ninja_jwt.token_blacklist"):
        for name in ("OutstandingToken", "BlacklistedToken"):
            tables.add(apps.get_model("token_blacklist", name)._meta.db_table)
    return tables
