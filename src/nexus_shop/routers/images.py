"""Image endpoints: upload, change and delete a product's pictures.

Parse, make one call, return; errors are mapped in ``nexus_shop.errors``. The upload's
body is bounded before ninja reads it (:mod:`nexus_shop.routers.uploads`).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Form, Router, Status
from ninja.decorators import decorate_view
from ninja.files import UploadedFile
from ninja.params.functions import File as FilePart
from ninja.params.functions import Header

from nexus_shop.conf import described
from nexus_shop.http_cache.headers import parse_if_match
from nexus_shop.routers.uploads import bounded_upload
from nexus_shop.schemas.catalog import ImageOut
from nexus_shop.schemas.common import ErrorOut
from nexus_shop.schemas.images import ImageForm, ImagePatch
from nexus_shop.security import require_perm, write_auth
from nexus_shop.services import images as services

router = Router(tags=["images"])

IF_MATCH = Header(None, alias="If-Match", description="Entity tag(s) from an earlier ETag.")
# Every image write: 401/403, an unknown product or image (404), a product's If-Match (412),
# a domain rule (422).
ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 412: ErrorOut, 422: ErrorOut}
# A body that cannot be parsed (malformed multipart or JSON): 400.
BODY_ERRORS: dict[int, Any] = {400: ErrorOut, **ERRORS}
UPLOAD_ERRORS: dict[int, Any] = {**BODY_ERRORS, 413: ErrorOut, 415: ErrorOut}

IMAGES_DOC = (
    " Images are part of their product: they have no GET of their own (the product detail "
    "lists them), and `If-Match` takes the **product's** `ETag`: 412 if the product changed "
    "since, and nothing is written. Needs `nexus_shop.change_product`."
)


@router.post(
    "/products/{product_id}/images",
    auth=write_auth,
    response={201: ImageOut, **UPLOAD_ERRORS},
    operation_id="image_create",
    url_name="image-create",
    summary="Upload a picture of a product",
    description="A `multipart/form-data` body: the picture in the `file` part, and optional "
    "`alt`, `position` and `variant_ids` (repeated once per id) fields. JPEG, PNG, WebP and "
    "GIF (its first frame) are accepted, told from the bytes: anything else (SVG, HTML, "
    "an image that also holds markup, a part whose `Content-Type` belies its bytes) is a "
    f"415. Over {described('MAX_IMAGE_BYTES')} bytes is a 413, refused from "
    "`Content-Length` before the body is read (a chunked body is cut off at the limit). "
    f"Over {described('MAX_IMAGE_PIXELS')} pixels, or a file that will not decode or is "
    "truncated, is a 422; so are more than 50 images per product and `variant_ids` that are "
    "not live variants of this product. The EXIF orientation is applied and every piece of "
    "metadata (EXIF, GPS, XMP, comments) is stripped; WebP thumbnails are made at "
    f"{described('IMAGE_SIZES')} (the longest side, never upscaled). The answer is the new "
    "image." + IMAGES_DOC,
)
@decorate_view(bounded_upload)
def image_create(
    request: HttpRequest,
    product_id: int,
    form: Form[ImageForm],
    file: UploadedFile = FilePart(..., description="The picture: JPEG, PNG, WebP or GIF."),  # noqa: B008  (ninja's way to describe a part)
    if_match: str | None = IF_MATCH,
) -> Any:
    require_perm(request, "nexus_shop.change_product")
    ImageForm.refuse_unknown_parts(request.POST.keys(), request.FILES.keys())
    image = services.image_add(
        product_id=product_id,
        data=file,
        content_type=file.content_type,
        if_match=parse_if_match(if_match),
        **form.model_dump(),
    )
    return Status(201, image)


@router.patch(
    "/products/{product_id}/images/{image_id}",
    auth=write_auth,
    response={200: ImageOut, **BODY_ERRORS},
    operation_id="image_update",
    url_name="image-update",
    summary="Change a picture's alt text, position or variants",
    description="A JSON body with any of `alt`, `position` (the other images close up "
    "around it) and `variant_ids`. The answer is the image." + IMAGES_DOC,
)
def image_update(
    request: HttpRequest,
    product_id: int,
    image_id: int,
    payload: ImagePatch,
    if_match: str | None = IF_MATCH,
) -> Any:
    require_perm(request, "nexus_shop.change_product")
    return services.image_update(
        product_id=product_id,
        image_id=image_id,
        if_match=parse_if_match(if_match),
        **payload.model_dump(exclude_unset=True),
    )


@router.delete(
    "/products/{product_id}/images/{image_id}",
    auth=write_auth,
    response={204: None, **ERRORS},
    operation_id="image_delete",
    url_name="image-delete",
    summary="Delete a picture",
    description="The row is deleted and the images after it move up one step. Its files "
    "are removed once that commits, unless another image (of any product) still uses them: "
    "names are content hashes, so identical pictures share files." + IMAGES_DOC,
)
def image_delete(
    request: HttpRequest, product_id: int, image_id: int, if_match: str | None = IF_MATCH
) -> Any:
    require_perm(request, "nexus_shop.change_product")
    services.image_delete(
        product_id=product_id, image_id=image_id, if_match=parse_if_match(if_match)
    )
    return Status(204, None)
