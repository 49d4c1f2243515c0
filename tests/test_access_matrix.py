"""Who may call what: every operation of the OpenAPI document x four callers.

OWASP API Security Top 10: broken object-level (API1) and function-level (API5)
authorisation, broken authentication (API2). The operations come from the OpenAPI
document that ``nexus_shop.api.api`` serves; each is called, with a valid request, by

- ``anonymous``: no ``Authorization`` header;
- ``customer``: a registered user without any permission;
- ``staff_without``: ``is_staff``, but without the operation's permission;
- ``staff_with``: ``is_staff`` holding only the operation's permission(s).

and must answer what ``MATRIX`` says: the operation's declared 2xx, 401 or 403.

**Adding an endpoint?** ``test_every_operation_has_a_row`` fails until ``MATRIX`` has a
row for its ``operation_id``. A row says who may call it (``PUBLIC``, ``SIGNED_IN`` or
``Perm("nexus_shop.add_thing")``) and how to build a valid request from ``World`` (the
objects each test creates): ``path`` (path parameters), ``body`` (JSON) and ``query``.
For objects that belong to a user (a cart, an order), put the expected status for a
caller who is not the owner in ``expect`` (``{"customer": 404}``), so the row also
proves object-level authorisation. The method and path always come from the document.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from nexus_shop.api import api
from nexus_shop.models import Cart, CartLine, Order, ProductImage, ProductVariant
from nexus_shop.services.catalog import product_create
from nexus_shop.services.variants import variant_soft_delete
from tests.conftest import bearer
from tests.factories import (
    PASSWORD,
    CategoryFactory,
    ProductFactory,
    StaffFactory,
    UserFactory,
    refresh_token_for,
)
from tests.support import webhook_rows

ROLES = ("anonymous", "customer", "staff_without", "staff_with")
NEW_PASSWORD = "Lantern-Orchid-2044"


@dataclass(frozen=True)
class Perm:
    """Needs these Django permissions: 401 anonymous, 403 without them, 2xx with them."""

    names: tuple[str, ...]

    def __init__(self, *names: str) -> None:
        object.__setattr__(self, "names", names)


PUBLIC = "public"  # everyone, anonymous included: 2xx
SIGNED_IN = "signed-in"  # any authenticated user: 401 anonymous, 2xx otherwise


class World:
    """What one test case works on: fresh rows, and the caller's user (None: anonymous)."""

    def __init__(self, role: str, perms: tuple[str, ...]) -> None:
        self.category = CategoryFactory()
        self.empty_category = CategoryFactory()  # one that may be deleted
        self.deleted_category = CategoryFactory(deleted_at=timezone.now())  # may be restored
        self.product = ProductFactory(category=self.category)
        self.deleted_product = ProductFactory(category=self.category, deleted_at=timezone.now())
        # A product with options and three variants, one of them soft-deleted.
        self.shirt = product_create(
            name=self.unique("Shirt"),
            sku=self.unique("SHIRT"),
            options=[{"name": "Size", "values": ["S", "M", "L", "XL"]}],
            variants=[
                {
                    "sku": self.unique("S"),
                    "options": {"Size": size},
                    "price": Decimal(9),
                    "stock": 2,
                }
                for size in ("S", "M", "L")
            ],
        )
        self.shirt_variants = list(ProductVariant.objects.filter(product=self.shirt))
        self.deleted_variant = self.shirt_variants.pop()
        variant_soft_delete(product_id=self.shirt.pk, variant_id=self.deleted_variant.pk)
        self.variant = ProductVariant.objects.get(product=self.product)
        # A picture row of the product (its files need not exist for these requests).
        self.image = ProductImage.objects.create(
            product=self.product,
            file="nexus_shop/images/00/x.png",
            content_hash="0" * 64,
            width=1,
            height=1,
        )
        # Whose credentials the auth endpoints use: the caller's, or a bystander's.
        self.account = UserFactory(username=f"account-{uuid.uuid4().hex[:8]}")
        self.user: Any = None
        if role == "customer":
            self.user = UserFactory(username=f"customer-{uuid.uuid4().hex[:8]}")
        elif role == "staff_without":
            self.user = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}", perms=[])
        elif role == "staff_with":
            codenames = [name.split(".", 1)[1] for name in perms]
            self.user = StaffFactory(username=f"staff-{uuid.uuid4().hex[:8]}", perms=codenames)
        if self.user is not None:
            self.account = self.user
        self.refresh = str(refresh_token_for(self.account))
        # The purchase path: the caller's own cart (when signed in), and a bystander's cart
        # line and order that no caller but staff may see.
        if self.user is not None:
            cart = Cart.objects.create(user=self.user)
            CartLine.objects.create(
                cart=cart, product=self.product, variant=self.variant, quantity=1
            )
        bystander = UserFactory(username=f"bystander-{uuid.uuid4().hex[:8]}")
        their_cart = Cart.objects.create(user=bystander)
        self.their_line = CartLine.objects.create(
            cart=their_cart, product=self.product, variant=self.variant, quantity=1
        )
        self.their_order = Order.objects.create(
            number=self.unique("9"),
            user=bystander,
            subtotal=Decimal("1.00"),
            shipping=Decimal("0.00"),
            tax=Decimal("0.00"),
            total=Decimal("1.00"),
            currency="USD",
        )

        # A webhook endpoint and one failed delivery of an event to it.
        self.endpoint = webhook_rows.endpoint()
        self.delivery = webhook_rows.delivery(self.endpoint, webhook_rows.event(), status="failed")

    def unique(self, prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _product_body(world: World) -> dict[str, Any]:
    return {
        "name": world.unique("Lamp"),
        "sku": world.unique("SKU").upper(),
        "price": "19.99",
        "stock": 3,
        "category_id": world.category.pk,
    }


@dataclass(frozen=True)
class Row:
    access: str | Perm
    path: Callable[[World], dict[str, Any]] = lambda world: {}
    body: Callable[[World], dict[str, Any] | None] = lambda world: None
    query: Callable[[World], dict[str, Any]] = lambda world: {}
    expect: dict[str, int] = field(default_factory=dict)  # per-role overrides
    headers: Callable[[World], dict[str, str]] = lambda world: {}
    # A multipart form instead of a JSON body (the image upload).
    form: Callable[[World], dict[str, Any]] | None = None


CATEGORY = {"category_id": lambda w: w.category.pk}
_PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
    b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff"
    b"\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
PRODUCT = {"product_id": lambda w: w.product.pk}


NOT_THEIRS = {"anonymous": 404, "customer": 404, "staff_without": 404, "staff_with": 404}
THEIR_LINE = {"line_id": lambda w: w.their_line.pk}
THEIR_ORDER = {"number": lambda w: w.their_order.number}


def _path(**params: Callable[[World], Any]) -> Callable[[World], dict[str, Any]]:
    return lambda world: {name: get(world) for name, get in params.items()}


WEBHOOKS = Perm("nexus_shop.manage_webhooks")
ENDPOINT = {"id": lambda w: w.endpoint.pk}


MATRIX: dict[str, Row] = {
    # Health and auth: open to everyone (the credentials are in the body).
    "health": Row(PUBLIC),
    "health_live": Row(PUBLIC),
    "health_ready": Row(PUBLIC),
    "auth_register": Row(
        PUBLIC,
        body=lambda w: {
            "username": (name := w.unique("newcomer")),
            "email": f"{name}@example.com",
            "password": NEW_PASSWORD,
        },
    ),
    "auth_token_obtain": Row(
        PUBLIC, body=lambda w: {"username": w.account.username, "password": PASSWORD}
    ),
    "auth_token_refresh": Row(PUBLIC, body=lambda w: {"refresh": w.refresh}),
    "auth_token_verify": Row(PUBLIC, body=lambda w: {"token": w.refresh}),
    "auth_logout": Row(PUBLIC, body=lambda w: {"refresh": w.refresh}),
    "auth_me": Row(SIGNED_IN),
    "auth_password_change": Row(
        SIGNED_IN, body=lambda w: {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    ),
    # Catalogue reads: public; catalogue staff (any product write permission, see
    # selectors.visibility.is_catalogue_staff) see more products, category staff (any
    # category write permission, is_category_staff) deleted categories; nobody is refused.
    "category_list": Row(PUBLIC),
    "category_get": Row(PUBLIC, path=_path(**CATEGORY)),
    "product_list": Row(PUBLIC),
    "product_facets": Row(PUBLIC),
    "product_get": Row(PUBLIC, path=_path(**PRODUCT)),
    # Catalogue writes: Django model permissions.
    "category_create": Row(
        Perm("nexus_shop.add_category"), body=lambda w: {"name": w.unique("Lighting")}
    ),
    "category_update": Row(
        Perm("nexus_shop.change_category"),
        path=_path(**CATEGORY),
        body=lambda w: {"description": "Lamps and bulbs."},
    ),
    "category_delete": Row(
        Perm("nexus_shop.delete_category"),
        path=_path(category_id=lambda w: w.empty_category.pk),
    ),
    "category_restore": Row(
        Perm("nexus_shop.delete_category"),
        path=_path(category_id=lambda w: w.deleted_category.pk),
    ),
    "product_create": Row(Perm("nexus_shop.add_product"), body=_product_body),
    "product_replace": Row(
        Perm("nexus_shop.change_product"), path=_path(**PRODUCT), body=_product_body
    ),
    "product_update": Row(
        Perm("nexus_shop.change_product"), path=_path(**PRODUCT), body=lambda w: {"stock": 7}
    ),
    "product_delete": Row(Perm("nexus_shop.delete_product"), path=_path(**PRODUCT)),
    "image_create": Row(
        Perm("nexus_shop.change_product"),
        path=_path(**PRODUCT),
        form=lambda w: {"file": SimpleUploadedFile("a.png", _PNG, "image/png"), "alt": "A"},
    ),
    "image_update": Row(
        Perm("nexus_shop.change_product"),
        path=_path(**PRODUCT, image_id=lambda w: w.image.pk),
        body=lambda w: {"alt": "B"},
    ),
    "image_delete": Row(
        Perm("nexus_shop.change_product"), path=_path(**PRODUCT, image_id=lambda w: w.image.pk)
    ),
    "product_restore": Row(
        Perm("nexus_shop.delete_product"),
        path=_path(product_id=lambda w: w.deleted_product.pk),
    ),
    # Variants: part of their product, under the product's permissions.
    "variant_create": Row(
        Perm("nexus_shop.change_product"),
        path=_path(product_id=lambda w: w.shirt.pk),
        body=lambda w: {
            "sku": w.unique("XL"),
            "options": {"Size": "XL"},
            "price": "9",
            "stock": 1,
        },
    ),
    "variant_update": Row(
        Perm("nexus_shop.change_product"),
        path=_path(**PRODUCT, variant_id=lambda w: w.variant.pk),
        body=lambda w: {"stock_delta": 2},
    ),
    "variant_delete": Row(
        Perm("nexus_shop.delete_product"),
        path=_path(product_id=lambda w: w.shirt.pk, variant_id=lambda w: w.shirt_variants[0].pk),
    ),
    "variant_restore": Row(
        Perm("nexus_shop.delete_product"),
        path=_path(product_id=lambda w: w.shirt.pk, variant_id=lambda w: w.deleted_variant.pk),
    ),
    # Carts: anyone may start one; each holder sees only their own (anonymous callers here
    # send no X-Cart-Token, so they hold none). Another holder's line is a 404.
    "cart_create": Row(PUBLIC, expect={"anonymous": 201}),  # users already have one: 200
    "cart_get": Row(PUBLIC, expect={"anonymous": 404}),
    "cart_clear": Row(PUBLIC, expect={"anonymous": 404}),
    "cart_add_item": Row(
        PUBLIC,
        body=lambda w: {"product_id": w.product.pk, "quantity": 1},
        expect={"anonymous": 404},
    ),
    "cart_update_item": Row(
        PUBLIC, path=_path(**THEIR_LINE), body=lambda w: {"quantity": 2}, expect=NOT_THEIRS
    ),
    "cart_remove_item": Row(PUBLIC, path=_path(**THEIR_LINE), expect=NOT_THEIRS),
    # Checkout and orders: signed in; another user's order is a 404, whoever asks.
    "checkout": Row(
        SIGNED_IN, body=lambda w: {}, headers=lambda w: {"Idempotency-Key": w.unique("key")}
    ),
    "order_list": Row(SIGNED_IN),
    "order_get": Row(
        SIGNED_IN,
        path=_path(**THEIR_ORDER),
        expect={"customer": 404, "staff_without": 404, "staff_with": 404},
    ),
    "order_cancel": Row(
        SIGNED_IN,
        path=_path(**THEIR_ORDER),
        expect={"customer": 404, "staff_without": 404, "staff_with": 404},
    ),
    "staff_order_list": Row(Perm("nexus_shop.view_order")),
    "staff_order_get": Row(Perm("nexus_shop.view_order"), path=_path(**THEIR_ORDER)),
    "staff_order_transition": Row(
        Perm("nexus_shop.change_order"),
        path=_path(**THEIR_ORDER),
        body=lambda w: {"status": "paid"},
    ),
    # Webhooks: one permission for all of it (endpoints hold secrets, events hold orders).
    "webhook_create": Row(
        WEBHOOKS, body=lambda w: {"url": webhook_rows.RECEIVER, "events": ["order.paid"]}
    ),
    "webhook_list": Row(WEBHOOKS),
    "webhook_event_types": Row(WEBHOOKS),
    "webhook_events": Row(WEBHOOKS),
    "webhook_get": Row(WEBHOOKS, path=_path(**ENDPOINT)),
    "webhook_update": Row(WEBHOOKS, path=_path(**ENDPOINT), body=lambda w: {"description": "x"}),
    "webhook_delete": Row(WEBHOOKS, path=_path(**ENDPOINT)),
    "webhook_rotate_secret": Row(WEBHOOKS, path=_path(**ENDPOINT)),
    "webhook_ping": Row(WEBHOOKS, path=_path(**ENDPOINT)),
    "webhook_delivery_list": Row(WEBHOOKS, path=_path(**ENDPOINT)),
    "webhook_redeliver": Row(WEBHOOKS, path=_path(**ENDPOINT, delivery_id=lambda w: w.delivery.pk)),
    "webhook_redeliver_since": Row(
        WEBHOOKS, path=_path(**ENDPOINT), body=lambda w: {"since": "2026-01-01T00:00:00Z"}
    ),
}


def _operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """``operation_id -> (method, path template, operation)`` from the OpenAPI document."""
    schema = api.get_openapi_schema(path_prefix="/api/")
    found = {}
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method == "head":
                continue  # its GET's access, answered as the GET (tests/test_head.py)
            found[operation["operationId"]] = (method, path, operation)
    return found


def _success(operation: dict[str, Any]) -> int:
    return min(int(code) for code in operation["responses"] if str(code).startswith("2"))


def expected(row: Row, role: str, operation: dict[str, Any]) -> int:
    if role in row.expect:
        return row.expect[role]
    if row.access == PUBLIC:
        return _success(operation)
    if role == "anonymous":
        return 401
    if row.access == SIGNED_IN or role == "staff_with":
        return _success(operation)
    return 403


def test_every_operation_has_a_row() -> None:
    """An endpoint added without deciding who may call it fails here (see the module doc)."""
    operations = set(_operations())
    assert operations - set(MATRIX) == set(), "add a row to MATRIX for each of these"
    assert set(MATRIX) - operations == set(), "these rows name no operation any more"


def test_every_denial_is_declared_in_the_document() -> None:
    operations = _operations()
    for operation_id, row in MATRIX.items():
        _, _, operation = operations[operation_id]
        for role in ROLES:
            status = expected(row, role, operation)
            declared = {str(code) for code in operation["responses"]}
            assert str(status) in declared, (operation_id, role, status)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation_id", sorted(MATRIX))
def test_access(operation_id: str, role: str) -> None:
    row = MATRIX[operation_id]
    operations = _operations()
    assert operation_id in operations, f"{operation_id} is not in the OpenAPI document"
    method, template, operation = operations[operation_id]
    perms = row.access.names if isinstance(row.access, Perm) else ()
    world = World(role, perms)

    path = template.format(**row.path(world))
    headers = bearer(world.user) if world.user is not None else {}
    client = Client(headers={**headers, **row.headers(world)})
    body = row.body(world)
    kwargs: dict[str, Any] = {"content_type": "application/json"} if body is not None else {}
    if method == "get":
        response = client.get(path, row.query(world))
    elif row.form is not None:
        response = client.post(path, row.form(world))
    else:
        response = getattr(client, method)(path, body if body is not None else None, **kwargs)

    want = expected(row, role, operation)
    assert response.status_code == want, (
        operation_id,
        role,
        response.status_code,
        response.content,
    )
    if want in {401, 403}:
        assert "detail" in response.json()


PRODUCT_READS = ("product_list", "product_facets", "product_get")
CATEGORY_READS = ("category_list", "category_get")
CATEGORY_PERMS = ["add_category", "change_category", "delete_category"]
PRODUCT_PERMS = ["add_product", "change_product", "delete_product"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reads", "perms"),
    [
        (PRODUCT_READS, []),
        (PRODUCT_READS, ["view_product"]),
        (PRODUCT_READS, CATEGORY_PERMS),
        (CATEGORY_READS, []),
        (CATEGORY_READS, ["view_category"]),
        (CATEGORY_READS, PRODUCT_PERMS),
    ],
)
def test_a_signed_in_caller_who_is_not_staff_reads_what_anonymous_reads(
    reads: tuple[str, ...], perms: list[str]
) -> None:
    """The catalogue reads answer a user who is not staff for them exactly as they answer
    an anonymous caller (which is what lets a cache answer both alike): the product reads
    when ``is_catalogue_staff`` is false, the category reads when ``is_category_staff`` is."""
    world = World("anonymous", ())
    hidden = ProductFactory(category=world.category, is_active=False)
    user = StaffFactory(username=world.unique("staff"), perms=perms)
    operations = _operations()
    signed_in = Client(headers=bearer(user))
    for operation_id in reads:
        row = MATRIX[operation_id]
        _, template, _ = operations[operation_id]
        hidden_ones = {"product_id": hidden.pk, "category_id": world.deleted_category.pk}
        for params in (row.path(world), {**row.path(world), **hidden_ones}):
            path = template.format(**params)
            query = {**row.query(world), "include_deleted": "true"}
            anonymous = Client().get(path, query)
            assert signed_in.get(path, query).content == anonymous.content, operation_id
