"""factory-boy factories shared by the whole suite."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission, User
from django.db.models import Model
from factory.declarations import LazyAttribute, PostGeneration, Sequence

from nexus_shop.models import Category, Product

_M = TypeVar("_M", bound=Model)


class ModelFactory(factory.django.DjangoModelFactory[_M]):
    """A Django factory whose call mypy types as the model instance it returns."""

    class Meta:
        abstract = True

    if TYPE_CHECKING:
        # factory-boy leaves Factory.__new__ untyped; calling a factory creates the model.
        def __new__(cls, *args: Any, **kwargs: Any) -> _M: ...  # type: ignore[misc]  # returns the model, not the factory


PASSWORD = "correct-horse-battery-staple"


def _grant(user: User, create: bool, extracted: list[str] | None) -> None:
    if not create or not extracted:
        return
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="nexus_shop", codename__in=extracted)
    )


def _set_path(category: Category, create: bool) -> None:
    """The ``path`` the category services set: the parent's path, then the category's pk."""
    if create:
        category.path = f"{category.parent.path if category.parent else '/'}{category.pk}/"
        category.save(update_fields=["path"])


class UserFactory(ModelFactory[User]):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = Sequence(lambda n: f"user{n}")
    email = LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password(PASSWORD)

    # UserFactory(perms=["add_product", ...]) grants nexus_shop permissions.
    perms = PostGeneration(lambda user, create, extracted, **kw: _grant(user, create, extracted))


CATALOG_PERMS = [
    f"{action}_{model}"
    for model in ("product", "category")
    for action in ("add", "change", "delete", "view")
]


class StaffFactory(UserFactory):
    username = Sequence(lambda n: f"staff{n}")
    is_staff = True
    perms = PostGeneration(
        lambda user, create, extracted, **kw: _grant(
            user, create, extracted if extracted is not None else CATALOG_PERMS
        )
    )


class CategoryFactory(ModelFactory[Category]):
    """Builds through the model, then sets ``path`` as the service does."""

    class Meta:
        model = Category
        skip_postgeneration_save = True

    name = Sequence(lambda n: f"Category {n}")
    slug = Sequence(lambda n: f"category-{n}")
    description = ""
    parent = None

    set_path = PostGeneration(lambda category, create, extracted, **kw: _set_path(category, create))


class ProductFactory(ModelFactory[Product]):
    class Meta:
        model = Product

    name = Sequence(lambda n: f"Product {n}")
    slug = Sequence(lambda n: f"product-{n}")
    sku = Sequence(lambda n: f"SKU-{n:06d}")
    description = "A fine product."
    price = Decimal("10.00")
    currency = "USD"
    stock = 5
    is_active = True
    category = None


def refresh_token_for(user: Any) -> Any:
    """A new outstanding nexus_shop ``RefreshToken`` for ``user`` (``.access_token``...)."""
    from nexus_shop.tokens import RefreshToken

    return RefreshToken.for_user(user)  # type: ignore[misc]  # ninja-jwt types ``cls`` as an instance
