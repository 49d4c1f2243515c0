"""A correctly signed token whose claims have the wrong type or range is a 401, never a 500.

ninja-jwt checks the signature and then trusts the claims' types: an ``exp`` of ``1e20``
overflowed its datetime conversion (a 500), and a ``user_id`` of ``true`` or ``1.0`` was
looked up as user 1 on protected endpoints.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.factories import StaffFactory
from tests.routers.test_auth_bad_tokens import claims, sign

pytestmark = pytest.mark.django_db

# Each case: the claims to override in an otherwise valid token.
BAD_CLAIMS: dict[str, dict[str, Any]] = {
    "exp-1e20": {"exp": 1e20},
    "exp-huge-int": {"exp": 10**30},
    "exp-negative-huge": {"exp": -(10**30)},
    "exp-string": {"exp": "1e20"},
    "exp-numeric-string": {"exp": "99999999999"},
    "exp-true": {"exp": True},
    "exp-list": {"exp": [1]},
    "exp-nan-like-float": {"exp": 1.5e308},
    "iat-1e20": {"iat": 1e20},
    "iat-string": {"iat": "now"},
    "nbf-1e20": {"nbf": 1e20},
    "user-id-true": {"user_id": True},
    "user-id-float": {"user_id": 1.0},
    "user-id-null": {"user_id": None, "__keep_null__": True},
    "jti-int": {"jti": 5},
    "jti-list": {"jti": ["a"]},
    "token-type-list": {"token_type": ["access"]},
}


def _token(staff: Any, kind: str, case: str) -> str:
    overrides = dict(BAD_CLAIMS[case])
    keep_null = overrides.pop("__keep_null__", False)
    payload = claims(staff.pk, kind)
    payload.update(overrides)
    if not keep_null:
        payload = {k: v for k, v in payload.items() if v is not None}
    return sign(payload)


@pytest.fixture
def staff() -> Any:
    # user_id true/1.0 must point at a real user for the test to mean anything.
    return StaffFactory(id=1)


def _assert_401(response: Any) -> None:
    assert response.status_code == 401, (response.status_code, response.content)
    body = response.json()
    assert isinstance(body["detail"], str)
    assert body["errors"] == []


@pytest.mark.parametrize("case", sorted(BAD_CLAIMS))
def test_bad_claims_in_an_access_token_are_401_everywhere(staff: Any, case: str) -> None:
    token = _token(staff, "access", case)
    client = Client(headers={"Authorization": f"Bearer {token}"})
    _assert_401(client.get("/api/auth/me"))
    _assert_401(client.get("/api/products"))
    _assert_401(client.post("/api/categories", {"name": "Lamps"}, content_type="application/json"))
    _assert_401(
        Client().post("/api/auth/token/verify", {"token": token}, content_type="application/json")
    )


@pytest.mark.parametrize("case", sorted(BAD_CLAIMS))
def test_bad_claims_in_a_refresh_token_are_401(staff: Any, case: str) -> None:
    token = _token(staff, "refresh", case)
    for path, body in [
        ("/api/auth/token/refresh", {"refresh": token}),
        ("/api/auth/token/verify", {"token": token}),
        ("/api/auth/logout", {"refresh": token}),
    ]:
        _assert_401(Client().post(path, body, content_type="application/json"))


def test_the_same_token_with_sane_claims_works(staff: Any) -> None:
    client = Client(headers={"Authorization": f"Bearer {sign(claims(staff.pk, 'access'))}"})
    assert client.get("/api/auth/me").json()["id"] == 1
