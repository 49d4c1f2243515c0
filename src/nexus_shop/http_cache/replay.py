"""A cache hit as an answer: status, headers and body, for the ASGI wrapper and the middleware.

A matching ``If-None-Match`` gets the 304, with the headers :func:`kept_on_304` keeps
(the same rule as a 304 Django builds, :func:`~nexus_shop.http_cache.headers.not_modified`);
anything else gets the stored 200 with its ``Content-Length``. A HEAD gets the same
status and headers with no body (RFC 9110 9.3.2): ``Content-Length`` still says the
length of the body a GET would have had.
"""

from __future__ import annotations

from nexus_shop.http_cache.headers import etag_matches, kept_on_304
from nexus_shop.http_cache.store import Entry


def replay(
    entry: Entry, if_none_match: str | None, *, head: bool = False
) -> tuple[int, list[tuple[str, str]], bytes]:
    """The answer to a hit on ``entry``: ``(status, headers, body)``; no body for ``head``."""
    if etag_matches(if_none_match, entry.etag):
        headers = [(name, value) for name, value in entry.headers if kept_on_304(name)]
        status, body = 304, b""
    else:
        headers = [*entry.headers, ("Content-Length", str(len(entry.body)))]
        status, body = 200, b"" if head else entry.body
    headers.append(("X-Response-Cache", "hit"))
    return status, headers, body
