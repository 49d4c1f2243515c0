"""Promise 7: auth tables are never served from django-cachalot's query cache.

A user deactivated, a permission withdrawn or a refresh token blacklisted must take effect
on the next request, so their tables must be read from the database every time. The
purchase tables neither (``nexus_shop.conf.PURCHASE_TABLES``, check ``E021``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cachalot.settings import cachalot_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import override_settings
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from nexus_shop.checks import auth_tables, check_cachalot, check_cachalot_purchase
from nexus_shop.conf import PURCHASE_TABLES, UNCACHABLE_APPS
from nexus_shop.models import Product
from tests.factories import ProductFactory, UserFactory, refresh_token_for


@pytest.fixture
def cachalot_reload() -> Iterator[None]:
    """cachalot reads its settings once; reload them after the test changed them (and back)."""
    yield
    cachalot_settings.load()


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_auth_tables_are_the_user_permission_and_token_tables() -> None:
    assert {
        "auth_user",
        "auth_permission",
        "auth_group",
        "auth_user_groups",
        "auth_user_user_permissions",
        "auth_group_permissions",
        "token_blacklist_outstandingtoken",
        "token_blacklist_blacklistedtoken",
    } == auth_tables()


def test_the_test_settings_keep_auth_tables_uncachable() -> None:
    assert check_cachalot() == []


@pytest.mark.parametrize(
    ("uncachable_apps", "cached"),
    [
        ([], sorted(auth_tables())),
        (["auth"], ["token_blacklist_blacklistedtoken", "token_blacklist_outstandingtoken"]),
        (["token_blacklist"], sorted(t for t in auth_tables() if t.startswith("auth_"))),
    ],
    ids=["none", "auth-only", "blacklist-only"],
)
def test_e020_names_the_cachable_auth_tables(
    cachalot_reload: None, uncachable_apps: list[str], cached: list[str]
) -> None:
    with override_settings(CACHALOT_UNCACHABLE_APPS=uncachable_apps):
        cachalot_settings.load()
        messages = check_cachalot()

    assert ids(messages) == ["nexus_shop.E020"]
    assert messages[0].msg == f"django-cachalot caches the auth tables {', '.join(cached)}."


def test_the_uncachable_apps_constant_satisfies_e020_and_its_hint_names_it(
    cachalot_reload: None,
) -> None:
    with override_settings(CACHALOT_UNCACHABLE_APPS=[], CACHALOT_UNCACHABLE_TABLES=[]):
        cachalot_settings.load()
        (message,) = check_cachalot()
    with override_settings(
        CACHALOT_UNCACHABLE_APPS=[*UNCACHABLE_APPS], CACHALOT_UNCACHABLE_TABLES=[]
    ):
        cachalot_settings.load()
        assert check_cachalot() == []
    assert "[*nexus_shop.conf.UNCACHABLE_APPS]" in (message.hint or "")


def test_uncachable_tables_satisfy_the_check_too(cachalot_reload: None) -> None:
    with override_settings(
        CACHALOT_UNCACHABLE_APPS=[], CACHALOT_UNCACHABLE_TABLES=sorted(auth_tables())
    ):
        cachalot_settings.load()
        assert check_cachalot() == []


def test_only_cachable_tables_without_auth_tables_satisfy_the_check(
    cachalot_reload: None,
) -> None:
    with override_settings(
        CACHALOT_UNCACHABLE_APPS=[], CACHALOT_ONLY_CACHABLE_TABLES=["nexus_shop_product"]
    ):
        cachalot_settings.load()
        assert check_cachalot() == []


@pytest.mark.django_db
def test_catalogue_reads_are_cached_but_auth_reads_always_hit_the_database(
    django_assert_num_queries: Any,
) -> None:
    ProductFactory()
    user = UserFactory()
    refresh_token_for(user).blacklist()
    queries: list[tuple[str, Any]] = [
        ("product", lambda: list(Product.objects.filter(pk__gt=0))),
        ("user", lambda: list(get_user_model().objects.filter(pk__gt=0))),
        ("permission", lambda: list(Permission.objects.filter(codename="add_product"))),
        ("outstanding", lambda: list(OutstandingToken.objects.filter(pk__gt=0))),
        ("blacklisted", lambda: list(BlacklistedToken.objects.filter(pk__gt=0))),
    ]
    for _, run in queries:
        run()  # first run: from the database (and into the cache, if cachable)

    counts = {}
    for name, run in queries:
        with django_assert_num_queries(0 if name == "product" else 1) as context:
            run()
        counts[name] = len(context.captured_queries)

    # Cachalot is active (the product query came from its cache) and skipped every auth table.
    assert counts == {"product": 0, "user": 1, "permission": 1, "outstanding": 1, "blacklisted": 1}


# The purchase tables (E021) --------------------------------------------------------------------


def test_the_purchase_tables_constant_names_the_purchase_models_tables() -> None:
    from nexus_shop.models.orders import purchase_tables

    assert set(PURCHASE_TABLES) == purchase_tables()
    assert len(PURCHASE_TABLES) == len(set(PURCHASE_TABLES))


def test_the_settings_of_the_suite_use_the_constant() -> None:
    from django.conf import settings

    assert set(PURCHASE_TABLES) <= set(settings.CACHALOT_UNCACHABLE_TABLES)


@pytest.mark.parametrize("left_out", PURCHASE_TABLES)
def test_e021_checks_every_table_of_the_constant(cachalot_reload: None, left_out: str) -> None:
    with override_settings(
        CACHALOT_UNCACHABLE_TABLES=[table for table in PURCHASE_TABLES if table != left_out]
    ):
        cachalot_settings.load()
        messages = check_cachalot_purchase()
    assert ids(messages) == ["nexus_shop.E021"]
    assert messages[0].msg == f"django-cachalot caches the purchase tables {left_out}."
