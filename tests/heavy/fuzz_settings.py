"""The example project's settings, as fuzzed: auth throttles raised, tokens live longer.

With the default 10 attempts a minute, nearly every generated login, refresh and
registration would stop at the throttle's 429 and never reach the code behind it. The
throttle itself is tested in ``tests/test_throttling.py``. Passwords hash with MD5 so
that the fuzzer's registrations and logins cost microseconds, not 0.3 s each. Access
tokens live an hour, not ten minutes: on a slow machine one role's run can outlast them,
and every later case would then be a 401.
"""

from datetime import timedelta

from example_project import settings as example
from example_project.settings import *  # noqa: F403  (the whole example, changed below)

NEXUS_SHOP_THROTTLE_RATES = {
    "register": "100000/m",
    "token": "100000/m",
    "login": "100000/m",
    "refresh": "100000/m",
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
NINJA_JWT = {**example.NINJA_JWT, "ACCESS_TOKEN_LIFETIME": timedelta(hours=1)}
