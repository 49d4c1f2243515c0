"""``option=`` parsing in ``ProductFilterBase`` (schemas/catalog.py), through the schema and
through HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from pydantic import ValidationError

from nexus_shop.schemas.catalog import (
    MAX_OPTION_FILTERS,
    ProductFacetsParams,
    ProductFilter,
)

SCHEMAS = [ProductFilter, ProductFacetsParams]


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.__name__)
@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        (["size:M"], ["size:m"]),
        (["Size:M", "size:m", "SIZE: m "], ["size:m"]),  # one filter, however spelt
        (["colour:Red", "size:M"], ["colour:red", "size:m"]),
        (["size:m", "colour:red"], ["colour:red", "size:m"]),  # sorted
        (["ratio:16:9"], ["ratio:16:9"]),  # split on the first colon
        (["Straße:Groß"], ["strasse:gross"]),  # casefolded, not lowercased
    ],
)
def test_option_filters_are_canonical(schema: Any, given: list[str], canonical: list[str]) -> None:
    assert schema.model_validate({"option": given}).option == canonical


def test_option_filters_group_by_name() -> None:
    params = ProductFilter.model_validate(
        {"option": ["size:M", "size:L", "colour:red", "ratio:16:9"]}
    )
    assert params.option_filters == {
        "colour": frozenset({"red"}),
        "ratio": frozenset({"16:9"}),
        "size": frozenset({"l", "m"}),
    }
    assert ProductFilter.model_validate({}).option_filters == {}


@pytest.mark.parametrize(
    "given",
    [
        ["size"],  # no colon
        [":m"],  # no name
        ["size:"],  # no value
        [" : "],
        ["size:" + "m" * 101],  # longer than any value
        ["size:m\u202e"],  # a bidirectional override
        [f"size:{i}" for i in range(MAX_OPTION_FILTERS + 1)],
    ],
)
def test_bad_option_filters_are_refused(given: list[str]) -> None:
    with pytest.raises(ValidationError):
        ProductFilter.model_validate({"option": given})


def test_ten_option_filters_are_fine() -> None:
    given = [f"size:{i}" for i in range(MAX_OPTION_FILTERS)]
    assert len(ProductFilter.model_validate({"option": given}).option) == MAX_OPTION_FILTERS


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/products", "/api/products/facets"])
@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("option=size", "Expected <name>:<value>"),
        ("option=size:m&option=colour", "'colour'"),
        ("&".join(f"option=size:{i}" for i in range(11)), "at most 10 items"),
    ],
)
def test_bad_option_filters_are_a_422_naming_the_parameter(
    anon: Client, path: str, query: str, message: str
) -> None:
    response = anon.get(f"{path}?{query}")
    assert response.status_code == 422
    body = response.json()
    assert body["errors"][0]["loc"][:2] == ["query", "option"]
    assert message in body["errors"][0]["msg"]


def test_openapi_shows_option_as_a_repeatable_array_of_strings() -> None:
    from nexus_shop.api import api

    document = api.get_openapi_schema()
    for path in ("/api/products", "/api/products/facets"):
        [option] = [
            p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "option"
        ]
        schema = option["schema"]
        assert schema["type"] == "array"
        assert schema["items"] == {"type": "string"}
        assert schema["maxItems"] == MAX_OPTION_FILTERS
        assert option.get("explode", True) is True  # option=a:1&option=b:2
        assert "first colon" in option["description"]
