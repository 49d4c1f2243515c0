"""nexus_shop.selectors.search: the search's setup statement, its dictionaries, widening."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from cachalot import api as cachalot_api
from cachalot.api import cachalot_disabled
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from nexus_shop.models import Product
from nexus_shop.selectors.pagination import decode_cursor, encode_cursor
from nexus_shop.selectors.products import PRODUCT_SORTS
from nexus_shop.selectors.search import (
    CORRECTION_SIMILARITY,
    PLAN_SETTING,
    PREFIX_LEXEMES,
    SEARCH_LEXEMES_TABLE,
    SEARCH_RANDOM_PAGE_COST,
    SEARCH_WORDS_TABLE,
    SKU_SQL,
    WIDEN_WHEN_FEWER_THAN,
    SearchSession,
    one_edit_apart,
    search_session,
)
from nexus_shop.services import catalog as services
from tests.factories import ProductFactory


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("headphnes", "headphones"),  # a letter left out
        ("headphonnes", "headphones"),  # one too many
        ("headphomes", "headphones"),  # one replaced
        ("haedphones", "headphones"),  # two swapped
        ("speakers", "speekers"),
        ("lamp", "lamps"),
    ],
)
def test_one_edit_apart(a: str, b: str) -> None:
    assert one_edit_apart(a, b)
    assert one_edit_apart(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("headphones", "headphones"),  # no edit is not a correction
        ("headphns", "headphones"),  # two left out
        ("haedphnoes", "headphones"),  # two swaps
        ("mixing", "mixer"),
        ("abc", "cba"),
        ("", "ab"),
    ],
)
def test_more_than_one_edit_apart(a: str, b: str) -> None:
    assert not one_edit_apart(a, b)
    assert not one_edit_apart(b, a)


pg = pytest.mark.postgres


def _words(table: str, column: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")  # noqa: S608  (constants)
        return {row[0] for row in cursor.fetchall()}


@pg
@pytest.mark.django_db
def test_the_dictionaries_follow_every_write() -> None:
    product = ProductFactory(name="Aurora Headphones", description="Noise cancelling.")
    assert {"aurora", "headphones"} <= _words(SEARCH_WORDS_TABLE, "word")
    assert {"aurora", "headphon", "nois", "cancel"} <= _words(SEARCH_LEXEMES_TABLE, "lexeme")
    services.product_update(product_id=product.pk, name="Borealis Earbuds")
    assert {"borealis", "earbuds"} <= _words(SEARCH_WORDS_TABLE, "word")
    # Raw SQL and bulk writes too: the triggers are the database's.
    Product.objects.filter(pk=product.pk).update(description="Titanium drivers.")
    assert {"titanium", "driver"} <= _words(SEARCH_LEXEMES_TABLE, "lexeme")
    Product.objects.bulk_create(
        [
            Product(
                name="Zephyr Kettle", slug="zephyr-kettle", sku="K-1", price=5, price_max=5, stock=1
            )
        ]
    )
    assert "zephyr" in _words(SEARCH_WORDS_TABLE, "word")


@pg
@pytest.mark.django_db
def test_a_stock_update_adds_no_word() -> None:
    product = ProductFactory(name="Aurora Headphones", description="Over-ear.")
    with connection.cursor() as cursor:  # forget the words, to see whether they come back
        cursor.execute(f"DELETE FROM {SEARCH_WORDS_TABLE}")  # noqa: S608  (constants)
        cursor.execute(f"DELETE FROM {SEARCH_LEXEMES_TABLE}")  # noqa: S608
    # A sale takes stock, a price changes: the triggers compare and add nothing.
    Product.objects.filter(pk=product.pk).update(stock=0, price=5)
    assert _words(SEARCH_WORDS_TABLE, "word") == set()
    assert _words(SEARCH_LEXEMES_TABLE, "lexeme") == set()
    # A renamed product's words (and its new vector's lexemes) do go in.
    Product.objects.filter(pk=product.pk).update(name="Aurora Earbuds")
    assert _words(SEARCH_WORDS_TABLE, "word") == {"aurora", "earbuds"}
    assert {"aurora", "earbud"} <= _words(SEARCH_LEXEMES_TABLE, "lexeme")


@pg
@pytest.mark.django_db
def test_the_setup_reads_no_product_and_spells_out_the_prefix() -> None:
    ProductFactory(name="Ultra Lamp", description="Bright.")
    ProductFactory(name="Ultralight Tent", description="Light.")
    with CaptureQueriesContext(connection) as captured, search_session("ultr") as session:
        pass
    (setup,) = captured.captured_queries[-1:]
    assert PLAN_SETTING in setup["sql"]
    assert Product._meta.db_table not in setup["sql"]
    assert session.prefix == "'ultra' | 'ultralight'"


@pg
@pytest.mark.django_db(transaction=True)  # the search's own transaction, not the test's
def test_the_planner_options_last_for_the_search_only() -> None:
    def settings() -> tuple[str, ...]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('enable_seqscan'), current_setting('random_page_cost'), "
                "current_setting('pg_trgm.similarity_threshold', true)"
            )
            return tuple(cursor.fetchone())

    before = settings()[:2]  # (pg_trgm's own setting exists once the library has loaded)
    with search_session("lamp"):
        assert settings() == ("off", str(SEARCH_RANDOM_PAGE_COST), str(CORRECTION_SIMILARITY))
    assert settings()[:2] == before


@pg
@pytest.mark.django_db
def test_a_prefix_of_many_lexemes_stays_a_prefix_scan(anon: Client) -> None:
    for i in range(PREFIX_LEXEMES + 1):
        ProductFactory(name=f"Gizmo{chr(97 + i // 26)}{chr(97 + i % 26)}x", description="Tool.")
    with search_session("gizm") as session:
        assert session.prefix == "'gizm':*"
    assert len(ids(anon.get("/api/products?q=gizm&page_size=100"))) == PREFIX_LEXEMES + 1


@pg
@pytest.mark.django_db
def test_a_prefix_no_word_begins_matches_nothing(anon: Client) -> None:
    ProductFactory(name="Ultra Lamp")
    assert ids(anon.get("/api/products?q=qwzx")) == []


@pg
@pytest.mark.django_db
def test_a_correction_of_a_new_word_is_found_at_once(anon: Client) -> None:
    phones = ProductFactory(name="Quokka Headphones")
    assert ids(anon.get("/api/products?q=quoka")) == [phones.pk]
    assert ids(anon.get("/api/products?q=quokka headphnes")) == [phones.pk]


@pg
@pytest.mark.django_db
def test_every_page_of_a_widened_search_matches_as_the_first(anon: Client) -> None:
    exact = [ProductFactory(name=f"Lantern {i}") for i in range(3)]
    near = [ProductFactory(name=f"Lanturn {i}") for i in range(WIDEN_WHEN_FEWER_THAN)]
    url = "/api/products?q=lantern&ordering=relevance&page_size=5"
    response = anon.get(url)
    walked = ids(response)
    assert walked[:3] == [p.pk for p in reversed(exact)]  # the exact tier first
    while cursor := response.json()["next_cursor"]:
        assert decode_cursor(cursor, scope="products")["w"] == 1
        response = anon.get(f"{url}&cursor={cursor}")
        walked += ids(response)
    # The typo tier outnumbers the exact matches by now, yet the last page still widens.
    assert sorted(walked) == sorted(p.pk for p in exact + near)


@pg
@pytest.mark.django_db
def test_a_cursor_that_does_not_say_probes_again(anon: Client) -> None:
    # Cursors issued before cursors carried the "w" flag: the probe decides, as then.
    products = [ProductFactory(name=f"Speaker {i}") for i in range(WIDEN_WHEN_FEWER_THAN + 2)]
    ProductFactory(name="Speeker of brass")
    first = anon.get("/api/products?q=speaker&page_size=20").json()
    payload = decode_cursor(first["next_cursor"], scope="products")
    assert payload.pop("w") == 0
    old = encode_cursor(
        scope="products",
        sort=PRODUCT_SORTS["-created_at"],
        value=datetime.fromisoformat(payload["v"]),
        pk=payload["id"],
    )
    with cachalot_disabled(), CaptureQueriesContext(connection) as captured:
        rest = ids(anon.get(f"/api/products?q=speaker&page_size=20&cursor={old}"))
    data = [q for q in captured.captured_queries if PLAN_SETTING not in q["sql"]]
    assert len(data) == 2  # the probe and the page
    assert sorted([item["id"] for item in first["items"]] + rest) == sorted(p.pk for p in products)


@pg
@pytest.mark.slow
# "__all__": migrate's cachalot invalidation walks every alias (tests/test_migrations.py).
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_the_migration_fills_the_dictionaries_from_existing_products(
    request: pytest.FixtureRequest,
) -> None:
    request.addfinalizer(cachalot_api.invalidate)
    call_command("migrate", "nexus_shop", "0005", verbosity=0)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)", [SEARCH_WORDS_TABLE])
            assert cursor.fetchone() == (None,)
            # A product as the tables were then (the model of today has more columns).
            cursor.execute(
                "INSERT INTO nexus_shop_product (name, slug, sku, description, price, "
                "currency, stock, is_active, created_at, updated_at) VALUES "
                "('Marmot Sleeping Bag', 'marmot', 'M-1', 'Down filled.', 5, 'USD', 1, TRUE, "
                "now(), now())"
            )
    finally:
        call_command("migrate", "nexus_shop", verbosity=0)
    assert {"marmot", "sleeping", "bag"} <= _words(SEARCH_WORDS_TABLE, "word")
    assert {"marmot", "sleep", "fill"} <= _words(SEARCH_LEXEMES_TABLE, "lexeme")
    Product.all_objects.all().delete()


@pg
@pytest.mark.django_db
def test_a_ranked_page_carries_its_count(anon: Client) -> None:
    for i in range(WIDEN_WHEN_FEWER_THAN + 5):
        ProductFactory(name=f"Lamp {i}")
    url = "/api/products?q=lamp&ordering=relevance&page_size=5"
    with cachalot_disabled(), CaptureQueriesContext(connection) as captured:
        data = anon.get(url).json()
    assert (data["count"], data["count_exact"]) == (WIDEN_WHEN_FEWER_THAN + 5, True)
    statements = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    page = [sql for sql in statements if PLAN_SETTING not in sql]
    assert len(page) == 1, page  # no separate COUNT: COUNT(*) OVER () rides on the page
    assert "COUNT(*) OVER ()" in page[0]
    # Past the last page there is no row to carry the count: it is counted then.
    data = anon.get(f"{url}&page=9").json()
    assert (data["items"], data["count"], data["count_exact"]) == ([], 25, True)


# The SQL a session builds (no database needed) ---------------------------------------------------


def test_the_last_plain_word_stands_for_its_prefix() -> None:
    session = SearchSession(q="wireless head", active=True, prefix="'head' | 'headphon'")
    sql, params = session.exact().condition.sql, session.exact().condition.params
    assert "websearch_to_tsquery('english', %s) && %s::tsquery" in sql
    # The first parameter is the exact variant sku (SKU_SQL), then the tsquery's.
    assert list(params) == ["wireless head", "wireless ", "'head' | 'headphon'"]


@pytest.mark.parametrize("q", ['"wireless headphones"', "wireless -headphones", "lamp or"])
def test_quotes_negations_and_or_keep_websearch_syntax(q: str) -> None:
    condition = SearchSession(q=q, active=True).exact().condition
    assert list(condition.params) == [q, q]  # the exact sku, then the tsquery
    assert condition.sql == (
        f"{SKU_SQL} OR {{t}}.\"search_vector\" @@ websearch_to_tsquery('english', %s)"
    )


def test_widening_ors_each_word_with_its_one_edit_corrections() -> None:
    session = SearchSession(
        q="wireles headphnes",
        active=True,
        prefix="'headphn':*",
        # Candidates from the dictionary: only those one edit away are kept.
        candidates={"wireles": ["wireless", "wirelesses"], "headphnes": ["headphones"]},
    )
    match = session.widened()
    assert match.widened
    params = list(match.condition.params)
    assert params[-4:] == ["wireles", "wireless", "'headphn':*", "headphones"]
    assert "wirelesses" not in params
    assert "ILIKE" in match.condition.sql


def test_widening_without_corrections_is_the_substring_tier_only() -> None:
    session = SearchSession(q="lantern", active=True, prefix="'lantern':*", candidates={})
    match = session.widened()
    assert "ILIKE" in match.condition.sql
    assert match.condition.sql.count("@@") == 1
    assert "ELSE 0 END" in match.relevance.sql
