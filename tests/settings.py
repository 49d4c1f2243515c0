"""Settings for the test suite.

SQLite and the local-memory cache by default; ``DATABASE_URL`` and ``REDIS_URL`` switch
to real PostgreSQL and Redis (that is how CI runs the suite a second time).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from typing import Any

import dj_database_url

from nexus_shop.conf import PURCHASE_TABLES, UNCACHABLE_APPS

SECRET_KEY = "tests-only-secret-key-not-for-production"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "ninja_jwt",
    "ninja_jwt.token_blacklist",
    "cachalot",
    "nexus_shop",
]

MIDDLEWARE = [
    # Notes every answer's status and headers for tests/test_openapi_contract.py.
    "tests.support.contract.Recorder",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
# A second alias on the same test database, for tests/test_db_router.py: the router's
# decisions need a DATABASES alias to name (it is not a replica; tests/heavy/
# test_replicas.py starts a real one). NEXUS_SHOP_READ_REPLICAS is empty, so the router
# sends every query to "default" unless a test overrides it.
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
DATABASE_ROUTERS = ["nexus_shop.db_router.ReplicaRouter"]

# Every run gets its own key prefix: cachalot keys are built from the SQL alone,
# so a shared prefix would let one run read another's (or the dev database's) rows.
_CACHE_PREFIX = f"nexus-shop-tests-{uuid.uuid4().hex[:12]}"
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "nexus_shop.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": _CACHE_PREFIX,
            "TIMEOUT": 600,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": _CACHE_PREFIX,
        }
    }

CACHALOT_ENABLED = True
CACHALOT_TIMEOUT = 600
CACHALOT_UNCACHABLE_APPS = [*UNCACHABLE_APPS]
# Carts, orders and idempotency records are never read back from the cache (nexus_shop.E021).
CACHALOT_UNCACHABLE_TABLES = [*PURCHASE_TABLES]

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast: tests log in a lot
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

NINJA_JWT = {
    "SIGNING_KEY": "tests-only-jwt-signing-key-0123456789abcdef",
    "ALGORITHM": "HS256",
}

# Generous by default so unrelated tests never trip them; throttle tests lower them.
NEXUS_SHOP_THROTTLE_RATES = {
    "register": "1000/m",
    "token": "1000/m",
    "login": "1000/m",
    "refresh": "1000/m",
}

# Webhook receivers in the tests listen on 127.0.0.1, and only that address is let through:
# the refusals of every other loopback, private, link-local and metadata address are tested.
NEXUS_SHOP_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]

STATIC_URL = "/static/"
# Uploaded images go to a folder of this run's own, removed when the run ends
# (tests/conftest.py), never into the repository; tests that look at the files give
# themselves a fresh one (the ``media`` fixture).
MEDIA_ROOT = os.path.join(tempfile.gettempdir(), f"{_CACHE_PREFIX}-media")
MEDIA_URL = "/media/"
