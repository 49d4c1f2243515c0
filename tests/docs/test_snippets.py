"""Every code sample of the documentation runs here.

The samples live in ``docs/src/`` and the pages include them with pymdownx.snippets
(``--8<-- "file.py:section"``). Each test below runs one sample and fails if the
behaviour the page describes stops being true. ``test_every_snippet_is_tested`` fails
when a sample is added without a test, and ``test_every_include_resolves`` when a page
includes a file or section that does not exist.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.core.checks import run_checks
from django.db import connection
from django.test import Client, override_settings
from django.utils.module_loading import import_string

from nexus_shop.conf import Settings, conf
from tests.support import processes

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
SRC = DOCS / "src"

# docs/ ships in the sdist (pyproject's sdist include), so these always run: a missing
# page or sample is a failure, not a skip.

# Which test covers which sample; test_every_snippet_is_tested keeps this honest.
TESTED = {
    "catalog_examples.py",
    "quickstart_settings.py",
    "quickstart_urls.py",
    "own_api_urls.py",
    "settings_example.py",
    "checks_example.py",
    "cache_settings.py",
    # Type-checked and run against a live server with the generated client, in CI's heavy
    # session: tests/heavy/test_generated_clients.py.
    "clients_storefront.py",
    # Fed signed requests, and run against a live server: tests/docs/test_webhooks_docs.py.
    "webhooks_receiver.py",
}

INCLUDE = re.compile(r'^\s*--8<--\s+"([^"]+)"\s*$', re.MULTILINE)


def load(name: str) -> ModuleType:
    """Import docs/src/<name>.py once, under a name of its own."""
    module_name = f"nexus_shop_docs_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, SRC / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def section(file: str, name: str) -> str:
    text = (SRC / file if (SRC / file).exists() else ROOT / file).read_text()
    # Python sections are marked with "# --8<-- [start:x]", Markdown ones (README.md's
    # quickstart) with "<!-- --8<-- [start:x] -->".
    start, end = (
        rf"(?:#|<!--) --8<-- \[{edge}:{re.escape(name)}\](?: -->)?" for edge in ("start", "end")
    )
    match = re.search(rf"{start}\n(.*?)\n\s*{end}", text, re.DOTALL)
    assert match, f"{file} has no section {name!r}"
    return match.group(1)


# Bookkeeping --------------------------------------------------------------------------------


def test_every_snippet_is_tested() -> None:
    assert {p.name for p in SRC.glob("*.py")} == TESTED


def test_every_include_resolves() -> None:
    includes = [
        (page.name, target)
        for page in DOCS.glob("*.md")
        for target in INCLUDE.findall(page.read_text())
    ]
    assert includes, "no page includes a snippet"
    for page, target in includes:
        file, _, name = target.partition(":")
        path = SRC / file if (SRC / file).exists() else ROOT / file
        assert path.exists(), f"{page} includes {file}, which does not exist"
        if name:
            section(file, name)


# Installation -------------------------------------------------------------------------------


def test_quickstart_is_under_ten_lines() -> None:
    lines = [
        line
        for text in (
            section("quickstart_settings.py", "apps"),
            section("quickstart_urls.py", "urls"),
        )
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert len(lines) < 10


QUICKSTART_SCRIPT = """
import django
from django.core.management import call_command
django.setup()
call_command("check", fail_level="WARNING")
call_command("migrate", verbosity=0)
from django.test import Client, override_settings
response = Client().get("/api/products")
assert response.status_code == 200, response.content
assert response.json() == {
    "items": [], "count": 0, "count_exact": True, "page": 1, "page_size": 20,
    "next_cursor": None,
}, response.json()
assert Client().get("/api/nowhere").json()["detail"].startswith("No endpoint")
print("quickstart ok")
"""


@pytest.mark.slow
def test_quickstart_project_checks_migrates_and_serves(tmp_path: Path) -> None:
    """The settings and URLconf of docs/installation.md make a working project on their own."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "quickstart_settings",
        "QUICKSTART_DB": str(tmp_path / "db.sqlite3"),
        # The same nexus_shop this test run imports (the checkout or the installed wheel).
        "PYTHONPATH": os.pathsep.join([str(SRC), *sys.path]),
    }
    result = processes.run(sys.executable, "-c", QUICKSTART_SCRIPT, env=env, timeout=120)
    assert "quickstart ok" in result.stdout


