"""Every operation of docs/openapi.json, called through the functions openapi-python-client
generates from it, against a live server (issue 21).

tests/heavy/test_generated_clients.py type-checks this file with ``mypy --strict``
against the generated package ``nexus_shop_client``, runs it against the example project,
and records every request it sends (``on_response``): an operation of the document that
no step calls fails that test. Each step asserts its status and that the body parses into
the model the document declares; the clients raise ``UnexpectedStatus`` on any status the
document does not declare for the operation.

On purpose along the way: revalidations (304), a stale ``If-Match`` (412), a checkout
over stock (409 and its ``lines``), a checkout without ``Idempotency-Key`` (428, by a raw
request: the typed function makes the key a required argument), a throttled refresh (429
and its ``Retry-After``: the server allows one refresh a minute,
tests/heavy/client_scenario_settings.py) and the HEAD of every GET.
"""

from __future__ import annotations

import datetime
import io
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any, TypeVar

import httpx
from nexus_shop_client import AuthenticatedClient, Client
from nexus_shop_client.api.auth import (
    auth_logout,
    auth_me,
    auth_me_head,
    auth_password_change,
    auth_register,
    auth_token_obtain,
    auth_token_refresh,
    auth_token_verify,
)
from nexus_shop_client.api.cart import (
    cart_add_item,
    cart_clear,
    cart_create,
    cart_get,
    cart_get_head,
    cart_remove_item,
    cart_update_item,
)
from nexus_shop_client.api.catalog import (
    category_create,
    category_delete,
    category_get,
    category_get_head,
    category_list,
    category_list_head,
    category_restore,
    category_update,
    product_create,
    product_delete,
    product_facets,
    product_facets_head,
    product_get,
    product_get_head,
    product_list,
    product_list_head,
    product_replace,
    product_restore,
    product_update,
    variant_create,
    variant_delete,
    variant_restore,
    variant_update,
)
from nexus_shop_client.api.health import (
    health,
    health_head,
    health_live,
    health_live_head,
    health_ready,
    health_ready_head,
)
from nexus_shop_client.api.images import image_create, image_delete, image_update
from nexus_shop_client.api.orders import (
    checkout,
    order_cancel,
    order_get,
    order_get_head,
    order_list,
    order_list_head,
)
from nexus_shop_client.api.staff_orders import (
    staff_order_get,
    staff_order_get_head,
    staff_order_list,
    staff_order_list_head,
    staff_order_transition,
)
from nexus_shop_client.api.webhooks import (
    webhook_create,
    webhook_delete,
    webhook_delivery_list,
    webhook_delivery_list_head,
    webhook_event_types,
    webhook_event_types_head,
    webhook_events,
    webhook_events_head,
    webhook_get,
    webhook_get_head,
    webhook_list,
    webhook_list_head,
    webhook_ping,
    webhook_redeliver,
    webhook_redeliver_since,
    webhook_rotate_secret,
    webhook_update,
)
from nexus_shop_client.models import (
    CartLineIn,
    CartLinePatch,
    CartOut,
    CategoryIn,
    CategoryOut,
    CategoryPatch,
    CheckoutIn,
    DeliveryOut,
    DeliveryStatus,
    Error,
    EventTypeOut,
    HealthOut,
    HealthOutStatus,
    ImageCreateMultiPartBodyParams,
    ImageOut,
    ImagePatch,
    LiveOut,
    MeOut,
    OptionIn,
    OrderOut,
    OrderStatus,
    OrderTransitionIn,
    PageOutCategoryOut,
    PageOutDeliveryOut,
    PageOutEventOut,
    PageOutOrderOut,
    PageOutProductOut,
    PageOutStaffOrderOut,
    PageOutWebhookEndpointOut,
    PasswordChangeIn,
    ProductDetailOut,
    ProductFacetsOut,
    ProductIn,
    ProductOrdering,
    ProductPatch,
    ProductReplace,
    ReadyOut,
    ReadyOutDatabase,
    RedeliveredOut,
    RedeliverSinceIn,
    RefreshIn,
    RegisterIn,
    ShippingAddress,
    StaffOrderOut,
    StockShortfall,
    TokenObtainIn,
    TokenPairOut,
    UserOut,
    VariantIn,
    VariantInOptions,
    VariantOut,
    VariantPatch,
    VariantReplace,
    VariantReplaceOptions,
    VerifyIn,
    VerifyOut,
    WebhookEndpointCreatedOut,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointPatch,
    WebhookSecretOut,
)
from nexus_shop_client.types import UNSET, File, Response, Unset
from PIL import Image

