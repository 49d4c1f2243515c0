"""A hit as an answer, and the one rule for what a 304 keeps."""

from __future__ import annotations

from django.http import HttpResponse

from nexus_shop.http_cache.headers import not_modified
from nexus_shop.http_cache.replay import replay
from nexus_shop.http_cache.store import Entry

HEADERS = (
    ("Content-Type", "application/json; charset=utf-8"),
    ("Content-Encoding", "gzip"),
    ("ETag", '"abc"'),
    ("Cache-Control", "public, max-age=0, must-revalidate"),
    ("Vary", "Authorization"),
    ("X-Frame-Options", "DENY"),
    ("X-Added-By-A-View", "1"),
)


def _entry() -> Entry:
    return Entry(seq=1, epoch="e", deps=(), headers=HEADERS, etag='"abc"', body=b"{}")


def test_a_hit_is_the_stored_200_with_its_length() -> None:
    status, headers, body = replay(_entry(), None)
    assert (status, body) == (200, b"{}")
    assert headers == [*HEADERS, ("Content-Length", "2"), ("X-Response-Cache", "hit")]
    assert replay(_entry(), '"other"')[0] == 200


def test_a_304_keeps_what_django_keeps() -> None:
    status, headers, body = replay(_entry(), 'W/"abc"')
    assert (status, body) == (304, b"")
    response = HttpResponse(b"{}")
    for name, value in HEADERS:
        response[name] = value
    from_django = not_modified(response)
    assert from_django.status_code == 304
    expected = [(n, v) for n, v in HEADERS if not n.startswith("Content-")]
    assert list(from_django.items()) == expected
    assert headers == [*expected, ("X-Response-Cache", "hit")]
