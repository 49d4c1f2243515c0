"""The general and search settings checks, and the one table of check ids."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import Error, Warning
from django.test import override_settings

import nexus_shop.checks
from nexus_shop.cache import RedisCache
from nexus_shop.checks import CheckId, check_retry_after, check_search_settings, check_settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
CHECKS = Path(nexus_shop.checks.__file__).parent


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_defaults_pass() -> None:
    assert check_settings() == []


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("NEXUS_SHOP_AUTH", ["no.such.Auth"], "nexus_shop.E001"),
        ("NEXUS_SHOP_CURRENCY", "dollars", "nexus_shop.E002"),
        ("NEXUS_SHOP_THROTTLE_RATES", {"token": "often"}, "nexus_shop.E003"),
        ("NEXUS_SHOP_TRUSTED_PROXY_COUNT", -1, "nexus_shop.E004"),
        ("NEXUS_SHOP_DEFAULT_PAGE_SIZE", 500, "nexus_shop.E005"),
        ("NEXUS_SHOP_CATEGORY_MAX_DEPTH", 0, "nexus_shop.E030"),
        ("NEXUS_SHOP_CATEGORY_MAX_DEPTH", 52, "nexus_shop.E030"),
        ("NEXUS_SHOP_CATEGORY_MAX_DEPTH", True, "nexus_shop.E030"),
        ("NEXUS_SHOP_CATEGORY_MAX_DEPTH", "10", "nexus_shop.E030"),
    ],
)
def test_bad_settings_are_reported(settings: Any, name: str, value: Any, error: str) -> None:
    setattr(settings, name, value)
    assert ids(check_settings()) == [error]


@pytest.mark.parametrize("rate", ["10/week", "10/m\n", "+1/m", 10])
def test_the_rate_check_agrees_with_the_throttle_parser(settings: Any, rate: object) -> None:
    from nexus_shop.throttling import parse_rate

    settings.NEXUS_SHOP_THROTTLE_RATES = {"token": rate}
    assert ids(check_settings()) == ["nexus_shop.E003"]
    if isinstance(rate, str):
        with pytest.raises(ValueError, match="is not a rate"):
            parse_rate(rate)


def test_settings_are_read_lazily(settings: Any) -> None:
    from nexus_shop.conf import conf

    settings.NEXUS_SHOP_CURRENCY = "GBP"
    assert conf.CURRENCY == "GBP"
    settings.NEXUS_SHOP_THROTTLE_RATES = {"token": "3/m"}
    assert conf.THROTTLE_RATES == {
        "register": "10/m",
        "token": "3/m",
        "login": "20/h",
        "refresh": "10/m",
    }


def test_cachalot_knows_our_redis_backend(settings: Any) -> None:
    from cachalot.apps import check_cache_compatibility

    settings.CACHES = {
        "default": {"BACKEND": "nexus_shop.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1"}
    }
    assert check_cache_compatibility(None) == []


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("NEXUS_SHOP_EXACT_COUNT_LIMIT", 0, "nexus_shop.E050"),
        ("NEXUS_SHOP_EXACT_COUNT_LIMIT", "many", "nexus_shop.E050"),
        ("NEXUS_SHOP_PAGE_MODE_MAX_ITEMS", -5, "nexus_shop.E051"),
        ("NEXUS_SHOP_SEARCH_RANK_WINDOW", True, "nexus_shop.E052"),
        ("NEXUS_SHOP_FACET_PRICE_BUCKETS", (50, 10), "nexus_shop.E053"),
        ("NEXUS_SHOP_FACET_PRICE_BUCKETS", (), "nexus_shop.E053"),
        ("NEXUS_SHOP_FACET_PRICE_BUCKETS", ("cheap",), "nexus_shop.E053"),
        ("NEXUS_SHOP_FACET_PRICE_BUCKETS", (0, 10), "nexus_shop.E053"),
    ],
)
def test_bad_search_settings_are_reported(settings: Any, name: str, value: Any, error: str) -> None:
    setattr(settings, name, value)
    assert ids(check_search_settings()) == [error]


def test_search_defaults_pass() -> None:
    assert check_search_settings() == []


def _cache(backend: str, **options: object) -> dict[str, object]:
    return {"BACKEND": backend, "LOCATION": "redis://127.0.0.1:6379/0", "OPTIONS": options}


OURS = "nexus_shop.cache.RedisCache"


@pytest.mark.parametrize("value", [0, 5, 0.25, 60])
def test_a_retry_after_for_our_backend_passes(settings: Any, value: float) -> None:
    settings.CACHES = {"default": _cache(OURS, RETRY_AFTER=value), "plain": _cache(OURS)}
    assert check_retry_after() == []


@pytest.mark.parametrize("value", ["5s", None, -1, float("inf"), float("nan"), True, "5"])
def test_a_retry_after_that_is_not_a_number_of_seconds_is_reported(
    settings: Any, value: object
) -> None:
    settings.CACHES = {"default": _cache(OURS, RETRY_AFTER=value)}
    assert ids(check_retry_after()) == ["nexus_shop.E022"]


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.redis.RedisCache",  # hands it to redis-py: broken
        "django.core.cache.backends.locmem.LocMemCache",
        "no.such.Backend",
    ],
)
def test_a_retry_after_given_to_another_backend_is_reported(settings: Any, backend: str) -> None:
    settings.CACHES = {"default": _cache(OURS), "other": _cache(backend, RETRY_AFTER=5)}
    assert ids(check_retry_after()) == ["nexus_shop.E022"]


def test_a_subclass_of_our_backend_takes_retry_after(settings: Any) -> None:
    settings.CACHES = {"default": _cache("tests.test_checks.OurRedisCache", RETRY_AFTER=5)}
    assert check_retry_after() == []


class OurRedisCache(RedisCache):
    """A host's subclass of the backend."""


