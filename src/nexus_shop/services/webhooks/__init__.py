"""Webhooks: endpoints (``endpoints``), the address guard (``network``), signatures
(``signing``) and the delivery workers (``delivery``)."""
