"""The example project's settings, as fuzzed: only the auth throttles are raised.

With the default 10 attempts a minute, nearly every generated login, refresh and
registration would stop at the throttle's 429 and never reach the code behind it. The
throttle itself is tested in ``tests/test_throttling.py``. Passwords hash with MD5 so
that the fuzzer's registrations and logins cost microseconds, not 0.3 s each.
"""

from example_project.settings import *  # noqa: F403  (the whole example, changed below)

NEXUS_SHOP_THROTTLE_RATES = {
    "register": "100000/m",
    "token": "100000/m",
    "login": "100000/m",
    "refresh": "100000/m",
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
