"""An ASGI wrapper that cuts an image upload off at its size limit, before Django reads it.

In the host's ``asgi.py``, around Django's application (and the response cache, if used)::

    from nexus_shop.asgi import UploadLimitASGI
    application = UploadLimitASGI(ResponseCacheASGI(get_asgi_application()))

Why it exists: under WSGI, :mod:`nexus_shop.routers.uploads` bounds the upload as Django's
multipart parser reads it. Under ASGI that is too late: Django's ``ASGIHandler`` reads the
*whole* body into a spooled temporary file (memory, then disk) before any view or upload
handler runs, so a chunked body (no ``Content-Length``) of any size would be taken whole.
No Django setting bounds it (``DATA_UPLOAD_MAX_MEMORY_SIZE`` applies to form fields, later).

So for the image upload, ``POST /api/products/{id}/images``, this wrapper applies the
bound :mod:`~nexus_shop.routers.uploads` uses (``NEXUS_SHOP_MAX_IMAGE_BYTES`` plus
:data:`~nexus_shop.limits.MULTIPART_ALLOWANCE`) as the server hands the body over:

* a ``Content-Length`` over the bound is answered 413 before ``receive`` is called once;
* otherwise the ``http.request`` messages are counted as they arrive, and the moment the
  count passes the bound, the client gets the 413 and the application a
  ``http.disconnect`` (Django drops a request whose client went away, unanswered). At most
  the bound plus one message's body is ever read.

The 413 is the API's own (:func:`nexus_shop.errors.domain_error_body` of
:func:`nexus_shop.routers.uploads.too_large`), with ``Connection: close``: the rest of
the body is never read.

Every other request goes straight through: its scope, ``receive`` and ``send`` untouched,
at the cost of a method and path check. The upload's path is derived once, on the first
``POST`` whose path ends in ``/images``, from the URL resolver (``reverse`` of the
operation's URL name, ``nexus_shop:image-create``): wherever the host mounts the API, the
pattern follows. If the operation is not mounted, nothing is limited here (a warning is
logged once); the WSGI-style bound in the view still applies to what Django has read.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.urls import NoReverseMatch, get_script_prefix, reverse

from nexus_shop.conf import conf
from nexus_shop.limits import MULTIPART_ALLOWANCE

__all__ = ["UploadLimitASGI"]

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The upload operation's URL name (routers/images.py) in the API's namespace (api.py).
UPLOAD_URL_NAME = "nexus_shop:image-create"
_SUFFIX = "/images"
_SENTINEL = 918273645  # a product id no real path holds by chance where the pattern is cut


def _upload_pattern(url_name: str) -> re.Pattern[str] | None:
    """The upload's path below the script prefix, the product id as ``[0-9]+``."""
    try:
        path = reverse(url_name, kwargs={"product_id": _SENTINEL})
    except NoReverseMatch:
        logger.warning(
            "%s is not in the URLconf: UploadLimitASGI limits nothing (mount the API).",
            url_name,
        )
        return None
    relative = path.removeprefix(get_script_prefix().rstrip("/"))
    head, _, tail = relative.partition(str(_SENTINEL))
    return re.compile(f"{re.escape(head)}[0-9]+{re.escape(tail)}")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses it; counting still bounds the body
    return None


class UploadLimitASGI:
    """Refuse an image upload over the limit from its ``Content-Length``, or cut it off."""

    def __init__(self, app: ASGIApp, *, url_name: str = UPLOAD_URL_NAME) -> None:
        self.app = app
        self.url_name = url_name
        self._pattern: re.Pattern[str] | None = None
        self._resolved = False

    def _is_upload(self, scope: Scope) -> bool:
        if not self._resolved:
            self._pattern, self._resolved = _upload_pattern(self.url_name), True
        if self._pattern is None:
            return False
        path: str = scope["path"]
        root = scope.get("root_path") or ""
        if root and path.startswith(root):
            path = path[len(root) :]
        return self._pattern.fullmatch(path) is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or not scope.get("path", "").endswith(_SUFFIX)
            or not self._is_upload(scope)
        ):
            await self.app(scope, receive, send)
            return
        max_bytes = conf.MAX_IMAGE_BYTES
        bound = max_bytes + MULTIPART_ALLOWANCE
        length = _content_length(scope)
        if length is not None and length > bound:
            await _refuse(send, max_bytes)
            return
        await _Bounded(self.app, bound=bound, max_bytes=max_bytes)(scope, receive, send)


class _Bounded:
    """One request's counted ``receive`` and guarded ``send``."""

    def __init__(self, app: ASGIApp, *, bound: int, max_bytes: int) -> None:
        self.app = app
        self.bound = bound
        self.max_bytes = max_bytes
        self.consumed = 0
        self.refused = False
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted() -> Message:
            if self.refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                self.consumed += len(message.get("body", b""))
                if self.consumed > self.bound:
                    self.refused = True
                    if not self.started:
                        self.started = True
                        await _refuse(send, self.max_bytes)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if self.refused:
                return  # the client has its 413; nothing else goes out
            if message["type"] == "http.response.start":
                self.started = True
            await send(message)

        await self.app(scope, counted, guarded)


async def _refuse(send: Send, max_bytes: int) -> None:
    # Imported here: they import ninja, which reads the settings on import, and a host's
    # asgi.py imports this module before it sets DJANGO_SETTINGS_MODULE.
    from nexus_shop.errors import domain_error_body
    from nexus_shop.routers.uploads import too_large

    status, body = domain_error_body(too_large(max_bytes), method="POST")
    content = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(content)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})
