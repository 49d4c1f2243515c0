"""A staff change to a product's images is a ``product.updated`` showing the images."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nexus_shop.exceptions import ValidationFailed
from nexus_shop.services.event_payloads import product_data
from nexus_shop.services.images import image_add, image_delete, image_update
from tests.factories import ProductFactory
from tests.support import images as pictures
from tests.support.outbox import Outbox, in_a_failing_transaction

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sizes(settings: Any, media: Path) -> None:
    settings.NEXUS_SHOP_IMAGE_SIZES = {"thumb": 16}


def test_each_image_write_is_one_product_updated(outbox: Outbox) -> None:
    product = ProductFactory()
    resource = f"product:{product.pk}"

    front = image_add(product_id=product.pk, data=pictures.png(), alt="Front")
    added = product_data(product_id=product.pk)
    image_update(product_id=product.pk, image_id=front.pk, alt="The front")
    updated = product_data(product_id=product.pk)
    image_delete(product_id=product.pk, image_id=front.pk)

    new = outbox.new()
    assert [(e.type, e.resource, e.sequence) for e in new] == [
        ("product.updated", resource, 1),
        ("product.updated", resource, 2),
        ("product.updated", resource, 3),
    ]
    assert new[0].data == added
    assert [(i["id"], i["alt"]) for i in added["images"]] == [(front.pk, "Front")]
    assert added["thumbnail"] is not None
    assert new[1].data == updated
    assert updated["images"][0]["alt"] == "The front"
    assert new[2].data["images"] == []
    assert new[2].data["thumbnail"] is None


def test_a_refused_image_emits_nothing(outbox: Outbox) -> None:
    product = ProductFactory()

    with pytest.raises(ValidationFailed):
        image_add(product_id=product.pk, data=pictures.png(), variant_ids=[10**9])

    assert outbox.new() == []


def test_an_image_write_rolled_back_by_its_caller_leaves_no_event(outbox: Outbox) -> None:
    product = ProductFactory()

    in_a_failing_transaction(lambda: image_add(product_id=product.pk, data=pictures.png()))

    assert outbox.new() == []
