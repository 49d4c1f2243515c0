"""Upload bodies bounded before they are read, for the image upload.

Django bounds the *fields* of a form (``DATA_UPLOAD_MAX_MEMORY_SIZE``) but not its files:
its upload handlers keep up to ``FILE_UPLOAD_MAX_MEMORY_SIZE`` in memory and spool the
rest to a temporary file, however large. Our JSON parser (:mod:`nexus_shop.parser`) never
sees a multipart body. So the upload operation puts :class:`UploadLimit` first among the
request's upload handlers (:func:`bounded_upload`, applied with ninja's
``decorate_view``, so it runs before ninja parses the form):

* a ``Content-Length`` over ``NEXUS_SHOP_MAX_IMAGE_BYTES`` plus
  :data:`~nexus_shop.limits.MULTIPART_ALLOWANCE` is refused before a byte is read;
* the file part is counted as it streams, and refused the moment it passes the limit;
* a chunked body (no ``Content-Length``; a WSGI server that de-chunks it marks its input
  ``wsgi.input_terminated``) is read through :class:`CappedStream`, which stops at the
  same bound: it is cut off there, never held whole.

Each refusal raises :class:`~nexus_shop.exceptions.PayloadTooLarge`, a 413 in the API's
error shape. Under ASGI, Django's handler reads the whole body into a spooled temporary
file before any view runs, so nothing here can cut a chunked body off:
:class:`nexus_shop.asgi.UploadLimitASGI`, around Django's ASGI application, applies the
same bound to the body as the server hands it over (docs/images.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import IO, Any

from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest

from nexus_shop.conf import conf
from nexus_shop.exceptions import PayloadTooLarge
from nexus_shop.limits import MULTIPART_ALLOWANCE

__all__ = ["CappedStream", "UploadLimit", "bounded_upload", "too_large"]


def too_large(limit: int) -> PayloadTooLarge:
    """The refusal of an upload over ``limit`` (also :class:`nexus_shop.asgi.UploadLimitASGI`'s)."""
    return PayloadTooLarge(
        f"The upload is larger than {limit:,} bytes (NEXUS_SHOP_MAX_IMAGE_BYTES).",
        extra={"field": "file", "max_bytes": limit},
    )


class UploadLimit(FileUploadHandler):
    """Refuse an upload from its ``Content-Length``, or once its file passes ``max_bytes``."""

    def __init__(self, request: HttpRequest, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict[str, Any],  # noqa: N803  (Django's name for the argument)
        content_length: int,
        boundary: str,
        encoding: str | None = None,
    ) -> None:
        if content_length > self.max_bytes + MULTIPART_ALLOWANCE:
            raise too_large(self.max_bytes)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.max_bytes:
            raise too_large(self.max_bytes)
        return raw_data  # the next handler (memory, then a temporary file) keeps it

    def file_complete(self, file_size: int) -> None:
        return None


class CappedStream:
    """A chunked request body, read until its end or until ``cap`` bytes, then refused."""

    def __init__(self, stream: IO[bytes], *, cap: int, max_bytes: int) -> None:
        self.stream = stream
        self.cap = cap
        self.max_bytes = max_bytes
        self.consumed = 0

    def read(self, size: int | None = -1) -> bytes:
        room = self.cap + 1 - self.consumed  # one byte past the cap tells "too large"
        size = room if size is None or size < 0 else min(size, room)
        chunk = self.stream.read(size) if size > 0 else b""
        self.consumed += len(chunk)
        if self.consumed > self.cap:
            raise too_large(self.max_bytes)
        return chunk

    def readline(self, size: int | None = -1) -> bytes:
        room = self.cap + 1 - self.consumed
        size = room if size is None or size < 0 else min(size, room)
        line = self.stream.readline(size) if size > 0 else b""
        self.consumed += len(line)
        if self.consumed > self.cap:
            raise too_large(self.max_bytes)
        return line


def _read_chunked(request: HttpRequest, cap: int, max_bytes: int) -> None:
    """Let Django's multipart parser read a body that has no ``Content-Length``.

    Django reads such a body as empty (``CONTENT_LENGTH`` 0). A de-chunked WSGI input
    (``wsgi.input_terminated``) is read through :class:`CappedStream`; under ASGI the body
    is already in a seekable temporary file, whose size stands in for the length.
    """
    meta = request.META
    if meta.get("CONTENT_LENGTH") or "chunked" not in meta.get("HTTP_TRANSFER_ENCODING", ""):
        return
    if meta.get("wsgi.input_terminated") and "wsgi.input" in meta:
        # ``_stream`` is what Django's request reads its body from (``HttpRequest.read``).
        request._stream = CappedStream(meta["wsgi.input"], cap=cap, max_bytes=max_bytes)  # type: ignore[assignment]  # reads like the stream it wraps
        meta["CONTENT_LENGTH"] = str(cap)  # an upper bound: the parser reads to the end
        return
    stream = getattr(request, "_stream", None)
    if stream is not None and hasattr(stream, "seek") and hasattr(stream, "tell"):
        stream.seek(0, 2)
        meta["CONTENT_LENGTH"] = str(stream.tell())
        stream.seek(0)


def bounded_upload(run: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an operation's ``run`` so its request's upload is bounded (``decorate_view``)."""

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        max_bytes = conf.MAX_IMAGE_BYTES
        request.upload_handlers.insert(0, UploadLimit(request, max_bytes=max_bytes))
        _read_chunked(request, max_bytes + MULTIPART_ALLOWANCE, max_bytes)
        return run(request, *args, **kwargs)

    return wrapper
