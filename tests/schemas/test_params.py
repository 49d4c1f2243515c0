"""The effective defaults of the query parameters: one table, applied by the schemas."""

from __future__ import annotations

import pytest
from django.test import override_settings
from pydantic import BaseModel

from nexus_shop.schemas.catalog import (
    PageParams,
    ProductDetailParams,
    ProductFacetsParams,
    ProductFilter,
)
from nexus_shop.schemas.orders import StaffOrderFilter
from nexus_shop.schemas.params import QUERY_DEFAULTS, QueryDefault, QueryParams, default_of

QUERY_SCHEMAS: list[type[QueryParams]] = [
    PageParams,
    ProductFilter,
    ProductFacetsParams,
    ProductDetailParams,
    StaffOrderFilter,
]


def test_every_default_in_the_table_is_a_query_parameter() -> None:
    fields = {name for schema in QUERY_SCHEMAS for name in schema.model_fields}
    assert set(QUERY_DEFAULTS) <= fields


@pytest.mark.parametrize("schema", QUERY_SCHEMAS, ids=lambda s: s.__name__)
def test_a_parameter_left_out_takes_its_effective_default(schema: type[BaseModel]) -> None:
    assert issubclass(schema, QueryParams)
    validated = schema.model_validate({})
    for name in QUERY_DEFAULTS.keys() & schema.model_fields.keys():
        assert getattr(validated, name) == default_of(name), name


def test_a_default_from_a_setting_is_read_when_asked() -> None:
    assert PageParams.model_validate({}).page_size == 20
    with override_settings(NEXUS_SHOP_DEFAULT_PAGE_SIZE=7):
        assert PageParams.model_validate({}).page_size == 7
        # A description states the setting's default, not this process's value.
        assert QUERY_DEFAULTS["page_size"].describe() == (
            "When left out, NEXUS_SHOP_DEFAULT_PAGE_SIZE (default 20)."
        )
    assert PageParams.model_validate({"page_size": "3"}).page_size == 3


def test_describe() -> None:
    assert QUERY_DEFAULTS["ordering"].describe() == 'When left out, `"-created_at"`.'
    assert QUERY_DEFAULTS["include_deleted"].describe() == "When left out, `false`."
    assert QueryDefault(lambda: 1).describe() == "When left out, `1`."
