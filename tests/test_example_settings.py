"""The example project: settings from the environment, ``check --deploy``, ``demo_setup``.

Settings are evaluated with ``runpy`` into a fresh namespace (the suite's own Django
settings are never touched); ``manage.py`` and the ASGI entry point run in a subprocess
from the repository root, as nox and uvicorn run them; ``demo_setup`` runs in-process on
the suite's database.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import runpy
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from nexus_shop.conf import PURCHASE_TABLES, UNCACHABLE_APPS
from nexus_shop.models import Category, Product
from tests.support import processes

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "example_project"
SETTINGS = EXAMPLE / "example_project" / "settings.py"
ENV_VARS = (
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "JWT_SIGNING_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CORS_ALLOWED_ORIGINS",
    "BEHIND_HTTPS_PROXY",
)

REAL_KEYS = {
    "SECRET_KEY": "k3y-for-tests-" + "a1B2c3D4e5F6g7H8i9J0" * 3,
    "JWT_SIGNING_KEY": "jwt-for-tests-" + "Z9y8X7w6V5u4T3s2R1q0" * 3,
}


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean slate: none of the example's variables set (the suite sets some)."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def load(**variables: str) -> dict[str, Any]:
    for name, value in variables.items():
        os.environ[name] = value
    return runpy.run_path(str(SETTINGS), run_name="example_settings_under_test")


# Secrets and DEBUG -----------------------------------------------------------------------------


def test_missing_secret_key_without_debug_is_a_clear_error(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"SECRET_KEY is not set.*DEBUG=1"):
        load(JWT_SIGNING_KEY=REAL_KEYS["JWT_SIGNING_KEY"])


def test_missing_jwt_signing_key_without_debug_is_a_clear_error(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="JWT_SIGNING_KEY is not set"):
        load(SECRET_KEY=REAL_KEYS["SECRET_KEY"])


def _env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    pairs = (line.partition("=") for line in lines if "=" in line and not line.startswith("#"))
    return {name: value for name, _, value in pairs}


@pytest.mark.parametrize("name", ["SECRET_KEY", "JWT_SIGNING_KEY"])
def test_the_env_example_placeholders_are_refused_without_debug(
    env: pytest.MonkeyPatch, name: str
) -> None:
    # `cp .env.example .env && docker compose up` must not serve with publicly known keys.
    keys = {**REAL_KEYS, name: _env_example()[name]}
    with pytest.raises(ImproperlyConfigured, match=rf"{name} is not a real secret.*replace-me"):
        load(**keys)


@pytest.mark.parametrize(
    ("weak", "reason"),
    [
        ("short-key-123", "13 characters; use at least 32"),
        ("a" * 20 + "b" * 20, "repeats a handful of characters"),
        ("django-insecure-" + "x1y2z3" * 6, "'insecure'"),
        ("please-change-me-" + "q7w8e9r0" * 4, "'change-me'"),
    ],
)
def test_weak_keys_are_refused_without_debug(
    env: pytest.MonkeyPatch, weak: str, reason: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=re.escape(reason)) as error:
        load(SECRET_KEY=REAL_KEYS["SECRET_KEY"], JWT_SIGNING_KEY=weak)
    assert "secrets.token_urlsafe(50)" in str(error.value)


def test_weak_keys_are_allowed_with_debug(env: pytest.MonkeyPatch) -> None:
    example = _env_example()
    settings = load(
        DEBUG="1", SECRET_KEY=example["SECRET_KEY"], JWT_SIGNING_KEY=example["JWT_SIGNING_KEY"]
    )
    assert settings["SECRET_KEY"] == example["SECRET_KEY"]


def test_cors_allowed_origins_come_from_the_environment(env: pytest.MonkeyPatch) -> None:
    assert load(**REAL_KEYS)["CORS_ALLOWED_ORIGINS"] == []
    settings = load(
        CORS_ALLOWED_ORIGINS="https://shop.example.com, http://localhost:5173", **REAL_KEYS
    )
    assert settings["CORS_ALLOWED_ORIGINS"] == ["https://shop.example.com", "http://localhost:5173"]
    assert settings["MIDDLEWARE"][:2] == [
        "nexus_shop.observability.ObservabilityMiddleware",
        "corsheaders.middleware.CorsMiddleware",
    ]
    assert "corsheaders" in settings["INSTALLED_APPS"]


def test_debug_off_is_the_default(env: pytest.MonkeyPatch) -> None:
    settings = load(**REAL_KEYS)
    assert settings["DEBUG"] is False
    assert settings["SECRET_KEY"] == REAL_KEYS["SECRET_KEY"]
    assert settings["NINJA_JWT"]["SIGNING_KEY"] == REAL_KEYS["JWT_SIGNING_KEY"]


def test_debug_gives_distinct_dev_only_keys(env: pytest.MonkeyPatch) -> None:
    settings = load(DEBUG="1")
    assert settings["DEBUG"] is True
    assert "insecure" in settings["SECRET_KEY"]
    assert "insecure" in settings["NINJA_JWT"]["SIGNING_KEY"]
    assert settings["SECRET_KEY"] != settings["NINJA_JWT"]["SIGNING_KEY"]


def test_jwt_signing_key_must_differ_from_secret_key(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="must differ from SECRET_KEY"):
        load(SECRET_KEY=REAL_KEYS["SECRET_KEY"], JWT_SIGNING_KEY=REAL_KEYS["SECRET_KEY"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("YES", True), ("on", True), ("0", False), ("off", False)],
)
def test_debug_values(env: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    assert load(DEBUG=raw, **REAL_KEYS)["DEBUG"] is expected


def test_a_debug_value_that_is_not_a_boolean_is_refused(env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ImproperlyConfigured, match="DEBUG='maybe' is not a boolean"):
        load(DEBUG="maybe", **REAL_KEYS)


def test_allowed_hosts(env: pytest.MonkeyPatch) -> None:
    assert load(**REAL_KEYS)["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    hosts = load(ALLOWED_HOSTS=" shop.example.com, .example.org ,", **REAL_KEYS)["ALLOWED_HOSTS"]
    assert hosts == ["shop.example.com", ".example.org"]


# Database --------------------------------------------------------------------------------------


def test_database_defaults_to_a_sqlite_file_next_to_manage_py(env: pytest.MonkeyPatch) -> None:
    database = load(DEBUG="1")["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert Path(database["NAME"]) == EXAMPLE / "db.sqlite3"
    assert "pool" not in database.get("OPTIONS", {})


def test_an_empty_variable_counts_as_unset(env: pytest.MonkeyPatch) -> None:
    settings = load(DEBUG="1", DATABASE_URL="", REDIS_URL="  ")
    assert settings["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["CACHES"]["default"]["BACKEND"].endswith("LocMemCache")


def test_postgres_url_uses_psycopgs_pool_without_persistent_connections(
    env: pytest.MonkeyPatch,
) -> None:
    url = "postgres://shop:s3cret@db.internal:5433/catalogue"
    database = load(DATABASE_URL=url, **REAL_KEYS)["DATABASES"]["default"]
    assert database["ENGINE"] == "example_project.postgresql"  # Django's, subclassed
    assert (database["NAME"], database["USER"], database["PASSWORD"]) == (
        "catalogue",
        "shop",
        "s3cret",
    )
    assert (database["HOST"], database["PORT"]) == ("db.internal", 5433)
    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["pool"] == {"timeout": 5.0}
    # Django then gives the pool check=ConnectionPool.check_connection: a connection broken
    # by a database restart is replaced, not handed to a request
    # (tests/heavy/test_database_faults.py shows it for real).
    assert database["CONN_HEALTH_CHECKS"] is True


def test_every_database_checks_connections_before_use(env: pytest.MonkeyPatch) -> None:
    database = load(DEBUG="1")["DATABASES"]["default"]
    assert database["CONN_HEALTH_CHECKS"] is True


# Cache -----------------------------------------------------------------------------------------


def test_without_redis_the_cache_is_local_memory(env: pytest.MonkeyPatch) -> None:
    caches = load(DEBUG="1")["CACHES"]
    assert caches["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_redis_url_selects_the_fail_open_backend_with_a_per_database_prefix(
    env: pytest.MonkeyPatch,
) -> None:
    redis_url = "redis://cache.internal:6379/2"
    first = load(DATABASE_URL="postgres://u@db/one", REDIS_URL=redis_url, **REAL_KEYS)
    cache = first["CACHES"]["default"]
    assert cache["BACKEND"] == "nexus_shop.cache.RedisCache"
    assert cache["LOCATION"] == redis_url
    assert re.fullmatch(r"nexus-shop-[0-9a-f]{16}", cache["KEY_PREFIX"])

    again = load(DATABASE_URL="postgres://u@db/one", REDIS_URL=redis_url, **REAL_KEYS)
    other_db = load(DATABASE_URL="postgres://u@db/two", REDIS_URL=redis_url, **REAL_KEYS)
    other_host = load(DATABASE_URL="postgres://u@db2/one", REDIS_URL=redis_url, **REAL_KEYS)
    assert again["CACHES"]["default"]["KEY_PREFIX"] == cache["KEY_PREFIX"]
    prefixes = {
        cache["KEY_PREFIX"],
        other_db["CACHES"]["default"]["KEY_PREFIX"],
        other_host["CACHES"]["default"]["KEY_PREFIX"],
    }
    assert len(prefixes) == 3


def test_cachalot_jwt_and_apps(env: pytest.MonkeyPatch) -> None:
    settings = load(**REAL_KEYS)
    for app in ("django.contrib.admin", "ninja_jwt", "ninja_jwt.token_blacklist", "cachalot"):
        assert app in settings["INSTALLED_APPS"]
    assert settings["INSTALLED_APPS"][-2:] == ["nexus_shop", "demo"]
    assert settings["CACHALOT_ENABLED"] is True
    assert 0 < settings["CACHALOT_TIMEOUT"] <= 3600
    assert set(settings["CACHALOT_UNCACHABLE_APPS"]) == {*UNCACHABLE_APPS, "admin"}
    assert set(settings["CACHALOT_UNCACHABLE_TABLES"]) >= set(PURCHASE_TABLES)
    jwt = settings["NINJA_JWT"]
    assert jwt["ALGORITHM"] == "HS256"
    assert jwt["ACCESS_TOKEN_LIFETIME"].total_seconds() == 10 * 60
    assert jwt["REFRESH_TOKEN_LIFETIME"].days == 7
    assert settings["LOGGING"]["root"]["handlers"] == ["console"]


# Management commands, in a subprocess ----------------------------------------------------------


def manage(*args: str, tmp_path: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """``python example_project/manage.py ...`` from the repository root, as nox runs it."""
    environ = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    environ.pop("DEMO_PASSWORD", None)
    environ["DJANGO_SETTINGS_MODULE"] = "example_project.settings"  # pytest-django set its own
    environ["DATABASE_URL"] = f"sqlite:///{tmp_path / 'example.sqlite3'}"
    environ.update(variables)
    return processes.run(
        sys.executable, EXAMPLE / "manage.py", *args, env=environ, timeout=120, check=False
    )


def test_check_deploy_has_no_nexus_shop_or_cachalot_warnings(tmp_path: Path) -> None:
    result = manage(
        "check",
        "--deploy",
        tmp_path=tmp_path,
        DEBUG="0",
        REDIS_URL="redis://127.0.0.1:6379/0",  # not contacted; selects nexus_shop's backend
        ALLOWED_HOSTS="shop.example.com",
        **REAL_KEYS,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "nexus_shop." not in output
    assert "cachalot." not in output


HTTPS_WARNINGS = ("security.W004", "security.W008", "security.W012", "security.W016")


def production(tmp_path: Path, *options: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """``check <options> --fail-level WARNING`` with production settings."""
    return manage(
        "check",
        *options,
        "--fail-level",
        "WARNING",
        tmp_path=tmp_path,
        DEBUG="0",
        REDIS_URL="redis://127.0.0.1:6379/0",  # not contacted; selects nexus_shop's backend
        ALLOWED_HOSTS="shop.example.com",
        **REAL_KEYS,
        **variables,
    )


def _suite_postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


@pytest.mark.parametrize(
    "database",
    [
        "sqlite",
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(
                _suite_postgres_url() is None, reason="needs PostgreSQL (set DATABASE_URL)"
            ),
        ),
    ],
)
def test_check_has_no_warning_on_either_database(tmp_path: Path, database: str) -> None:
    """No warning hides at start-up: cachalot's W002 once said, on PostgreSQL only, that it
    was off (the example's engine is a subclass of Django's, which cachalot did not know).
    """
    variables = {"DATABASE_URL": _suite_postgres_url() or ""} if database == "postgresql" else {}
    result = production(tmp_path, **variables)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output


def test_check_deploy_passes_at_warning_level_behind_an_https_proxy(tmp_path: Path) -> None:
    result = production(tmp_path, "--deploy", BEHIND_HTTPS_PROXY="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_without_https_check_deploy_still_warns_about_plain_http(tmp_path: Path) -> None:
    """The HTTPS warnings are silenced only by saying HTTPS is there, never by default."""
    result = production(tmp_path, "--deploy")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    for warning in HTTPS_WARNINGS:
        assert warning in output


def test_behind_an_https_proxy_redirects_sets_hsts_and_secure_cookies(
    env: pytest.MonkeyPatch,
) -> None:
    plain = load(**REAL_KEYS)
    assert "SECURE_PROXY_SSL_HEADER" not in plain
    assert not plain.get("SESSION_COOKIE_SECURE")

    settings = load(BEHIND_HTTPS_PROXY="1", **REAL_KEYS)
    assert settings["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert settings["SECURE_SSL_REDIRECT"] is True
    assert settings["SECURE_HSTS_SECONDS"] > 0
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["CSRF_COOKIE_SECURE"] is True
    assert settings["SILENCED_SYSTEM_CHECKS"] == ["security.W005", "security.W021"]


# GETs each path of argv through the example's ASGI application, with the Host header in
# PROBE_HOST (localhost by default); prints [[status, body], ...].
ASGI_PROBE = """
import asyncio, json, os, sys
sys.path.insert(0, "example_project")  # what uvicorn's --app-dir example_project does
from example_project.asgi import application
from tests.support.asgi import asgi_request

