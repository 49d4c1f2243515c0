"""The settings of a minimal host project (docs/installation.md). Run by the docs tests."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-quickstart-only")
DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
ROOT_URLCONF = "quickstart_urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("QUICKSTART_DB", BASE_DIR / "db.sqlite3"),
    }
}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
]

# --8<-- [start:apps]
INSTALLED_APPS += ["ninja_jwt", "ninja_jwt.token_blacklist", "nexus_shop"]
# --8<-- [end:apps]

# --8<-- [start:jwt]
NINJA_JWT = {
    # Its own key, not SECRET_KEY (system check nexus_shop.W001 says so on --deploy).
    "SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY", "quickstart-only-jwt-signing-key"),
}
# --8<-- [end:jwt]
