"""PostgreSQL-only search indexes; a no-op on other backends.

* a GIN index on the weighted full-text vector (name 'A' over description 'B'), and
* a trigram GIN index on the name, for the substring part of the search.

Both are partial on live rows. The vector expression had to stay identical to the one the
search queried, or the planner would not use it. Since 0004, which drops the vector index,
the search reads a stored column (``nexus_shop.selectors.search.SEARCH_VECTOR_SQL``).
"""

from collections.abc import Callable
from typing import Any

from django.db import migrations

VECTOR = (
    "setweight(to_tsvector('english', coalesce(name, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(description, '')), 'B')"
)

FORWARDS = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS nexus_shop_prod_search_idx ON nexus_shop_product "
    f"USING gin (({VECTOR})) WHERE deleted_at IS NULL",
    "CREATE INDEX IF NOT EXISTS nexus_shop_prod_name_trgm_idx ON nexus_shop_product "
    "USING gin (name gin_trgm_ops) WHERE deleted_at IS NULL",
]
BACKWARDS = [
    "DROP INDEX IF EXISTS nexus_shop_prod_name_trgm_idx",
    "DROP INDEX IF EXISTS nexus_shop_prod_search_idx",
]


def _run(statements: list[str]) -> Callable[[Any, Any], None]:
    def run(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("nexus_shop", "0001_initial")]

    operations = [migrations.RunPython(_run(FORWARDS), _run(BACKWARDS), elidable=False)]
