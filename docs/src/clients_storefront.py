"""A storefront's calls through the client openapi-python-client generates (docs/clients.md).

Type-checked with ``mypy --strict`` and run against a live server by
tests/heavy/test_generated_clients.py.
"""

from __future__ import annotations

import uuid

from nexus_shop_client import AuthenticatedClient, Client
from nexus_shop_client.api.auth import auth_token_obtain
from nexus_shop_client.api.cart import cart_add_item
from nexus_shop_client.api.catalog import product_get, product_get_head, product_list
from nexus_shop_client.api.orders import checkout
from nexus_shop_client.models import (
    CartLineIn,
    OrderOut,
    PageOutProductOut,
    ProductDetailOut,
    ProductOrdering,
    TokenObtainIn,
    TokenPairOut,
)


def storefront(base_url: str, username: str, password: str) -> str:
    """Browse without a token, revalidate, log in, buy the cheapest product: its number."""
    with Client(base_url=base_url) as public:  # public reads need no token
        page = product_list.sync(client=public, ordering=ProductOrdering.PRICE, page_size=1)
        assert isinstance(page, PageOutProductOut)
        cheapest = page.items[0]

        detail = product_get.sync_detailed(client=public, product_id=cheapest.id)
        assert isinstance(detail.parsed, ProductDetailOut)
        etag = detail.headers["ETag"]
        unchanged = product_get.sync_detailed(
            client=public, product_id=cheapest.id, if_none_match=etag
        )
        assert unchanged.status_code == 304  # declared: no UnexpectedStatus
        head = product_get_head.sync_detailed(client=public, product_id=cheapest.id)
        assert head.headers["ETag"] == etag

        login = auth_token_obtain.sync_detailed(
            client=public, body=TokenObtainIn(username=username, password=password)
        )
        assert isinstance(login.parsed, TokenPairOut), login.content

    with AuthenticatedClient(base_url=base_url, token=login.parsed.access) as shopper:
        variant = detail.parsed.variants[0].id
        cart_add_item.sync(client=shopper, body=CartLineIn(variant_id=variant))
        # No body: the cart is the order; the key makes a retry safe.
        order = checkout.sync(client=shopper, idempotency_key=str(uuid.uuid4()))
        assert isinstance(order, OrderOut)
        return order.number
