"""Secrets and signatures, as the Standard Webhooks specification defines them.

The signing itself is the ``standardwebhooks`` package's (the specification's reference
implementation), so what we send is what receivers' verifiers expect.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105  (the format's prefix, not a secret)


def new_secret() -> str:
    """A fresh ``whsec_<base64 of 32 random bytes>`` secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signature(*, secrets_: Iterable[str], event_id: str, timestamp: datetime, body: bytes) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` per secret, space-separated
    (during a rotation, the new secret's first, then the old one's)."""
    # The body as text and the time in UTC: standardwebhooks 1.1 formats ``data`` into the
    # signed string as it is (bytes would sign "b'...'") and takes the time for UTC.
    text = body.decode("utf-8")
    at = timestamp.astimezone(UTC)
    return " ".join(
        Webhook(secret).sign(msg_id=event_id, timestamp=at, data=text) for secret in secrets_
    )
