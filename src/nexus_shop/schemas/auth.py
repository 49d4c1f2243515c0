"""Request and response schemas of the auth API."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import AfterValidator, BeforeValidator, ConfigDict, StringConstraints

from nexus_shop.schemas.common import InputSchema


def _nfkc(value: Any) -> Any:
    # NFKC, as Django's normalize_username and UsernameField: fullwidth "root" is "root".
    return unicodedata.normalize("NFKC", value) if isinstance(value, str) else value


# Django's default User: username up to 150 characters of letters, digits and @.+-_,
# NFKC-normalised first (so the throttle and the uniqueness check see one spelling).
Username = Annotated[
    str,
    BeforeValidator(_nfkc),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=150, pattern=r"^[\w.@+-]+$"),
]
# Length caps keep hashing and validation cheap; Django's validators judge the content.
Password = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Token = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


def _email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("Enter a valid email address.") from None
    return value


# Django's own email validator, so the API accepts exactly what the admin accepts.
Email = Annotated[
    str,
    BeforeValidator(_nfkc),
    StringConstraints(strip_whitespace=True, min_length=3, max_length=254),
    AfterValidator(_email),
    Field(json_schema_extra={"format": "email"}),
]


class RegisterIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "alice",
                    "email": "alice@example.com",
                    "password": "correct-horse-battery-staple",
                }
            ]
        }
    )

    username: Username
    email: Email
    password: Password


class UserOut(Schema):
    id: int
    username: str
    email: str = Field(..., json_schema_extra={"format": "email"})  # validated at registration


class TokenObtainIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"username": "demo", "password": "the password demo_setup printed"}]
        }
    )

    username: Annotated[
        str, BeforeValidator(_nfkc), StringConstraints(min_length=1, max_length=150)
    ]
    password: Password


class TokenPairOut(Schema):
    access: str
    refresh: str


class RefreshIn(InputSchema):
    refresh: Token


class VerifyIn(InputSchema):
    token: Token


class VerifyOut(Schema):
    """Empty on purpose: the status code is the answer."""


class MeOut(Schema):
    id: int
    username: str
    email: str
    is_staff: bool
    permissions: list[str]


class PasswordChangeIn(InputSchema):
    old_password: Password
    new_password: Password
