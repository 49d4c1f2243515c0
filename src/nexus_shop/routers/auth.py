"""Placeholder-free stub replaced by the auth issue."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["auth"])