@pytest.mark.django_db
def test_own_ninja_api_mounts_the_router(settings: Any, make_product: Any) -> None:
    module = load("own_api_urls")
    settings.ROOT_URLCONF = module.__name__
    product = make_product()
    client = Client()
    response = client.get("/api/shop/products")
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["items"]] == [product.pk]
    # register_exception_handlers: domain errors become JSON {"detail": ..., "errors": [...]}.
    response = client.get("/api/shop/products/999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "No product with id 999999.", "errors": []}
    response = client.get("/api/shop/products", {"cursor": "junk"})
    assert response.status_code == 422
    assert response.json()["field"] == "cursor"


# Catalogue ----------------------------------------------------------------------------------


@pytest.fixture
def catalogue(db: None) -> dict[str, Any]:
    built: dict[str, Any] = load("catalog_examples").build_catalogue()
    return built


@pytest.fixture
def examples() -> ModuleType:
    return load("catalog_examples")


@pytest.fixture
def manager(db: None, examples: ModuleType) -> Client:
    examples.make_catalogue_manager("manager", "a-long-enough-password-1")
    client: Client = examples.bearer_client("manager", "a-long-enough-password-1")
    return client


@pytest.mark.usefixtures("catalogue")
@pytest.mark.parametrize(
    "example", ["categories", "page_mode", "cursor_mode", "filters", "product_json", "search"]
)
def test_public_reads(examples: ModuleType, example: str) -> None:
    getattr(examples, example)(Client())


@pytest.mark.usefixtures("catalogue")
def test_search_by_backend(examples: ModuleType) -> None:
    if connection.vendor == "postgresql":
        examples.search_postgresql(Client())
    else:
        examples.search_other_databases(Client())


@pytest.mark.usefixtures("catalogue")
def test_writes(examples: ModuleType, manager: Client) -> None:
    examples.writes(manager, Client())


@pytest.mark.usefixtures("catalogue")
def test_restore_conflict(examples: ModuleType, manager: Client) -> None:
    examples.restore_conflict(manager)


@pytest.mark.usefixtures("catalogue")
def test_visibility(examples: ModuleType, manager: Client) -> None:
    examples.visibility(Client(), manager)


@pytest.mark.usefixtures("catalogue")
def test_errors(examples: ModuleType, customer_client: Client) -> None:
    examples.errors(Client(), customer_client)


@pytest.mark.usefixtures("catalogue")
def test_category_writes(examples: ModuleType, staff_client: Client) -> None:
    examples.category_writes(staff_client)


def test_manager_permissions_are_exactly_the_product_ones(db: None, examples: ModuleType) -> None:
    user = examples.make_catalogue_manager("perm-check", "a-long-enough-password-1")
    assert user.get_all_permissions() == {
        "nexus_shop.add_product",
        "nexus_shop.change_product",
        "nexus_shop.delete_product",
    }


# Settings and checks ------------------------------------------------------------------------


def _documented() -> dict[str, Any]:
    module = load("settings_example")
    return {name: getattr(module, name) for name in dir(module) if name.startswith("NEXUS_SHOP_")}


def test_every_setting_is_documented() -> None:
    properties = {
        name
        for name, value in vars(Settings).items()
        if isinstance(value, property) and not name.startswith("_")
    }
    jwt_backed = {"ACCESS_TOKEN_LIFETIME", "REFRESH_TOKEN_LIFETIME", "NINJA_JWT"}
    assert {f"NEXUS_SHOP_{name}" for name in properties - jwt_backed} == set(_documented())
    assert jwt_backed - {"NINJA_JWT"} <= set(load("settings_example").NINJA_JWT)
    page = (DOCS / "settings.md").read_text()
    for name in _documented():
        assert f"### `{name}`" in page, f"docs/settings.md has no heading for {name}"


def test_documented_values_are_the_defaults(settings: Any) -> None:
    documented = _documented()
    for name in documented:
        if hasattr(settings, name):
            delattr(settings, name)
    settings.NINJA_JWT = {}
    for name, value in documented.items():
        actual = getattr(conf, name.removeprefix("NEXUS_SHOP_"))
        assert actual == value, name
    jwt = load("settings_example").NINJA_JWT
    assert jwt["ACCESS_TOKEN_LIFETIME"] == conf.ACCESS_TOKEN_LIFETIME
    assert jwt["REFRESH_TOKEN_LIFETIME"] == conf.REFRESH_TOKEN_LIFETIME


def test_documented_settings_pass_the_checks(settings: Any) -> None:
    for name, value in _documented().items():
        setattr(settings, name, value)
    settings.NINJA_JWT = load("settings_example").NINJA_JWT
    ids = [m.id for m in run_checks(include_deployment_checks=True)]
    assert not [i for i in ids if i and i.startswith("nexus_shop.")], ids


def test_check_example_reports_e002() -> None:
    ids = load("checks_example").currency_check_ids()
    assert "nexus_shop.E002" in ids


# Caching ------------------------------------------------------------------------------------


def _cache_from_snippet(location: str) -> Any:
    config = dict(load("cache_settings").CACHES["default"])
    config["LOCATION"] = location
    config["KEY_PREFIX"] = f"{config['KEY_PREFIX']}-{uuid.uuid4().hex[:8]}"
    backend = import_string(config["BACKEND"])
    return backend(location, config)


def test_cache_snippet_fails_open_without_redis(
    caplog: pytest.LogCaptureFixture, unreachable_port: int
) -> None:
    cache = _cache_from_snippet(f"redis://127.0.0.1:{unreachable_port}/0")
    assert cache.get("anything", "fallback") == "fallback"
    cache.set("anything", "value")  # dropped, not raised
    assert not cache.is_available  # the breaker is open for RETRY_AFTER seconds
    assert "Redis unreachable" in caplog.text
    cache.__class__._breakers.clear()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis (set REDIS_URL)")
def test_cache_snippet_round_trips_with_redis() -> None:
    cache = _cache_from_snippet(os.environ["REDIS_URL"])
    cache.set("docs-key", {"a": 1}, timeout=30)
    assert cache.get("docs-key") == {"a": 1}
    other = _cache_from_snippet(os.environ["REDIS_URL"])
    # Two instances, one pool: the point of the backend under ASGI.
    assert cache._cache._get_connection_pool(True) is other._cache._get_connection_pool(True)
    cache.delete("docs-key")


def _cachalot_check_ids(**overrides: Any) -> list[str | None]:
    from cachalot.settings import cachalot_settings

    # cachalot reads its settings once, at start-up: reload them inside the override.
    try:
        with override_settings(**overrides):
            cachalot_settings.load()
            return [m.id for m in run_checks()]
    finally:
        cachalot_settings.load()


CACHALOT_CHECKS = {"nexus_shop.E020", "nexus_shop.E021"}


def test_cachalot_snippet_keeps_auth_and_purchase_tables_uncached() -> None:
    snippet = load("cache_settings")
    both = {
        "CACHALOT_UNCACHABLE_APPS": snippet.CACHALOT_UNCACHABLE_APPS,
        "CACHALOT_UNCACHABLE_TABLES": snippet.CACHALOT_UNCACHABLE_TABLES,
    }

    assert not CACHALOT_CHECKS & set(_cachalot_check_ids(**both))
    assert "nexus_shop.E020" in _cachalot_check_ids(**{**both, "CACHALOT_UNCACHABLE_APPS": []})
    assert "nexus_shop.E021" in _cachalot_check_ids(**{**both, "CACHALOT_UNCACHABLE_TABLES": []})


def test_readme_cachalot_settings_pass_the_cachalot_checks() -> None:
    """The README's caching paragraph, followed as written, starts without E020 or E021."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("\n### Redis, PostgreSQL and caching") :]
    block = re.search(r"^```python\n# settings.py\n(.*?)^```", section, re.M | re.S)
    assert block, "the README shows the cachalot settings as a settings.py block"
    namespace: dict[str, Any] = {"INSTALLED_APPS": []}
    exec(block.group(1), namespace)  # noqa: S102  (our own README)
    assert "cachalot" in namespace["INSTALLED_APPS"]
    settings = {k: v for k, v in namespace.items() if k.startswith("CACHALOT_")}

    assert not CACHALOT_CHECKS & set(_cachalot_check_ids(**settings))
