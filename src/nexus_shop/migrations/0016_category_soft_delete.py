"""Categories are soft-deleted, as products are: ``deleted_at``, and slugs unique among live rows.

``DELETE /categories/{id}`` now sets ``deleted_at`` and ``POST /categories/{id}/restore``
clears it (the ``category.restored`` event of issue 19). A deleted category's slug is free
for a new one, so the unique constraint on ``slug`` becomes a partial one over live rows,
``nexus_shop_category_live_slug_uniq``, as ``nexus_shop_product_live_slug_uniq`` is for
products. Existing rows are live (``deleted_at`` null).

Migrating back hard-deletes nothing: it fails on the full unique constraint if a deleted
category and a live one share a slug, and otherwise keeps deleted categories as live ones.
"""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("nexus_shop", "0015_events_outbox_webhooks"),
    ]

    operations = [
        migrations.AddField(
            model_name="category",
            name="deleted_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RemoveConstraint(
            model_name="category",
            name="nexus_shop_category_slug_uniq",
        ),
        migrations.AddConstraint(
            model_name="category",
            constraint=models.UniqueConstraint(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=("slug",),
                name="nexus_shop_category_live_slug_uniq",
            ),
        ),
    ]
