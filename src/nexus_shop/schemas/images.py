"""The bodies of the image writes: the multipart form of an upload, and a PATCH.

Their answer is :class:`nexus_shop.schemas.catalog.ImageOut`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints

from nexus_shop.exceptions import ValidationFailed
from nexus_shop.models.catalog import MAX_VARIANTS, ProductImage
from nexus_shop.schemas.catalog import (
    _LINE_CONTROL,
    Id,
    PatchSchema,
    Position,
    _not_null,
    _omit_default,
    _refuse,
)
from nexus_shop.schemas.common import InputSchema

__all__ = ["Alt", "ImageForm", "ImagePatch"]

Alt = Annotated[
    str,
    StringConstraints(max_length=ProductImage._meta.get_field("alt").max_length),
    _refuse(_LINE_CONTROL),
    Field(description="Text that describes the picture (for screen readers and search)."),
]
VariantIds = Annotated[
    list[Id],
    Field(
        max_length=MAX_VARIANTS,
        description="Ids of live variants of this product that the picture shows (for "
        "example the red ones); empty when it shows the product as a whole.",
    ),
]


class ImageForm(InputSchema):
    """The form fields of ``POST /products/{id}/images`` beside the ``file`` part.

    Form fields arrive as text, so the numbers here are parsed from it (``"3"`` is 3);
    ``variant_ids`` is the field repeated, once per id.
    """

    alt: Alt = ""
    position: Annotated[int, Field(ge=0, le=2_147_483_647)] | None = Field(
        None,
        description="Where the picture goes, from 0; the images from there on move one "
        "step down. Left out (or past the end): last.",
    )
    variant_ids: Annotated[
        list[Annotated[int, Field(ge=1, le=2**63 - 1)]], Field(max_length=MAX_VARIANTS)
    ] = Field(
        default_factory=list,
        description="Ids of live variants of this product that the picture shows, the "
        "field repeated once per id; none when it shows the product as a whole.",
    )

    @classmethod
    def refuse_unknown_parts(cls, fields: Iterable[str], files: Iterable[str]) -> None:
        """A form part this operation does not take is a 422, as an unknown JSON key is.

        (ninja reads only the declared fields of a form and would drop the rest silently.)
        """
        unknown = sorted((set(fields) - set(cls.model_fields)) | (set(files) - {"file"}))
        if unknown:
            raise ValidationFailed(
                f"Unknown form field {unknown[0]!r}: an upload takes file, "
                + ", ".join(cls.model_fields)
                + ".",
                extra={"field": unknown[0]},
            )


class ImagePatch(PatchSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"alt": "The mug, from above"}]})

    not_null = frozenset({"alt", "position", "variant_ids"})

    alt: Alt = _not_null()
    position: Position = Field(
        None,  # type: ignore[assignment]  # left out is allowed, null is not (not_null)
        description="The new position, from 0 (past the end: last); the other images close "
        "up around it.",
        json_schema_extra=_omit_default,
    )
    variant_ids: VariantIds = _not_null()
