"""nexus_shop.conf: one table of defaults, read by the properties and by every text that
states a default (docstrings, OpenAPI descriptions, docs/settings.md, and every docs page
that states a figure next to a setting's name).

Each test fails if a default is copied somewhere and the copy drifts from the table.
"""

from __future__ import annotations

import ast
import json
import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from django.test import Client

from nexus_shop.conf import DEFAULTS, NINJA_JWT_DEFAULTS, Settings, conf, default_text, described

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _plain(value: Any) -> Any:
    return dict(value) if isinstance(value, MappingProxyType) else value


def _properties() -> set[str]:
    return {name for name, value in vars(Settings).items() if isinstance(value, property)}


def test_every_setting_has_one_default_in_the_table() -> None:
    assert _properties() - {"NINJA_JWT", *NINJA_JWT_DEFAULTS} == set(DEFAULTS)


def test_unset_settings_read_the_tables_defaults(settings: Any) -> None:
    for name in DEFAULTS:
        if hasattr(settings, f"NEXUS_SHOP_{name}"):
            delattr(settings, f"NEXUS_SHOP_{name}")
    settings.NINJA_JWT = {}
    for name, default in DEFAULTS.items():
        value = getattr(conf, name)
        if name == "FACET_PRICE_BUCKETS":
            assert value == tuple(Decimal(bound) for bound in default)
        else:
            assert value == _plain(default), name
    for key, default in NINJA_JWT_DEFAULTS.items():
        assert getattr(conf, key) == default


def test_a_set_setting_wins(settings: Any) -> None:
    settings.NEXUS_SHOP_EXACT_COUNT_LIMIT = 7
    settings.NEXUS_SHOP_THROTTLE_RATES = {"login": None}
    assert conf.EXACT_COUNT_LIMIT == 7
    assert {**DEFAULTS["THROTTLE_RATES"], "login": None} == conf.THROTTLE_RATES


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("EXACT_COUNT_LIMIT", "10,000"),
        ("SEARCH_RANK_WINDOW", "1,000"),
        ("DEFAULT_PAGE_SIZE", "20"),
        ("CURRENCY", "'USD'"),
        ("RESPONSE_CACHE", "None"),
        ("ANONYMOUS_CART_TTL", "30 days"),
        ("IDEMPOTENCY_KEY_TTL", "1 day"),
        ("ORDER_PAYMENT_TIMEOUT", "1 hour"),
        (
            "THROTTLE_RATES",
            "{'register': '10/m', 'token': '10/m', 'login': '20/h', 'refresh': '10/m'}",
        ),
    ],
)
def test_default_text(name: str, text: str) -> None:
    assert default_text(name) == text
    assert described(name) == f"NEXUS_SHOP_{name} (default {text})"


def test_each_docstring_ends_with_its_setting_and_the_tables_default() -> None:
    for name in DEFAULTS:
        doc = getattr(Settings, name).__doc__
        assert doc.endswith(f"``NEXUS_SHOP_{name}``, default {default_text(name)}."), name
        # The figure is stated once, by that last line.
        stated = re.findall(rf"(?<![\w,.]){re.escape(default_text(name))}(?![\w,])", doc)
        assert len(stated) == 1 or default_text(name) in {"True", "None"}, name
    lifetime = Settings.ACCESS_TOKEN_LIFETIME.__doc__ or ""
    assert lifetime.endswith('``NINJA_JWT["ACCESS_TOKEN_LIFETIME"]``, default 10 minutes.')


@pytest.mark.django_db
def test_openapi_states_each_default_from_the_table(anon: Client) -> None:
    text = json.dumps(anon.get("/api/openapi.json").json())
    mentions = re.findall(r"NEXUS_SHOP_(\w+) \(([^)]*)\)", text)
    assert {name for name, _ in mentions} >= {
        "EXACT_COUNT_LIMIT",
        "PAGE_MODE_MAX_ITEMS",
        "SEARCH_RANK_WINDOW",
        "DEFAULT_PAGE_SIZE",
    }
    for name, said in mentions:
        assert said == f"default {default_text(name)}", (name, said)


# docs/settings.md: "Default `<python>`", "`<python>` (the default)" or a table's column.
_STATED = (
    re.compile(r"Default\s+`([^`]+)`"),
    re.compile(r"`([^`]+)`\s+\((?:the )?default\)"),
)


def _documented_default(section: str) -> Any:
    for pattern in _STATED:
        match = pattern.search(section)
        if match:
            return eval(match.group(1), {"timedelta": timedelta})  # noqa: S307  (our own docs)
    rows = re.findall(r'^\| `(\w+)` \|.*\| `"([^"]+)"` \|$', section, re.MULTILINE)
    assert rows, section[:200]
    return dict(rows)


def test_docs_settings_page_states_the_tables_defaults() -> None:
    page = (DOCS / "settings.md").read_text()
    sections = dict(
        re.findall(r"^### `NEXUS_SHOP_(\w+)`\n(.*?)(?=^##)", page + "\n##", re.M | re.S)
    )
    assert set(sections) == set(DEFAULTS)
    for name, section in sections.items():
        assert _documented_default(section) == _plain(DEFAULTS[name]), name
    for key, default in NINJA_JWT_DEFAULTS.items():
        match = re.search(rf"^\| `{key}` \| `([^`]+)` \|", page, re.MULTILINE)
        assert match, key
        assert eval(match.group(1), {"timedelta": timedelta}) == default  # noqa: S307


# Every other docs page states a default next to the setting's name, as `described` words
# it ("`NEXUS_SHOP_EXACT_COUNT_LIMIT` (default 10,000)"), or in a table's row of settings.
_NAMED = re.compile(r"`NEXUS_SHOP_(\w+)`(?:\]\([^)]*\))? \(([^)]*)\)")
_ROW = re.compile(r"^\| `NEXUS_SHOP_(\w+)` \| ([^|]+) \|", re.MULTILINE)


def _states_default(name: str, stated: str) -> bool:
    stated = stated.strip().strip("`")
    if stated == default_text(name):
        return True
    try:
        return bool(ast.literal_eval(stated) == _plain(DEFAULTS[name]))
    except (ValueError, SyntaxError):
        return False


def test_docs_pages_state_the_tables_defaults_next_to_the_settings() -> None:
    stated: dict[str, set[str]] = {}
    for page in sorted(DOCS.glob("*.md")):
        if page.name in {"settings.md", "changelog.md"}:  # settings.md: tested above
            continue
        text = page.read_text()
        for name, aside in _NAMED.findall(text):
            if aside.startswith("default ") or re.search(r"\d", aside):
                # a figure in parentheses after a setting's name is its default, said so
                assert aside.startswith("default "), (page.name, name, aside)
                assert _states_default(name, aside.removeprefix("default ")), (page.name, aside)
                stated.setdefault(page.name, set()).add(name)
        for name, cell in _ROW.findall(text):
            assert _states_default(name, cell), (page.name, name, cell)
            stated.setdefault(page.name, set()).add(name)
    assert stated["catalog.md"] >= {
        "DEFAULT_PAGE_SIZE",
        "EXACT_COUNT_LIMIT",
        "PAGE_MODE_MAX_ITEMS",
        "SEARCH_RANK_WINDOW",
        "CATEGORY_MAX_DEPTH",
    }
    assert stated["performance-scale.md"] >= {
        "EXACT_COUNT_LIMIT",
        "PAGE_MODE_MAX_ITEMS",
        "SEARCH_RANK_WINDOW",
    }