T = TypeVar("T")
OnResponse = Callable[[httpx.Response], None]

SHOPPER = "grace"
SHOPPER_EMAIL = "grace@example.com"
FIRST_PASSWORD = "Compiler-Moth-1947"
NEW_PASSWORD = "Harvard-Mark-1944"
# Nothing listens there; the scenario's server allows 127.0.0.1/32 for webhooks
# (tests/heavy/client_scenario_settings.py) and runs no delivery worker.
RECEIVER = "https://127.0.0.1:9/hooks/nexus"


def parsed(response: Response[Any], status: int, model: type[T]) -> T:
    """The body of ``response``, which answered ``status`` with a ``model``."""
    assert response.status_code == status, (response.status_code, response.content)
    assert isinstance(response.parsed, model), (model, response.content)
    return response.parsed


def bodiless(response: Response[Any], status: int) -> None:
    """``response`` answered ``status`` with no body (a 204, a 304, a HEAD)."""
    assert response.status_code == status, (response.status_code, response.content)
    assert response.content == b""


def head_of(head: Response[Any], get: Response[Any]) -> None:
    """``head`` is the HEAD of the GET that answered ``get``: its status and headers."""
    bodiless(head, get.status_code)
    for name in ("ETag", "Cache-Control"):
        assert head.headers.get(name) == get.headers.get(name), name
    assert head.headers["Content-Length"] == str(len(get.content))


def png() -> bytes:
    """A small picture, as a shop's staff would upload one."""
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (30, 120, 60)).save(out, format="PNG")
    return out.getvalue()


