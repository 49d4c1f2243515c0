"""Settings of the example host project, read from the environment (12-factor).

Every variable this file reads is listed, with a safe example value, in ``.env.example``
at the repository root, and passed to the ``web`` service in ``docker-compose.yml``
(``tests/test_deploy_files.py`` keeps the three in step). An empty variable counts as
unset.

========================  ==============================================================
``DATABASE_URL``          e.g. ``postgres://user:pass@host:5432/db``; default: a SQLite
                          file next to ``manage.py``. PostgreSQL gets psycopg's pool.
``REDIS_URL``             e.g. ``redis://host:6379/0``; default: none, i.e. the
                          process-local memory cache.
``SECRET_KEY``            required unless ``DEBUG`` is on (then a dev-only default).
``JWT_SIGNING_KEY``       signs the JWTs; required unless ``DEBUG`` is on; must differ
                          from ``SECRET_KEY``.
``DEBUG``                 ``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``;
                          default off.
``ALLOWED_HOSTS``         comma-separated; default ``localhost,127.0.0.1,[::1]``.
``CORS_ALLOWED_ORIGINS``  comma-separated origins of browser front ends on other origins
                          (``https://shop.example.com``); default none.
``METRICS_TOKEN``         the bearer token Prometheus scrapes ``/metrics`` with; default
                          none: ``/metrics`` answers 404 to everyone.
``TRACING``               boolean, default off. On: OpenTelemetry traces (install
                          ``nexus-shop[otel]`` and set up a tracer provider).
``BEHIND_HTTPS_PROXY``    boolean, default off. On: a proxy in front terminates TLS and
                          sets ``X-Forwarded-Proto``; HTTP is redirected to HTTPS, HSTS and
                          secure cookies are on (``check --deploy`` passes).
========================  ==============================================================
"""

from __future__ import annotations

import hashlib
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from nexus_shop.conf import PURCHASE_TABLES, UNCACHABLE_APPS

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
POOL_TIMEOUT = 5.0  # seconds a request waits for a pooled PostgreSQL connection


