"""The example project's settings for the generated-client scenario: one refresh a minute.

tests/heavy/clients/scenario.py refreshes a token twice in a row to meet the throttle's
429 and its ``Retry-After``; at the default 10 a minute that would take eleven calls. The
other scopes keep their defaults. Passwords hash with MD5, as the suite's factories hash
them, so the staff user the test creates can log in (in microseconds, not 0.3 s). The
scenario's webhook endpoint points at 127.0.0.1, as the suite's receivers do.
"""

from example_project.settings import *  # noqa: F403  (the whole example, changed below)

NEXUS_SHOP_THROTTLE_RATES = {"refresh": "1/m"}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
NEXUS_SHOP_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
