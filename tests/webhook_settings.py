"""The test settings for a webhook worker in a process of its own (``python -m django
nexus_shop_deliver_webhooks``): the suite's database, the local receiver reachable
(exactly 127.0.0.1/32, over plain http), and short waits, from the environment:

- ``WEBHOOK_SCHEDULE``: the retry schedule in seconds, comma-separated (default ``1,1,1``);
- ``WEBHOOK_TIMEOUT``: the attempt's deadline in seconds (default 2).
"""

from __future__ import annotations

import os
from datetime import timedelta

from tests.settings import *  # noqa: F403  (the suite's settings, changed below)

NEXUS_SHOP_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
NEXUS_SHOP_WEBHOOK_ALLOW_HTTP = True
NEXUS_SHOP_WEBHOOK_RETRY_SCHEDULE = tuple(
    timedelta(seconds=float(step))
    for step in os.environ.get("WEBHOOK_SCHEDULE", "1,1,1").split(",")
)
NEXUS_SHOP_WEBHOOK_TIMEOUT = float(os.environ.get("WEBHOOK_TIMEOUT", "2"))
NEXUS_SHOP_WEBHOOK_CONNECT_TIMEOUT = 1.0
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"nexus_shop.webhooks": {"handlers": ["console"], "level": "INFO"}},
}
