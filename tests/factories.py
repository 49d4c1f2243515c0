"""factory-boy factories shared by the whole suite."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission, User
from django.db import transaction
from django.db.models import Model
from factory.declarations import LazyAttribute, LazyFunction, PostGeneration, Sequence

from nexus_shop.models import Category, Product, ProductVariant
from nexus_shop.models.events import Event, WebhookEndpoint
from nexus_shop.services import events
from nexus_shop.services.webhooks.signing import new_secret

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

    @classmethod
    def _create(cls, model_class: type[Product], *args: Any, **kwargs: Any) -> Product:
        """The product and its default variant (same sku, price and stock), as
        ``services.catalog.product_create`` makes them."""
        kwargs.setdefault("price_max", kwargs.get("price", Decimal("10.00")))
        product: Product = super()._create(model_class, *args, **kwargs)
        ProductVariant.objects.create(
            product=product,
            sku=product.sku,
            price=product.price,
            stock=product.stock,
            deleted_at=product.deleted_at,
        )
        return product


class WebhookEndpointFactory(ModelFactory[WebhookEndpoint]):
    """An enabled endpoint for every event type, with a fresh ``whsec_`` secret. Tests that
    deliver for real give it their receiver's URL (``receiver.url("/ok")``)."""

    class Meta:
        model = WebhookEndpoint

    url = Sequence(lambda n: f"https://hooks{n}.example.com/webhooks")
    events = LazyFunction(lambda: ["*"])
    description = ""
    is_enabled = True
    secret = LazyFunction(new_secret)


def emit_event(
    type: str = "product.updated", *, resource_id: int = 1, data: dict[str, Any] | None = None
) -> Event:
    """One event in the outbox, committed as a service writes it (``events.emit`` inside
    ``transaction.atomic``). ``data`` defaults to a small payload naming the resource."""
    with transaction.atomic():
        payload = data if data is not None else {"id": resource_id}
        event = events.emit(type=type, resource_id=resource_id, data=payload)
    assert event is not None, "events are suppressed"
    return event


def refresh_token_for(user: Any) -> Any:
    """A new outstanding nexus_shop ``RefreshToken`` for ``user`` (``.access_token``...)."""
    from nexus_shop.tokens import RefreshToken

    return RefreshToken.for_user(user)  # type: ignore[misc]  # ninja-jwt types ``cls`` as an instance
