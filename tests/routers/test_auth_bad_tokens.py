"""Promise 4: a bad token gets a JSON 401, never a 500 (and never a pass).

Each token is hand-crafted with PyJWT, then presented as a Bearer token to two protected
endpoints (``GET /auth/me`` and ``POST /products``) and in the body of refresh and verify.
"""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.test import Client
from jwt.warnings import InsecureKeyLengthWarning

from tests.factories import StaffFactory, refresh_token_for

KEY = settings.NINJA_JWT["SIGNING_KEY"]
PRODUCT = {"name": "Lamp", "sku": "LAMP-1", "price": "9.99", "stock": 1}


def claims(user_id: Any, token_type: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    payload = {
        "token_type": token_type,
        "exp": now + 600,
        "iat": now,
        "jti": uuid.uuid4().hex,
        "user_id": user_id,
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def sign(payload: dict[str, Any], key: str = KEY, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():
        # The attacker's side: PyJWT warns about short HMAC keys (the test key, for HS512).
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        return jwt.encode(payload, key, algorithm=algorithm)


def _drop(name: str) -> Callable[[Any, str], str]:
    return lambda uid, kind: sign({k: v for k, v in claims(uid, kind).items() if k != name})


def unsigned(payload: dict[str, Any]) -> str:
    """An ``alg: none`` token: no key, no signature."""
    return jwt.encode(payload, None, algorithm="none")  # type: ignore[arg-type]  # "none" takes no key


# Each maker builds a bad token of the given type ("access" or "refresh") for a user id.
BAD_TOKENS: dict[str, Callable[[Any, str], str]] = {
    "alg-none": lambda uid, kind: unsigned(claims(uid, kind)),
    "alg-none-with-signature": lambda uid, kind: (
        unsigned(claims(uid, kind)) + sign(claims(uid, kind)).split(".")[2]
    ),
    "wrong-signature": lambda uid, kind: sign(
        claims(uid, kind), key="not-the-signing-key-" + "0" * 48
    ),
    "other-algorithm-same-key": lambda uid, kind: sign(claims(uid, kind), algorithm="HS512"),
    "expired": lambda uid, kind: sign(claims(uid, kind, exp=int(time.time()) - 5)),
    "no-exp": _drop("exp"),
    "no-jti": _drop("jti"),
    "no-type": _drop("token_type"),
    "no-user": _drop("user_id"),
    "unknown-user": lambda uid, kind: sign(claims(10**9, kind)),
    "sliding-type": lambda uid, kind: sign(claims(uid, "sliding")),
    "tampered-payload": lambda uid, kind: _tamper(sign(claims(uid, kind))),
    "garbage": lambda uid, kind: "garbage",
    "three-dots": lambda uid, kind: "a.b.c",
    "non-ascii": lambda uid, kind: "ünïcödé.tökén.☃",
}


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    forged = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"user_id":', b'"user_id":1,"x":')
    ).decode()
    return f"{header}.{forged}.{signature}"


@pytest.fixture
def staff(db: None) -> Any:
    return StaffFactory()


def _protected_answers(client: Client, header: str) -> list[Any]:
    return [
        client.get("/api/auth/me", headers={"Authorization": header}),
        client.post(
            "/api/products",
            PRODUCT,
            content_type="application/json",
            headers={"Authorization": header},
        ),
    ]


def _assert_401(response: Any) -> None:
    assert response.status_code == 401, (response.status_code, response.content)
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


def test_the_control_token_works(staff: Any) -> None:
    """Signed properly, the crafted claims pass: each bad case fails for its own flaw."""
    client = Client()
    access = sign(claims(staff.pk, "access"))
    me, created = _protected_answers(client, f"Bearer {access}")
    assert me.status_code == 200
    assert created.status_code == 201


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_access_tokens_get_401_on_protected_endpoints(staff: Any, case: str) -> None:
    token = BAD_TOKENS[case](staff.pk, "access")
    for response in _protected_answers(Client(), f"Bearer {token}"):
        _assert_401(response)


@pytest.mark.parametrize(
    "header", ["Bearer ", "Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", "Token abc", "bearer"]
)
def test_empty_or_foreign_authorization_headers_get_401(staff: Any, header: str) -> None:
    for response in _protected_answers(Client(), header):
        _assert_401(response)


def test_a_refresh_token_is_not_an_access_token(staff: Any) -> None:

    refresh = str(refresh_token_for(staff))  # real, live, outstanding
    for response in _protected_answers(Client(), f"Bearer {refresh}"):
        _assert_401(response)


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_refresh_tokens_get_401_on_refresh_and_verify(staff: Any, case: str) -> None:
    token = BAD_TOKENS[case](staff.pk, "refresh")
    client = Client()
    for path, body in [
        ("/api/auth/token/refresh", {"refresh": token}),
        ("/api/auth/token/verify", {"token": token}),
        ("/api/auth/logout", {"refresh": token}),
    ]:
        _assert_401(client.post(path, body, content_type="application/json"))


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_access_tokens_get_401_on_verify(staff: Any, case: str) -> None:
    token = BAD_TOKENS[case](staff.pk, "access")
    _assert_401(
        Client().post("/api/auth/token/verify", {"token": token}, content_type="application/json")
    )


def test_an_access_token_is_not_a_refresh_token(staff: Any) -> None:

    access = str(refresh_token_for(staff).access_token)
    client = Client()
    _assert_401(
        client.post("/api/auth/token/refresh", {"refresh": access}, content_type="application/json")
    )
    _assert_401(
        client.post("/api/auth/logout", {"refresh": access}, content_type="application/json")
    )


@pytest.mark.parametrize("user_id", ["abc", [1], {"id": 1}, 1.5, True])
def test_a_well_signed_token_with_a_malformed_user_id_gets_401_on_refresh_and_verify(
    staff: Any, user_id: Any
) -> None:
    client = Client()
    refresh = sign(claims(user_id, "refresh"))
    access = sign(claims(user_id, "access"))
    _assert_401(
        client.post(
            "/api/auth/token/refresh", {"refresh": refresh}, content_type="application/json"
        )
    )
    _assert_401(
        client.post("/api/auth/token/verify", {"token": access}, content_type="application/json")
    )


@pytest.mark.parametrize(
    "body", [{"refresh": ""}, {"refresh": None}, {"refresh": 5}, {}, {"refresh": "x" * 5000}]
)
def test_malformed_refresh_bodies_get_422(db: None, body: dict[str, Any]) -> None:
    response = Client().post("/api/auth/token/refresh", body, content_type="application/json")
    assert response.status_code == 422


@pytest.mark.parametrize("user_id", ["abc", [1], {"id": 1}, "1; DROP TABLE"])
def test_a_well_signed_access_token_with_a_malformed_user_id_gets_401(
    staff: Any, user_id: Any
) -> None:
    access = sign(claims(user_id, "access"))
    for response in _protected_answers(Client(), f"Bearer {access}"):
        _assert_401(response)