async def get(path):
    host = os.environ.get("PROBE_HOST", "localhost")
    status, _, body = await asgi_request(application, "GET", path, host=host)
    return status, body.decode()

async def main():
    return [await get(path) for path in sys.argv[1:]]

print(json.dumps(asyncio.run(main())))
"""


def test_the_asgi_entry_point_serves_health_from_the_repo_root(tmp_path: Path) -> None:
    """``uvicorn example_project.asgi:application --app-dir example_project`` resolves."""
    environ = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    environ.pop("DJANGO_SETTINGS_MODULE")  # asgi.py must pick the example's settings itself
    environ.update(DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'asgi.sqlite3'}")
    result = processes.run(
        sys.executable,
        "-c",
        ASGI_PROBE,
        "/api/health",
        "/api/docs",
        "/api/docs/assets/swagger-ui-bundle.js",
        env=environ,
        timeout=120,
    )
    health, docs, swagger_js = json.loads(result.stdout.strip().splitlines()[-1])
    assert health[0] == 200
    assert json.loads(health[1]) == {"status": "ok", "database": "ok", "cache": "ok"}
    # Swagger UI works offline: the API serves its assets itself, not a CDN.
    assert docs[0] == 200
    assert "/api/docs/assets/swagger-ui-bundle.js" in docs[1]
    assert "cdn.jsdelivr.net" not in docs[1]
    assert swagger_js[0] == 200
    assert "SwaggerUIBundle" in swagger_js[1]


UPLOAD_PROBE = """
import asyncio, json, sys
sys.path.insert(0, "example_project")
from example_project.asgi import application
from tests.support.asgi import asgi_request

