"""The webhook benchmark's receiver: a raw ASGI app (no framework) served by uvicorn.

``POST`` anything: 204, and the arrival time (``time.time()``) of each ``webhook-id`` is
kept (the first one). ``GET /arrival?id=evt_1``: that time as JSON, or 404 while it has not
come. ``GET /count``: how many deliveries arrived, duplicates included.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from benchproject.raw import lifespan

arrivals: dict[str, float] = {}
received = [0]


async def _answer(send: Any, status: int, body: bytes = b"") -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["method"] == "POST":
        at = time.time()
        more = True
        while more:  # read the body, as a receiver verifying the signature would
            message = await receive()
            more = message.get("more_body", False)
        for name, value in scope["headers"]:
            if name == b"webhook-id":
                arrivals.setdefault(value.decode(), at)
        received[0] += 1
        await _answer(send, 204)
        return
    if scope["path"] == "/count":
        await _answer(send, 200, json.dumps(received[0]).encode())
        return
    webhook_id = parse_qs(scope["query_string"].decode()).get("id", [""])[0]
    if webhook_id in arrivals:
        await _answer(send, 200, json.dumps(arrivals[webhook_id]).encode())
    else:
        await _answer(send, 404, b"null")
