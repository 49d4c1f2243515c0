"""Settings of the benchmark project. Not shipped; read by ``benchmarks/run.py``.

Environment:

* ``DATABASE_URL``: the scratch database (``benchmarks/run.py`` creates ``nexus_bench``).
* ``REDIS_URL``: when set, django-cachalot caches ORM reads in Redis through
  ``nexus_shop.cache.RedisCache``; when empty, there is no cache at all.
* ``BENCH_CACHE_PREFIX``: the cache key prefix (default ``nexus-bench-<database name>``).
* ``BENCH_ONLY``: ``nexus`` or ``drf`` mounts one API only (so each server process's memory
  is its own framework's); empty mounts both.
* ``BENCH_RESPONSE_CACHE``: ``1`` turns nexus_shop's response cache on (needs ``REDIS_URL``):
  the "hot" stacks.
* ``BENCH_WEBHOOKS``: ``1`` lets webhooks reach the benchmark's local receiver (plain
  ``http``, and 127.0.0.1/32 allowed): ``benchmarks/webhooks.py``.
* ``BENCH_OBSERVABILITY``: ``1`` turns on what the example project ships for operators:
  ``ObservabilityMiddleware`` first (request ids, the Prometheus metrics, the access log)
  and ``ObservabilityASGI`` outermost under ASGI; the JSON access log (cache hits sampled
  one in ``NEXUS_SHOP_ACCESS_LOG_HITS_EVERY``) and slow-statement log written to
  ``BENCH_ACCESS_LOG`` (default ``os.devnull``). ``0`` turns all of it off, including the
  statement counter nexus_shop puts on every connection (``nexus_shop.logs``); unset
  leaves the library's defaults (the counter on, no middleware), as ``run.py`` measures.
  ``benchmarks/observability.py`` measures ``1`` against ``0``.

Both frameworks run behind the example project's middleware chain (sessions, CSRF, auth,
messages, clickjacking, WhiteNoise), as a Django site deploys them; ``/hello`` is a plain
view through the same chain, the Django ceiling.
"""

from __future__ import annotations

import os
from typing import Any

import dj_database_url

from nexus_shop.conf import PURCHASE_TABLES, UNCACHABLE_APPS

SECRET_KEY = "benchmark-only-secret-key-never-deployed"  # noqa: S105  (a loopback benchmark)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "benchproject.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

BENCH_ONLY = os.environ.get("BENCH_ONLY", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
RESPONSE_CACHE = os.environ.get("BENCH_RESPONSE_CACHE", "") == "1"
OBSERVABILITY = os.environ.get("BENCH_OBSERVABILITY", "") == "1"
NO_OBSERVABILITY = os.environ.get("BENCH_OBSERVABILITY", "") == "0"
if RESPONSE_CACHE and not REDIS_URL:
    raise RuntimeError("BENCH_RESPONSE_CACHE=1 needs REDIS_URL")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja_jwt",
    "ninja_jwt.token_blacklist",
    "nexus_shop",
]
if BENCH_ONLY != "nexus":
    INSTALLED_APPS.append("rest_framework")
if REDIS_URL:
    INSTALLED_APPS.append("cachalot")

# The example project's chain, in front of both frameworks.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if RESPONSE_CACHE:
    # As in the example project: first, so a hit skips the rest of the chain (WSGI).
    MIDDLEWARE.insert(0, "nexus_shop.http_cache.ResponseCacheMiddleware")
    NEXUS_SHOP_RESPONSE_CACHE = "default"
if OBSERVABILITY:
    # As in the example project: outermost, above the response cache, so hits are seen.
    MIDDLEWARE.insert(0, "nexus_shop.observability.ObservabilityMiddleware")
if os.environ.get("BENCH_WEBHOOKS", "") == "1":
    NEXUS_SHOP_WEBHOOK_ALLOW_HTTP = True
    NEXUS_SHOP_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
STATIC_URL = "static/"
WHITENOISE_USE_FINDERS = True
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.contrib.messages.context_processors.messages"]},
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/nexus_bench"),
        conn_max_age=0,
    )
}
# As in the example project: psycopg's connection pool (Django's persistent connections off).
DATABASES["default"]["OPTIONS"] = {"pool": True}

CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    _db_name = DATABASES["default"]["NAME"]
    CACHES = {
        "default": {
            "BACKEND": "nexus_shop.cache.RedisCache",
            "LOCATION": REDIS_URL,
            # cachalot keys are built from the SQL alone: one prefix per database.
            # run.py passes a fresh BENCH_CACHE_PREFIX per run, so a re-seeded database
            # never reads rows cached from the previous one.
            "KEY_PREFIX": os.environ.get("BENCH_CACHE_PREFIX") or f"nexus-bench-{_db_name}",
            "TIMEOUT": 300,
        }
    }
    CACHALOT_TIMEOUT = 300
    CACHALOT_UNCACHABLE_APPS = [*UNCACHABLE_APPS]
    CACHALOT_UNCACHABLE_TABLES = [*PURCHASE_TABLES]  # the purchase path (nexus_shop.E021)
else:
    # No query cache: cachalot is not installed. The throttle counts here.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

NINJA_JWT = {"SIGNING_KEY": "benchmark-only-jwt-signing-key-0123456789", "ALGORITHM": "HS256"}

REST_FRAMEWORK = {
    # Public reads on both sides: no authentication work, JSON only.
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
if OBSERVABILITY:
    # The example project's log format (one JSON object a line, every record with its
    # request id), to a file instead of stdout so the benchmark's output stays readable.
    LOGGING["filters"] = {"request_id": {"()": "nexus_shop.logs.RequestIdFilter"}}
    LOGGING["formatters"] = {"json": {"()": "nexus_shop.logs.JsonFormatter"}}
    LOGGING["handlers"]["access"] = {
        "class": "logging.FileHandler",
        "filename": os.environ.get("BENCH_ACCESS_LOG") or os.devnull,
        "formatter": "json",
        "filters": ["request_id"],
    }
    LOGGING["loggers"] = {
        name: {"handlers": ["access"], "level": "INFO", "propagate": False}
        for name in ("nexus_shop.access", "nexus_shop.db")
    }