async def main():
    status, headers, body = await asgi_request(
        application, "POST", "/api/products/1/images",
        headers=[(b"content-length", str(10**9).encode())],
    )
    return [status, body.decode()]

print(json.dumps(asyncio.run(main())))
"""


def test_the_asgi_entry_point_bounds_image_uploads(tmp_path: Path) -> None:
    """The example's ASGI application is wrapped in ``UploadLimitASGI``: a 1 GB upload is
    refused from its ``Content-Length``, by the wrapper (anonymous: the view would say 401)."""
    environ = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    environ.pop("DJANGO_SETTINGS_MODULE")
    environ.update(DEBUG="1", DATABASE_URL=f"sqlite:///{tmp_path / 'asgi.sqlite3'}")
    result = processes.run(sys.executable, "-c", UPLOAD_PROBE, env=environ, timeout=120)
    status, body = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == 413
    assert json.loads(body)["errors"][0]["type"] == "too_large"


# demo_setup, in-process on the suite's database -------------------------------------------------


def demo_setup_command() -> Any:
    """The example app's command class, loaded from its file (the demo app is not installed)."""
    path = EXAMPLE / "demo" / "management" / "commands" / "demo_setup.py"
    spec = importlib.util.spec_from_file_location("example_demo_setup", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Command()


def demo_setup(*args: str) -> str:
    out = io.StringIO()
    call_command(demo_setup_command(), *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def printed_password(output: str) -> str:
    match = re.search(r"^  password: (.+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def catalogue_perms() -> set[str]:
    return set(
        Permission.objects.filter(content_type__app_label="nexus_shop").values_list(
            "codename", flat=True
        )
    )


@pytest.mark.django_db
def test_demo_setup_draws_pictures(settings: Any, tmp_path: Any) -> None:
    """The demo has images, drawn offline, attached through the image service."""
    from nexus_shop.models import ProductImage
    from nexus_shop.seeding import pictures

    if pictures.image_service() is None:
        pytest.skip("no image service (nexus_shop.services.images) in this build yet")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    demo_setup("--products", "10", "--categories", "3", "--images", "4")
    assert ProductImage.objects.values("product").distinct().count() == 4
    assert Product.objects.exclude(thumbnail_file="").count() == 4


def demo_user() -> Any:
    user = get_user_model().objects.get(username="demo")
    assert user.is_staff is True
    assert user.is_superuser is False
    assert {p.codename for p in user.user_permissions.all()} == catalogue_perms()
    return user


@pytest.mark.django_db
def test_demo_setup_seeds_once_and_sets_up_a_staff_user_idempotently(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed = ["--products", "12", "--categories", "3", "--seed", "7", "--images", "0"]
    monkeypatch.setenv("DEMO_PASSWORD", "Demo-pass-1")
    first = demo_setup(*seed)
    assert "Seeding 12 products in 3 categories" in first
    assert "account created" in first
    assert printed_password(first) == "Demo-pass-1"
    assert "Swagger UI:   http://127.0.0.1:8000/api/docs" in first
    assert "curl -s -X POST http://127.0.0.1:8000/api/auth/token" in first
    assert '{"username": "demo", "password": "Demo-pass-1"}' in first
    assert demo_user().check_password("Demo-pass-1")
    # demo_user() checks the account holds every permission of the app: the catalogue ones too.
    assert catalogue_perms() >= {
        f"{action}_{model}"
        for action in ("add", "change", "delete", "view")
        for model in ("product", "category")
    }
    assert (Product.all_objects.count(), Category.objects.count()) == (12, 3)
    visible = Product.objects.filter(is_active=True).count()
    assert (
        f"Catalogue: {visible} of 12 products visible to anonymous readers "
        f"(GET /api/products counts {visible}); the other {12 - visible} are inactive"
    ) in first

    # Again, without DEMO_PASSWORD: no second seeding, the same user, a fresh password.
    monkeypatch.delenv("DEMO_PASSWORD")
    second = demo_setup(*seed, "--base-url", "http://shop.test:9000/")
    assert "already has data: not seeding" in second
    assert "account updated" in second
    assert "http://shop.test:9000/api/docs" in second
    password = printed_password(second)
    assert len(password) >= 12
    assert password != "Demo-pass-1"
    assert demo_user().check_password(password)
    assert get_user_model().objects.filter(username="demo").count() == 1
    assert (Product.all_objects.count(), Category.objects.count()) == (12, 3)


@pytest.mark.django_db
def test_demo_setup_repairs_a_demo_user_that_drifted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "Demo-pass-2")
    get_user_model().objects.create_user("demo", password="old", is_superuser=True)
    demo_setup("--no-seed")
    assert demo_user().check_password("Demo-pass-2")


@pytest.mark.django_db
def test_demo_setup_no_seed_leaves_an_empty_catalogue_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "x-Y-z-123")
    demo_setup("--no-seed")
    assert (Product.all_objects.count(), Category.objects.count()) == (0, 0)
    assert demo_user().check_password("x-Y-z-123")


def test_media_is_under_the_project_and_served_by_django_with_debug(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("DEBUG", "1")
    loaded = load()
    assert loaded["MEDIA_URL"] == "/media/"
    assert str(loaded["MEDIA_ROOT"]).endswith("example_project/media")
    assert loaded["SERVE_MEDIA"] is True


def test_media_is_not_served_by_django_without_debug_unless_asked(
    env: pytest.MonkeyPatch,
) -> None:
    env.setenv("SECRET_KEY", secrets.token_urlsafe(50))
    env.setenv("JWT_SIGNING_KEY", secrets.token_urlsafe(50))
    assert load()["SERVE_MEDIA"] is False
    env.setenv("SERVE_MEDIA", "1")
    env.setenv("MEDIA_URL", "https://images.example.com/")
    loaded = load()
    assert loaded["SERVE_MEDIA"] is True
    assert loaded["MEDIA_URL"] == "https://images.example.com/"