# The id table -----------------------------------------------------------------------------------


def test_every_check_id_is_used_once() -> None:
    # __members__ keeps the aliases an Enum makes of equal values: a repeat cannot hide.
    ids = [check.id for check in CheckId.__members__.values()]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_each_id_has_a_level_matching_its_letter_and_a_one_line_meaning() -> None:
    for check in CheckId:
        assert re.fullmatch(r"nexus_shop\.[EW]\d{3}", check.id)
        assert check.level is (Error if check.id[11] == "E" else Warning)
        assert check.meaning
        assert "\n" not in check.meaning
        assert isinstance(check.message("text"), check.level)
        assert check.message("text").id == check.id


def test_the_table_and_docs_checks_md_list_the_same_ids_once_each() -> None:
    documented = re.findall(r"^`(nexus_shop\.[EW]\d{3})`$", (DOCS / "checks.md").read_text(), re.M)
    assert len(documented) == len(set(documented)), "an id is explained twice"
    assert set(documented) == {check.id for check in CheckId}


def test_every_id_of_the_table_is_emitted_by_a_check_and_none_is_written_by_hand() -> None:
    sources = {path.name: path.read_text() for path in CHECKS.glob("*.py") if path.name != "ids.py"}
    used = {name for text in sources.values() for name in re.findall(r"CheckId\.(\w+)", text)}
    assert used == set(CheckId.__members__)
    for name, text in sources.items():
        assert not re.search(r"nexus_shop\.[EW]\d{3}\b\"", text), f"an id by hand in {name}"


@pytest.mark.parametrize(
    ("name", "value", "check_id"),
    [
        ("NEXUS_SHOP_METRICS_TOKEN", "short", "nexus_shop.E070"),
        ("NEXUS_SHOP_METRICS_TOKEN", 12345678901234567890, "nexus_shop.E070"),
        ("NEXUS_SHOP_METRICS_ALLOWED_NETWORKS", ("10.0.0.0/8", "not-a-net"), "nexus_shop.E070"),
        ("NEXUS_SHOP_SLOW_QUERY_MS", -1, "nexus_shop.E071"),
        ("NEXUS_SHOP_SLOW_QUERY_MS", "200", "nexus_shop.E071"),
        ("NEXUS_SHOP_ACCESS_LOG_HITS_EVERY", 0.5, "nexus_shop.E071"),
        ("NEXUS_SHOP_TRACING", "yes", "nexus_shop.E072"),
    ],
)
def test_operations_settings_are_checked(name: str, value: object, check_id: str) -> None:
    from nexus_shop.checks import check_operations_settings

    with override_settings(**{name: value}):
        assert [m.id for m in check_operations_settings()] == [check_id]


def test_operations_defaults_pass() -> None:
    from nexus_shop.checks import check_operations_settings

    assert check_operations_settings() == []
    with override_settings(
        NEXUS_SHOP_METRICS_TOKEN="x" * 16, NEXUS_SHOP_METRICS_ALLOWED_NETWORKS=("::1", "10.0.0.0/8")
    ):
        assert check_operations_settings() == []


def test_tracing_on_without_opentelemetry_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from nexus_shop.checks import check_operations_settings

    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # find_spec: not installed
    with override_settings(NEXUS_SHOP_TRACING=True):
        [message] = check_operations_settings()
    assert message.id == "nexus_shop.E072"
    assert message.hint is not None
    assert "nexus-shop[otel]" in message.hint
