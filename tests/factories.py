"""factory-boy factories shared by the whole suite."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from nexus_shop.models import Category, Product

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def perms(self, create: bool, extracted: list[str] | None, **kwargs: Any) -> None:
        """``UserFactory(perms=["add_product", ...])`` grants ``nexus_shop`` permissions."""
        if not create or not extracted:
            return
        self.user_permissions.add(
            *Permission.objects.filter(content_type__app_label="nexus_shop", codename__in=extracted)
        )


CATALOG_PERMS = [
    f"{action}_{model}"
    for model in ("product", "category")
    for action in ("add", "change", "delete", "view")
]


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    perms = factory.PostGeneration(
        lambda obj, create, extracted, **kw: UserFactory.perms.function(
            obj, create, extracted if extracted is not None else CATALOG_PERMS
        )
    )


class CategoryFactory(factory.django.DjangoModelFactory):
    """Builds through the model, then sets ``path`` as the service does."""

    class Meta:
        model = Category
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    description = ""
    parent = None

    @factory.post_generation
    def set_path(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            self.path = f"{self.parent.path if self.parent else '/'}{self.pk}/"
            self.save(update_fields=["path"])


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    description = "A fine product."
    price = Decimal("10.00")
    currency = "USD"
    stock = 5
    is_active = True
    category = None