def env(name: str, default: str | None = None) -> str | None:
    """The variable's value, or ``default`` when it is unset or empty."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_bool(name: str, *, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use 1/0, true/false, yes/no.")


def env_list(name: str, *, default: list[str]) -> list[str]:
    value = env(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# The placeholders of .env.example and the dev-only defaults below, and words that mark
# a value nobody generated: publicly known, so refused when DEBUG is off.
_PLACEHOLDER_MARKERS = ("replace-me", "change-me", "changeme", "insecure", "placeholder")
MIN_SECRET_LENGTH = 32


def weak_secret_reason(value: str) -> str | None:
    """Why ``value`` is no secret (a placeholder, too short, too repetitive), or None."""
    lowered = value.lower()
    for marker in _PLACEHOLDER_MARKERS:
        if marker in lowered:
            return f"it contains {marker!r}, like the publicly known example values"
    if len(value) < MIN_SECRET_LENGTH:
        return f"it has {len(value)} characters; use at least {MIN_SECRET_LENGTH}"
    if len(set(value)) < 10:
        return "it repeats a handful of characters"
    return None


def env_secret(name: str, *, debug: bool, dev_default: str) -> str:
    """A secret: required in production, a fixed dev-only value when ``DEBUG`` is on.

    With ``DEBUG`` off, placeholders (``.env.example``'s ``replace-me-...``) and obviously
    weak values are refused: ``cp .env.example .env && docker compose up`` must not serve
    with keys anyone can read on GitHub.
    """
    value = env(name)
    if value is not None:
        reason = None if debug else weak_secret_reason(value)
        if reason is not None:
            raise ImproperlyConfigured(
                f"{name} is not a real secret: {reason}. Generate one with "
                '`python -c "import secrets; print(secrets.token_urlsafe(50))"` and set it '
                "in the environment (or .env), or set DEBUG=1 for local development."
            )
        return value
    if debug:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is not set. Set it in the environment (see .env.example), "
        "or set DEBUG=1 to use an insecure development default."
    )


def cache_key_prefix(database: dict[str, Any]) -> str:
    """A cache key prefix of its own for each database.

    django-cachalot builds its keys from the SQL alone, so two databases sharing a Redis
    (a dev and a test database, two deployments) would read each other's cached rows
    without distinct prefixes.
    """
    identity = "|".join(str(database.get(key) or "") for key in ("ENGINE", "HOST", "PORT", "NAME"))
    return "nexus-shop-" + hashlib.sha256(identity.encode()).hexdigest()[:16]


def database_from_url(url: str) -> dict[str, Any]:
    database: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    if database["ENGINE"] == "django.db.backends.postgresql":
        # psycopg's pool instead of Django's persistent connections (which must then be
        # off): under ASGI a request may run on any thread, and the pool shares one set of
        # connections among them. The pool's default wait for a connection is 30 s; with
        # the database down that is how long every request (and /api/health) would hang.
        database["ENGINE"] = "example_project.postgresql"  # Django's, recovering faster
        database["CONN_MAX_AGE"] = 0
        database["OPTIONS"] = {
            **database.get("OPTIONS", {}),
            "pool": {"timeout": POOL_TIMEOUT},
        }
    # Test a connection (one round trip) before a request uses it: with the pool, Django
    # passes ``check=ConnectionPool.check_connection``. One broken by a database restart or
    # a network blip is then replaced, instead of failing the request it was handed to.
    database["CONN_HEALTH_CHECKS"] = True
    return database


def caches_from_url(redis_url: str | None, database: dict[str, Any]) -> dict[str, Any]:
    if redis_url:
        return {
            "default": {
                # Shared connection pool per process, and fail-open when Redis is down.
                "BACKEND": "nexus_shop.cache.RedisCache",
                "LOCATION": redis_url,
                "KEY_PREFIX": cache_key_prefix(database),
            }
        }
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "nexus-shop-example",
        }
    }


# Core ------------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_secret(
    "SECRET_KEY",
    debug=DEBUG,
    dev_default="django-insecure-example-project-dev-only-never-use-in-production",
)
JWT_SIGNING_KEY = env_secret(
    "JWT_SIGNING_KEY",
    debug=DEBUG,
    dev_default="insecure-example-project-jwt-key-dev-only-never-use-in-production",
)
if JWT_SIGNING_KEY == SECRET_KEY:
    raise ImproperlyConfigured(
        "JWT_SIGNING_KEY must differ from SECRET_KEY, so rotating one secret does not "
        "rotate (or leak) the other."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# A storefront on another origin calls the API from the browser (django-cors-headers).
# Tokens travel in the Authorization header, so no credentials (cookies) are allowed.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"

# HTTPS ------------------------------------------------------------------------------------------

# Off, ``check --deploy`` warns about each of these (security.W004/W008/W012/W016), as it
# should for a site served over plain HTTP. Only set it when the proxy in front really
# terminates TLS *and* overwrites X-Forwarded-Proto: otherwise a client could claim HTTPS.
BEHIND_HTTPS_PROXY = env_bool("BEHIND_HTTPS_PROXY", default=False)
if BEHIND_HTTPS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Load balancers and Kubernetes probe over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^api/health(/live|/ready)?$"]
    SECURE_HSTS_SECONDS = 3600  # raise to a year (31536000) once HTTPS is known to work
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # HSTS for every subdomain, and preloading into browsers, bind the whole domain and
    # cannot be taken back quickly: the host's decision, not the example's.
    SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"
ASGI_APPLICATION = "example_project.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"

INSTALLED_APPS = [
    "corsheaders",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja_jwt",
    "ninja_jwt.token_blacklist",
    "cachalot",
    "nexus_shop",
    "demo",
]

MIDDLEWARE = [
    # Request ids, one JSON access-log line a request, the metrics: outermost, so cache
    # hits are seen too (docs/operations.md).
    "nexus_shop.observability.ObservabilityMiddleware",
    "corsheaders.middleware.CorsMiddleware",  # its headers go on every answer
    # Answers cached public reads before the rest of the chain (WSGI; under ASGI the
    # wrapper in asgi.py answers them and this one stands by).
    "nexus_shop.http_cache.ResponseCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # /static/ (Swagger UI's assets, the admin's CSS) in every serving mode: WSGI servers
    # serve no files, and Django's own static view is for DEBUG only.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves what `collectstatic` gathered into STATIC_ROOT (the Docker image runs it
# at build time) and, without it, finds the files in the apps as Django's finders do, so
# `nox -s demo` and a fresh checkout need no collectstatic step.
WHITENOISE_USE_FINDERS = True

# Product images (NEXUS_SHOP_IMAGE_STORAGE, here Django's default storage): uploaded files are
# written under MEDIA_ROOT and addressed by MEDIA_URL. Cached answers embed these URLs, so in
# production make MEDIA_URL a CDN or public bucket domain that serves MEDIA_ROOT (or point
# the storage at S3/GCS: docs/images.md). SERVE_MEDIA lets Django serve them itself, for the
# demo and small sites (on by default with DEBUG).
MEDIA_ROOT = env("MEDIA_ROOT") or str(BASE_DIR / "media")
MEDIA_URL = env("MEDIA_URL") or "/media/"
SERVE_MEDIA = env_bool("SERVE_MEDIA", default=DEBUG)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Database and cache -----------------------------------------------------------------------------

DATABASE_URL = env("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": database_from_url(DATABASE_URL)}

REDIS_URL = env("REDIS_URL")
CACHES = caches_from_url(REDIS_URL, DATABASES["default"])

# /metrics for Prometheus, behind a bearer token (docs/operations.md); unset, a 404.
NEXUS_SHOP_METRICS_TOKEN = env("METRICS_TOKEN")
# OpenTelemetry traces (needs nexus-shop[otel] and a tracer provider: docs/operations.md).
NEXUS_SHOP_TRACING = env_bool("TRACING", default=False)

# The response cache for public reads (docs/caching.md): exact, invalidated on every write.
NEXUS_SHOP_RESPONSE_CACHE = "default"

CACHALOT_ENABLED = True
CACHALOT_TIMEOUT = 3600  # bounded: an invalidation lost during a Redis outage expires
# Never serve users, permissions, tokens or sessions from the cache (nexus_shop.E020).
CACHALOT_UNCACHABLE_APPS = [*UNCACHABLE_APPS, "admin"]
# Carts, orders and idempotency records are always read from the database (nexus_shop.E021).
CACHALOT_UNCACHABLE_TABLES = [*PURCHASE_TABLES]
# cachalot caches only the database engines it knows, by dotted path, and skips the others
# with a mere warning (cachalot.W002). Ours is Django's PostgreSQL backend, subclassed for
# its pool (example_project/postgresql): the same SQL, so cachalot supports it.
CACHALOT_ADDITIONAL_SUPPORTED_DATABASES = {"example_project.postgresql"}

# JWT ----------------------------------------------------------------------------------------------

NINJA_JWT = {
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "ALGORITHM": "HS256",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=10),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
}

# Logging ------------------------------------------------------------------------------------------

# One JSON object a line on stdout, every record with the request's id (docs/operations.md):
# nexus_shop.access writes one line a request (cache hits sampled:
# NEXUS_SHOP_ACCESS_LOG_HITS_EVERY), nexus_shop.db the statements slower than
# NEXUS_SHOP_SLOW_QUERY_MS. The standard library's logging and json, with nexus_shop's
# formatter: no dependency for forty lines, and a host's own LOGGING keeps working.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "nexus_shop.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "nexus_shop.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "nexus_shop": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