class Scenario:
    """One shop's life: staff build the catalogue, a shopper buys, staff ship."""

    def __init__(self, base_url: str, on_response: OnResponse, stack: ExitStack) -> None:
        self.base_url = base_url
        self.stack = stack
        # Every client raises UnexpectedStatus on a status its operation does not declare.
        self.options: dict[str, Any] = {
            "raise_on_unexpected_status": True,
            "httpx_args": {"event_hooks": {"response": [on_response]}},
        }
        self.public = stack.enter_context(Client(base_url=base_url, **self.options))

    def authenticated(self, token: str) -> AuthenticatedClient:
        client = AuthenticatedClient(base_url=self.base_url, token=token, **self.options)
        return self.stack.enter_context(client)

    def log_in(self, username: str, password: str) -> TokenPairOut:
        body = TokenObtainIn(username=username, password=password)
        return parsed(
            auth_token_obtain.sync_detailed(client=self.public, body=body), 200, TokenPairOut
        )

    # Health and staff ------------------------------------------------------------------

    def health(self) -> None:
        answer = health.sync_detailed(client=self.public)
        assert parsed(answer, 200, HealthOut).status == HealthOutStatus.OK
        head_of(health_head.sync_detailed(client=self.public), answer)
        live = health_live.sync_detailed(client=self.public)
        assert parsed(live, 200, LiveOut).status == "ok"
        head_of(health_live_head.sync_detailed(client=self.public), live)
        ready = health_ready.sync_detailed(client=self.public)
        assert parsed(ready, 200, ReadyOut).database == ReadyOutDatabase.OK
        head_of(health_ready_head.sync_detailed(client=self.public), ready)

    def staff_logs_in(self, username: str, password: str) -> AuthenticatedClient:
        pair = self.log_in(username, password)
        verified = auth_token_verify.sync_detailed(
            client=self.public, body=VerifyIn(token=pair.access)
        )
        parsed(verified, 200, VerifyOut)
        staff = self.authenticated(pair.access)
        me = auth_me.sync_detailed(client=staff)
        assert "nexus_shop.change_order" in parsed(me, 200, MeOut).permissions
        head_of(auth_me_head.sync_detailed(client=staff), me)
        return staff

    # Categories ------------------------------------------------------------------------

    def categories(self, staff: AuthenticatedClient) -> tuple[CategoryOut, CategoryOut]:
        def create(body: CategoryIn) -> CategoryOut:
            return parsed(category_create.sync_detailed(client=staff, body=body), 201, CategoryOut)

        drinks = create(CategoryIn(name="Drinks"))
        tea = create(CategoryIn(name="Tea", parent_id=drinks.id))
        seasonal = create(CategoryIn(name="Seasonal", description="Gone by spring"))

        first = category_list.sync_detailed(client=self.public, page_size=2)
        page = parsed(first, 200, PageOutCategoryOut)
        assert isinstance(page.next_cursor, str)
        rest = category_list.sync_detailed(client=self.public, page_size=2, cursor=page.next_cursor)
        last = parsed(rest, 200, PageOutCategoryOut)
        assert last.next_cursor is None
        assert {c.id for c in page.items + last.items} == {drinks.id, tea.id, seasonal.id}
        again = category_list.sync_detailed(
            client=self.public, page_size=2, if_none_match=first.headers["ETag"]
        )
        bodiless(again, 304)
        head_of(category_list_head.sync_detailed(client=self.public, page_size=2), first)

        got = category_get.sync_detailed(tea.id, client=self.public)
        assert parsed(got, 200, CategoryOut).parent_id == drinks.id
        etag = got.headers["ETag"]
        bodiless(category_get.sync_detailed(tea.id, client=self.public, if_none_match=etag), 304)
        head_of(category_get_head.sync_detailed(tea.id, client=self.public), got)

        changed = category_update.sync_detailed(
            tea.id, client=staff, body=CategoryPatch(description="Leaves"), if_match=etag
        )
        assert parsed(changed, 200, CategoryOut).description == "Leaves"
        assert changed.headers["ETag"] != etag
        stale = category_update.sync_detailed(
            tea.id, client=staff, body=CategoryPatch(name="Tisane"), if_match=etag
        )
        parsed(stale, 412, Error)

        seasonal_etag = category_get.sync_detailed(seasonal.id, client=self.public).headers["ETag"]
        deleted = category_delete.sync_detailed(seasonal.id, client=staff, if_match=seasonal_etag)
        bodiless(deleted, 204)
        parsed(category_get.sync_detailed(seasonal.id, client=self.public), 404, Error)
        # Staff find it with include_deleted, and restore it with the ETag they read.
        found = category_get.sync_detailed(seasonal.id, client=staff, include_deleted=True)
        parsed(found, 200, CategoryOut)
        restored = category_restore.sync_detailed(
            seasonal.id, client=staff, if_match=found.headers["ETag"]
        )
        assert parsed(restored, 200, CategoryOut).id == seasonal.id
        parsed(category_get.sync_detailed(seasonal.id, client=self.public), 200, CategoryOut)
        bodiless(category_delete.sync_detailed(seasonal.id, client=staff), 204)
        return drinks, tea

    # Products, variants, images --------------------------------------------------------

    def staff_etag(self, staff: AuthenticatedClient, product_id: int) -> str:
        """The product's current ``ETag``, as staff see it (deleted ones too)."""
        answer = product_get.sync_detailed(product_id, client=staff, include_deleted=True)
        parsed(answer, 200, ProductDetailOut)
        return answer.headers["ETag"]

    def products(
        self, staff: AuthenticatedClient, drinks: CategoryOut, tea: CategoryOut
    ) -> dict[str, ProductDetailOut]:
        def create(body: ProductIn) -> ProductDetailOut:
            return parsed(
                product_create.sync_detailed(client=staff, body=body), 201, ProductDetailOut
            )

        sencha = create(
            ProductIn(name="Sencha", sku="TEA-1", price="4.50", stock=10, category_id=tea.id)
        )
        mug = create(
            ProductIn(name="Tea mug", sku="MUG-1", price="12.00", stock=1, category_id=drinks.id)
        )
        kettle = create(
            ProductIn(name="Kettle", sku="KET-1", price="25.00", stock=3, category_id=drinks.id)
        )
        shirt = create(
            ProductIn(
                name="Linen shirt",
                sku="SHIRT",
                options=[OptionIn(name="Size", values=["S", "M", "L"])],
                variants=[
                    VariantReplace(
                        sku=f"SHIRT-{size}",
                        price=price,
                        stock=5,
                        options=VariantReplaceOptions.from_dict({"Size": size}),
                    )
                    for size, price in (("S", "30.00"), ("M", "32.00"))
                ],
            )
        )
        assert [v.sku for v in shirt.variants] == ["SHIRT-S", "SHIRT-M"]

        # A product: patch, a stale If-Match, replace.
        etag = self.staff_etag(staff, sencha.id)
        patched = product_update.sync_detailed(
            sencha.id, client=staff, body=ProductPatch(description="First flush"), if_match=etag
        )
        assert parsed(patched, 200, ProductDetailOut).description == "First flush"
        stale = product_update.sync_detailed(
            sencha.id, client=staff, body=ProductPatch(price="1.00"), if_match=etag
        )
        parsed(stale, 412, Error)
        replaced = product_replace.sync_detailed(
            sencha.id,
            client=staff,
            body=ProductReplace(
                name="Sencha",
                sku="TEA-1",
                description="Steamed green tea",
                price="4.50",
                stock=10,
                category_id=tea.id,
            ),
            if_match=patched.headers["ETag"],
        )
        sencha = parsed(replaced, 200, ProductDetailOut)
        assert sencha.description == "Steamed green tea"

        # Variants: a third size, a price change, deleted and restored.
        added = variant_create.sync_detailed(
            shirt.id,
            client=staff,
            body=VariantIn(
                sku="SHIRT-L",
                price="34.00",
                stock=2,
                options=VariantInOptions.from_dict({"Size": "L"}),
            ),
            if_match=self.staff_etag(staff, shirt.id),
        )
        large = _variant(parsed(added, 201, ProductDetailOut), "SHIRT-L")
        repriced = variant_update.sync_detailed(
            shirt.id,
            large.id,
            client=staff,
            body=VariantPatch(price="35.00"),
            if_match=added.headers["ETag"],
        )
        assert _variant(parsed(repriced, 200, ProductDetailOut), "SHIRT-L").price == "35.00"
        restocked = variant_update.sync_detailed(  # stock_delta needs no If-Match
            shirt.id, large.id, client=staff, body=VariantPatch(stock_delta=3)
        )
        assert _variant(parsed(restocked, 200, ProductDetailOut), "SHIRT-L").stock == 5
        gone = variant_delete.sync_detailed(
            shirt.id, large.id, client=staff, if_match=restocked.headers["ETag"]
        )
        bodiless(gone, 204)
        back = variant_restore.sync_detailed(
            shirt.id, large.id, client=staff, if_match=self.staff_etag(staff, shirt.id)
        )
        shirt = parsed(back, 200, ProductDetailOut)
        assert [v.sku for v in shirt.variants] == ["SHIRT-S", "SHIRT-M", "SHIRT-L"]

        # Images: upload (multipart), edit, delete.
        medium = _variant(shirt, "SHIRT-M")
        upload = ImageCreateMultiPartBodyParams(
            file=File(payload=io.BytesIO(png()), file_name="shirt.png", mime_type="image/png"),
            alt="A linen shirt",
            variant_ids=[medium.id],
        )
        created = image_create.sync_detailed(
            shirt.id, client=staff, body=upload, if_match=self.staff_etag(staff, shirt.id)
        )
        image = parsed(created, 201, ImageOut)
        assert (image.width, image.height, image.variant_ids) == (24, 16, [medium.id])
        edited = image_update.sync_detailed(
            shirt.id, image.id, client=staff, body=ImagePatch(alt="A linen shirt, front")
        )
        assert parsed(edited, 200, ImageOut).alt == "A linen shirt, front"
        bodiless(image_delete.sync_detailed(shirt.id, image.id, client=staff), 204)

        # A product deleted (the public no longer sees it) and restored.
        deleted = product_delete.sync_detailed(
            kettle.id, client=staff, if_match=self.staff_etag(staff, kettle.id)
        )
        bodiless(deleted, 204)
        parsed(product_get.sync_detailed(kettle.id, client=self.public), 404, Error)
        restored = product_restore.sync_detailed(
            kettle.id, client=staff, if_match=self.staff_etag(staff, kettle.id)
        )
        parsed(restored, 200, ProductDetailOut)
        return {"sencha": sencha, "mug": mug, "kettle": kettle, "shirt": shirt}

    def browse(self, category: CategoryOut, products: dict[str, ProductDetailOut]) -> None:
        """Public reads: filters, a cursor, facets, revalidations and HEADs."""

        def drinks(
            *, cursor: str | Unset = UNSET, if_none_match: str | Unset = UNSET
        ) -> Response[Any | Error | PageOutProductOut]:
            return product_list.sync_detailed(
                client=self.public,
                category=category.slug,
                min_price="1",
                max_price="40",
                in_stock=True,
                ordering=ProductOrdering.PRICE_DESC,
                page_size=2,
                cursor=cursor,
                if_none_match=if_none_match,
            )

        first = drinks()
        page = parsed(first, 200, PageOutProductOut)
        assert [p.name for p in page.items] == ["Kettle", "Tea mug"]
        assert isinstance(page.next_cursor, str)
        last = parsed(drinks(cursor=page.next_cursor), 200, PageOutProductOut)
        assert [p.name for p in last.items] == ["Sencha"]
        assert last.next_cursor is None
        bodiless(drinks(if_none_match=first.headers["ETag"]), 304)
        head = product_list_head.sync_detailed(
            client=self.public,
            category=category.slug,
            min_price="1",
            max_price="40",
            in_stock=True,
            ordering=ProductOrdering.PRICE_DESC,
            page_size=2,
        )
        head_of(head, first)

        sized = product_list.sync_detailed(client=self.public, option=["size:l"])
        assert [p.name for p in parsed(sized, 200, PageOutProductOut).items] == ["Linen shirt"]
        found = product_list.sync_detailed(
            client=self.public, q="steamed", ordering=ProductOrdering.RELEVANCE
        )
        assert [p.name for p in parsed(found, 200, PageOutProductOut).items] == ["Sencha"]

        facets = product_facets.sync_detailed(client=self.public, category=category.slug)
        counted = parsed(facets, 200, ProductFacetsOut)
        assert counted.count == 3
        assert counted.subtree is not None
        etag = facets.headers["ETag"]
        bodiless(
            product_facets.sync_detailed(
                client=self.public, category=category.slug, if_none_match=etag
            ),
            304,
        )
        head = product_facets_head.sync_detailed(client=self.public, category=category.slug)
        head_of(head, facets)

        shirt = products["shirt"]
        detail = product_get.sync_detailed(shirt.id, client=self.public)
        assert len(parsed(detail, 200, ProductDetailOut).variants) == 3
        etag = detail.headers["ETag"]
        bodiless(product_get.sync_detailed(shirt.id, client=self.public, if_none_match=etag), 304)
        head_of(product_get_head.sync_detailed(shirt.id, client=self.public), detail)

    # A shopper --------------------------------------------------------------------------

    def shopper_signs_up(self) -> tuple[AuthenticatedClient, UserOut, TokenPairOut]:
        body = RegisterIn(username=SHOPPER, email=SHOPPER_EMAIL, password=FIRST_PASSWORD)
        user = parsed(auth_register.sync_detailed(client=self.public, body=body), 201, UserOut)
        pair = self.log_in(SHOPPER, FIRST_PASSWORD)
        refresh = auth_token_refresh.sync_detailed(
            client=self.public, body=RefreshIn(refresh=pair.refresh)
        )
        pair = parsed(refresh, 200, TokenPairOut)
        # The server allows one refresh a minute: the second is a 429 that says when to retry.
        throttled = auth_token_refresh.sync_detailed(
            client=self.public, body=RefreshIn(refresh=pair.refresh)
        )
        error = parsed(throttled, 429, Error)
        retry_after = int(throttled.headers["Retry-After"])
        assert 0 < retry_after <= 60
        assert error.retry_after == retry_after

        changed = auth_password_change.sync_detailed(
            client=self.authenticated(pair.access),
            body=PasswordChangeIn(old_password=FIRST_PASSWORD, new_password=NEW_PASSWORD),
        )
        bodiless(changed, 204)
        pair = self.log_in(SHOPPER, NEW_PASSWORD)
        return self.authenticated(pair.access), user, pair

    def anonymous_cart(self, products: dict[str, ProductDetailOut]) -> str:
        """A cart started without an account: its token."""
        created = cart_create.sync_detailed(client=self.public)
        token = parsed(created, 201, CartOut).token
        assert isinstance(token, str)

        def add(line: CartLineIn) -> CartOut:
            answer = cart_add_item.sync_detailed(client=self.public, body=line, x_cart_token=token)
            return parsed(answer, 200, CartOut)

        add(CartLineIn(product_id=products["sencha"].id, quantity=2))
        medium = _variant(products["shirt"], "SHIRT-M")
        cart = add(CartLineIn(variant_id=medium.id))
        line = next(line for line in cart.lines if line.variant_id == medium.id)
        more = cart_update_item.sync_detailed(
            line.id, client=self.public, body=CartLinePatch(quantity=3), x_cart_token=token
        )
        assert [ln.quantity for ln in parsed(more, 200, CartOut).lines] == [2, 3]
        fewer = cart_remove_item.sync_detailed(line.id, client=self.public, x_cart_token=token)
        assert len(parsed(fewer, 200, CartOut).lines) == 1
        cart_now = cart_get.sync_detailed(client=self.public, x_cart_token=token)
        assert parsed(cart_now, 200, CartOut).subtotal == "9.00"
        head_of(cart_get_head.sync_detailed(client=self.public, x_cart_token=token), cart_now)
        return token

    def checkouts(
        self, shopper: AuthenticatedClient, token: str, products: dict[str, ProductDetailOut]
    ) -> tuple[OrderOut, OrderOut]:
        # The anonymous cart merged into the shopper's, with an address; a retry is safe.
        key = str(uuid.uuid4())
        body = CheckoutIn(
            email=SHOPPER_EMAIL,
            shipping_address=ShippingAddress(
                name="Grace Hopper",
                line1="1 Navy Way",
                city="Arlington",
                postal_code="22202",
                country="US",
            ),
        )
        placed = checkout.sync_detailed(
            client=shopper, body=body, idempotency_key=key, x_cart_token=token
        )
        first = parsed(placed, 201, OrderOut)
        assert (first.status, first.total) == (OrderStatus.PENDING_PAYMENT, "9.00")
        retried = checkout.sync_detailed(client=shopper, body=body, idempotency_key=key)
        assert parsed(retried, 201, OrderOut).number == first.number

        # Without the key (the typed function will not send that): 428, in the error shape.
        raw = shopper.get_httpx_client().post("/api/checkout")
        assert raw.status_code == 428, raw.content
        Error.from_dict(raw.json())

        # Over stock: a 409 whose lines say what is short; nothing ordered.
        mug = products["mug"]
        added = cart_add_item.sync_detailed(
            client=shopper, body=CartLineIn(product_id=mug.id, quantity=3)
        )
        line = parsed(added, 200, CartOut).lines[0]
        short = checkout.sync_detailed(client=shopper, idempotency_key=str(uuid.uuid4()))
        assert parsed(short, 409, Error).lines == [
            StockShortfall(product_id=mug.id, variant_id=line.variant_id, requested=3, available=1)
        ]
        fixed = cart_update_item.sync_detailed(
            line.id, client=shopper, body=CartLinePatch(quantity=1)
        )
        parsed(fixed, 200, CartOut)
        # No body: the cart is the order.
        second = checkout.sync_detailed(client=shopper, idempotency_key=str(uuid.uuid4()))
        return first, parsed(second, 201, OrderOut)

    def shopper_cart(
        self, shopper: AuthenticatedClient, products: dict[str, ProductDetailOut]
    ) -> None:
        """A user's cart needs no token: started, filled and cleared."""
        parsed(cart_create.sync_detailed(client=shopper), 201, CartOut)
        small = _variant(products["shirt"], "SHIRT-S")
        filled = cart_add_item.sync_detailed(client=shopper, body=CartLineIn(variant_id=small.id))
        parsed(filled, 200, CartOut)
        bodiless(cart_clear.sync_detailed(client=shopper), 204)
        assert parsed(cart_get.sync_detailed(client=shopper), 200, CartOut).lines == []

    def orders(self, shopper: AuthenticatedClient, first: OrderOut, second: OrderOut) -> None:
        newest = order_list.sync_detailed(client=shopper, page_size=1)
        page = parsed(newest, 200, PageOutOrderOut)
        assert ([o.number for o in page.items], page.count) == ([second.number], 2)
        assert isinstance(page.next_cursor, str)
        older = order_list.sync_detailed(client=shopper, page_size=1, cursor=page.next_cursor)
        assert [o.number for o in parsed(older, 200, PageOutOrderOut).items] == [first.number]
        head_of(order_list_head.sync_detailed(client=shopper, page_size=1), newest)

        got = order_get.sync_detailed(first.number, client=shopper)
        assert parsed(got, 200, OrderOut).email == SHOPPER_EMAIL
        head_of(order_get_head.sync_detailed(first.number, client=shopper), got)

        cancelled = order_cancel.sync_detailed(second.number, client=shopper)
        assert parsed(cancelled, 200, OrderOut).status == OrderStatus.CANCELLED
        parsed(order_cancel.sync_detailed(second.number, client=shopper), 409, Error)
        parsed(staff_order_list.sync_detailed(client=shopper), 403, Error)

    def staff_orders(self, staff: AuthenticatedClient, user: UserOut, order: OrderOut) -> None:
        pending = staff_order_list.sync_detailed(client=staff, status=OrderStatus.PENDING_PAYMENT)
        assert [o.number for o in parsed(pending, 200, PageOutStaffOrderOut).items] == [
            order.number
        ]
        head_of(
            staff_order_list_head.sync_detailed(client=staff, status=OrderStatus.PENDING_PAYMENT),
            pending,
        )
        got = staff_order_get.sync_detailed(order.number, client=staff)
        assert parsed(got, 200, StaffOrderOut).user_id == user.id
        head_of(staff_order_get_head.sync_detailed(order.number, client=staff), got)
        paid = staff_order_transition.sync_detailed(
            order.number, client=staff, body=OrderTransitionIn(status=OrderStatus.PAID)
        )
        assert parsed(paid, 200, StaffOrderOut).status == OrderStatus.PAID

    # Webhooks ---------------------------------------------------------------------------

    def webhooks(self, staff: AuthenticatedClient, shopper: AuthenticatedClient) -> None:
        """An endpoint's life: created (its secret once), read, changed, rotated, pinged,
        its deliveries listed and redelivered, the events feed read, disabled, deleted."""
        types = webhook_event_types.sync_detailed(client=staff)
        listed = parsed(types, 200, list)
        assert all(isinstance(kind, EventTypeOut) for kind in listed)
        assert {"order.paid", "webhook.ping"} <= {kind.name for kind in listed}
        head_of(webhook_event_types_head.sync_detailed(client=staff), types)

        body = WebhookEndpointIn(url=RECEIVER, events=["order.paid"], description="ERP")
        created = webhook_create.sync_detailed(client=staff, body=body)
        endpoint = parsed(created, 201, WebhookEndpointCreatedOut)
        assert endpoint.secret.startswith("whsec_")
        private = WebhookEndpointIn(url="https://10.0.0.7/hooks", events=["*"])
        parsed(webhook_create.sync_detailed(client=staff, body=private), 422, Error)
        parsed(webhook_list.sync_detailed(client=shopper), 403, Error)

        every = webhook_list.sync_detailed(client=staff)
        assert [e.id for e in parsed(every, 200, PageOutWebhookEndpointOut).items] == [endpoint.id]
        head_of(webhook_list_head.sync_detailed(client=staff), every)
        got = webhook_get.sync_detailed(endpoint.id, client=staff)
        assert parsed(got, 200, WebhookEndpointOut).events == ["order.paid"]
        head_of(webhook_get_head.sync_detailed(endpoint.id, client=staff), got)
        parsed(webhook_get.sync_detailed(endpoint.id + 1000, client=staff), 404, Error)

        changed = webhook_update.sync_detailed(
            endpoint.id, client=staff, body=WebhookEndpointPatch(events=["*"])
        )
        assert parsed(changed, 200, WebhookEndpointOut).events == ["*"]
        rotated = webhook_rotate_secret.sync_detailed(endpoint.id, client=staff)
        secret = parsed(rotated, 200, WebhookSecretOut)
        assert secret.secret != endpoint.secret
        assert isinstance(secret.previous_secret_expires_at, datetime.datetime)

        pinged = parsed(webhook_ping.sync_detailed(endpoint.id, client=staff), 202, DeliveryOut)
        assert (pinged.event_type, pinged.status) == ("webhook.ping", DeliveryStatus.PENDING)
        deliveries = webhook_delivery_list.sync_detailed(endpoint.id, client=staff)
        page = parsed(deliveries, 200, PageOutDeliveryOut)
        assert [d.webhook_id for d in page.items] == [pinged.webhook_id]
        head_of(webhook_delivery_list_head.sync_detailed(endpoint.id, client=staff), deliveries)
        again = webhook_redeliver.sync_detailed(endpoint.id, pinged.id, client=staff)
        assert parsed(again, 202, DeliveryOut).webhook_id == pinged.webhook_id
        since = RedeliverSinceIn(since=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
        replayed = webhook_redeliver_since.sync_detailed(endpoint.id, client=staff, body=since)
        assert parsed(replayed, 202, RedeliveredOut).deliveries >= 1

        feed = webhook_events.sync_detailed(client=staff, type_="webhook.ping")
        parsed(feed, 200, PageOutEventOut)  # what it shows depends on running transactions
        head_of(webhook_events_head.sync_detailed(client=staff, type_="webhook.ping"), feed)
        parsed(webhook_events.sync_detailed(client=staff, after="evt_999999999"), 422, Error)

        off = webhook_update.sync_detailed(
            endpoint.id, client=staff, body=WebhookEndpointPatch(is_enabled=False)
        )
        assert parsed(off, 200, WebhookEndpointOut).disabled_reason == "Disabled by staff."
        parsed(webhook_ping.sync_detailed(endpoint.id, client=staff), 409, Error)
        bodiless(webhook_delete.sync_detailed(endpoint.id, client=staff), 204)

    def log_out(self, pair: TokenPairOut) -> None:
        out = auth_logout.sync_detailed(client=self.public, body=RefreshIn(refresh=pair.refresh))
        bodiless(out, 204)


def _variant(product: ProductDetailOut, sku: str) -> VariantOut:
    return next(v for v in product.variants if v.sku == sku)


def run(base_url: str, *, staff: tuple[str, str], on_response: OnResponse) -> None:
    """The whole scenario; ``staff`` is a catalogue, order and webhook manager's username
    and password."""
    with ExitStack() as stack:
        shop = Scenario(base_url, on_response, stack)
        shop.health()
        manager = shop.staff_logs_in(*staff)
        drinks, tea = shop.categories(manager)
        products = shop.products(manager, drinks, tea)
        shop.browse(drinks, products)
        shopper, user, pair = shop.shopper_signs_up()
        token = shop.anonymous_cart(products)
        first, second = shop.checkouts(shopper, token, products)
        shop.shopper_cart(shopper, products)
        shop.orders(shopper, first, second)
        shop.staff_orders(manager, user, first)
        shop.webhooks(manager, shopper)
        shop.log_out(pair)
