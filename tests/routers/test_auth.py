"""The auth endpoints, end to end: register, token, refresh, verify, logout, me, password."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from tests.factories import PASSWORD, StaffFactory, UserFactory

User = get_user_model()

STRONG = "plum-Lantern-42-quietly"


def post(client: Client, path: str, body: dict[str, Any], **headers: str) -> Any:
    return client.post(f"/api/auth{path}", body, content_type="application/json", headers=headers)


def login(client: Client, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = post(client, "/token", {"username": username, "password": password})
    assert response.status_code == 200, response.content
    pair: dict[str, str] = response.json()
    return pair


def auth(access: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access}"}


# Register -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_register_creates_an_active_unprivileged_user(anon: Client) -> None:
    response = post(
        anon, "/register", {"username": "ada", "email": "ada@EXAMPLE.com", "password": STRONG}
    )

    assert response.status_code == 201
    body = response.json()
    assert body == {"id": body["id"], "username": "ada", "email": "ada@example.com"}
    user = User.objects.get(pk=body["id"])
    assert user.is_active
    assert not user.is_staff
    assert not user.is_superuser
    assert user.check_password(STRONG)
    assert login(anon, "ada", STRONG)["access"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("48213957301", "entirely numeric"),
        ("ada-lovelace-x", "too similar"),
    ],
)
def test_register_refuses_what_password_validators_refuse(
    anon: Client, password: str, message: str
) -> None:
    response = post(
        anon,
        "/register",
        {"username": "ada-lovelace", "email": "ada@example.com", "password": password},
    )

    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert response.json()["field"] == "password"
    assert not User.objects.filter(username="ada-lovelace").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "email", "field"),
    [
        ("taken", "new@example.com", "username"),
        ("TAKEN", "new@example.com", "username"),
        ("fresh", "taken@example.com", "email"),
        ("fresh", "Taken@Example.COM", "email"),
        # NFKC, as AbstractUser.clean(): fullwidth letters are the same username.
        ("\uff54\uff41\uff4b\uff45\uff4e", "new@example.com", "username"),
        ("\uff34\uff21\uff2b\uff25\uff2e", "new@example.com", "username"),
        ("fresh", "taken@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com", "email"),
    ],
)
def test_register_conflicts_on_a_taken_username_or_email_case_insensitively(
    anon: Client, username: str, email: str, field: str
) -> None:
    UserFactory(username="taken", email="taken@example.com")

    response = post(anon, "/register", {"username": username, "email": email, "password": STRONG})

    assert response.status_code == 409
    assert response.json()["field"] == field
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_usernames_are_stored_nfkc_normalised_and_log_in_either_way(anon: Client) -> None:
    response = post(
        anon,
        "/register",
        {"username": "\uff52\uff4f\uff4f\uff54", "email": "r@example.com", "password": STRONG},
    )
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "root"
    assert User.objects.get().get_username() == "root"
    for spelling in ("root", "\uff52\uff4f\uff4f\uff54"):
        login = post(anon, "/token", {"username": spelling, "password": STRONG})
        assert login.status_code == 200, (spelling, login.content)
    taken = post(
        anon, "/register", {"username": "root", "email": "x@example.com", "password": STRONG}
    )
    assert taken.status_code == 409


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"username": "ada", "email": "ada@example.com"},
        {"username": "ada", "email": "not-an-email", "password": STRONG},
        {"username": "has space", "email": "ada@example.com", "password": STRONG},
        {"username": "ada", "email": "ada@example.com", "password": STRONG, "is_staff": True},
        {"username": "x" * 151, "email": "ada@example.com", "password": STRONG},
    ],
    ids=["missing", "bad-email", "bad-username", "extra-field", "too-long"],
)
def test_register_refuses_malformed_input(anon: Client, body: dict[str, Any]) -> None:
    response = post(anon, "/register", body)

    assert response.status_code == 422
    assert User.objects.count() == 0


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_REGISTRATION_ENABLED=False)
def test_register_answers_404_when_switched_off(anon: Client) -> None:
    response = post(
        anon, "/register", {"username": "ada", "email": "ada@example.com", "password": STRONG}
    )

    assert response.status_code == 404
    assert response.json() == {"detail": "Registration is closed.", "errors": []}
    assert User.objects.count() == 0


# Token ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_answers_a_pair_for_valid_credentials(anon: Client, customer: Any) -> None:
    pair = login(anon, customer.username)

    assert set(pair) == {"access", "refresh"}
    outstanding = OutstandingToken.objects.get()
    assert outstanding.user == customer
    assert outstanding.token == pair["refresh"]


@pytest.mark.django_db
def test_token_gives_one_generic_401_so_accounts_cannot_be_enumerated(anon: Client) -> None:
    UserFactory(username="alive")
    UserFactory(username="asleep", is_active=False)
    answers = [
        post(anon, "/token", {"username": "alive", "password": "wrong-password"}),
        post(anon, "/token", {"username": "nobody", "password": PASSWORD}),
        post(anon, "/token", {"username": "asleep", "password": PASSWORD}),
    ]

    assert [a.status_code for a in answers] == [401, 401, 401]
    assert len({a.content for a in answers}) == 1
    assert answers[0].json() == {
        "detail": "No active account found with the given credentials.",
        "errors": [],
    }
    assert answers[0]["WWW-Authenticate"].startswith("Bearer")
    assert OutstandingToken.objects.count() == 0


@pytest.mark.django_db
def test_token_refuses_extra_fields(anon: Client, customer: Any) -> None:
    response = post(anon, "/token", {"username": customer.username, "password": PASSWORD, "x": 1})

    assert response.status_code == 422


# Refresh --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_refresh_rotates_and_the_old_refresh_token_is_used_up(anon: Client, customer: Any) -> None:
    first = login(anon, customer.username)

    response = post(anon, "/token/refresh", {"refresh": first["refresh"]})

    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    assert anon.get("/api/auth/me", headers=auth(second["access"])).status_code == 200
    # The rotated token is recorded with its user, the used one is blacklisted.
    assert OutstandingToken.objects.get(token=second["refresh"]).user == customer
    assert BlacklistedToken.objects.get().token.token == first["refresh"]
    # Reuse of the old one: 401, and it does not invalidate the new one.
    reuse = post(anon, "/token/refresh", {"refresh": first["refresh"]})
    assert reuse.status_code == 401
    assert post(anon, "/token/refresh", {"refresh": second["refresh"]}).status_code == 200


@pytest.mark.django_db
def test_refresh_refuses_a_deactivated_user(anon: Client, customer: Any) -> None:
    pair = login(anon, customer.username)
    customer.is_active = False
    customer.save()

    assert post(anon, "/token/refresh", {"refresh": pair["refresh"]}).status_code == 401
    assert anon.get("/api/auth/me", headers=auth(pair["access"])).status_code == 401


@pytest.mark.django_db
def test_refresh_refuses_a_deleted_user(anon: Client, customer: Any) -> None:
    pair = login(anon, customer.username)
    customer.delete()

    assert post(anon, "/token/refresh", {"refresh": pair["refresh"]}).status_code == 401
    assert anon.get("/api/auth/me", headers=auth(pair["access"])).status_code == 401


@pytest.mark.django_db
def test_deactivated_staff_loses_write_access_on_the_next_request(anon: Client) -> None:
    staff = StaffFactory()
    pair = login(anon, staff.username)
    body = {"name": "Lamp", "sku": "LAMP-1", "price": "9.99", "stock": 1}
    created = anon.post(
        "/api/products", body, content_type="application/json", headers=auth(pair["access"])
    )
    assert created.status_code == 201
    staff.is_active = False
    staff.save()

    response = anon.post(
        "/api/products",
        {**body, "sku": "LAMP-2"},
        content_type="application/json",
        headers=auth(pair["access"]),
    )

    assert response.status_code == 401


@pytest.mark.django_db
def test_refresh_refuses_a_token_nexus_shop_never_issued(anon: Client, customer: Any) -> None:
    """A validly signed refresh token without an OutstandingToken row cannot be revoked: refused."""
    from nexus_shop.tokens import RefreshToken

    token = RefreshToken()
    token["user_id"] = customer.pk

    assert post(anon, "/token/refresh", {"refresh": str(token)}).status_code == 401
    assert post(anon, "/logout", {"refresh": str(token)}).status_code == 401
    assert post(anon, "/token/verify", {"token": str(token)}).status_code == 401


# Verify ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_verify_accepts_live_tokens_and_refuses_used_ones(anon: Client, customer: Any) -> None:
    pair = login(anon, customer.username)

    for token in pair.values():
        response = post(anon, "/token/verify", {"token": token})
        assert response.status_code == 200
        assert response.json() == {}

    post(anon, "/logout", {"refresh": pair["refresh"]})
    assert post(anon, "/token/verify", {"token": pair["refresh"]}).status_code == 401
    customer.is_active = False
    customer.save()
    assert post(anon, "/token/verify", {"token": pair["access"]}).status_code == 401


# Logout ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_logout_blacklists_the_refresh_token(anon: Client, customer: Any) -> None:
    pair = login(anon, customer.username)

    response = post(anon, "/logout", {"refresh": pair["refresh"]})

    assert response.status_code == 204
    assert response.content == b""
    assert BlacklistedToken.objects.get().token.token == pair["refresh"]
    assert post(anon, "/token/refresh", {"refresh": pair["refresh"]}).status_code == 401
    assert post(anon, "/logout", {"refresh": pair["refresh"]}).status_code == 401


@pytest.mark.django_db
def test_logout_refuses_an_access_token(anon: Client, customer: Any) -> None:
    pair = login(anon, customer.username)

    assert post(anon, "/logout", {"refresh": pair["access"]}).status_code == 401
    assert BlacklistedToken.objects.count() == 0


# Me -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_me_shows_the_user_and_their_permissions(anon: Client) -> None:
    staff = StaffFactory(perms=["add_product", "view_product"])
    pair = login(anon, staff.username)

    response = anon.get("/api/auth/me", headers=auth(pair["access"]))

    assert response.status_code == 200
    assert response.json() == {
        "id": staff.pk,
        "username": staff.username,
        "email": staff.email,
        "is_staff": True,
        "permissions": ["nexus_shop.add_product", "nexus_shop.view_product"],
    }


@pytest.mark.django_db
def test_me_needs_a_token(anon: Client) -> None:
    response = anon.get("/api/auth/me")

    assert response.status_code == 401
    assert "detail" in response.json()


# Password -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_password_change_revokes_every_refresh_token_of_the_user(
    anon: Client, customer: Any
) -> None:
    other = UserFactory()
    sessions = [login(anon, customer.username) for _ in range(3)]
    rotated = post(anon, "/token/refresh", {"refresh": sessions[2]["refresh"]}).json()
    bystander = login(anon, other.username)

    response = post(
        anon,
        "/password",
        {"old_password": PASSWORD, "new_password": STRONG},
        **auth(sessions[0]["access"]),
    )

    assert response.status_code == 204
    for refresh in [s["refresh"] for s in sessions[:2]] + [rotated["refresh"]]:
        assert post(anon, "/token/refresh", {"refresh": refresh}).status_code == 401
    assert post(anon, "/token/refresh", {"refresh": bystander["refresh"]}).status_code == 200
    assert (
        post(anon, "/token", {"username": customer.username, "password": PASSWORD}).status_code
        == 401
    )
    assert login(anon, customer.username, STRONG)["refresh"]


@pytest.mark.django_db
def test_password_change_needs_the_old_password(anon: Client, customer: Any) -> None:
    pair = login(anon, customer.username)

    response = post(
        anon,
        "/password",
        {"old_password": "not-it", "new_password": STRONG},
        **auth(pair["access"]),
    )

    assert response.status_code == 422
    assert response.json()["field"] == "old_password"
    customer.refresh_from_db()
    assert customer.check_password(PASSWORD)
    assert post(anon, "/token/refresh", {"refresh": pair["refresh"]}).status_code == 200


@pytest.mark.django_db
def test_password_change_runs_the_password_validators(anon: Client, customer: Any) -> None:
    pair = login(anon, customer.username)

    response = post(
        anon, "/password", {"old_password": PASSWORD, "new_password": "123"}, **auth(pair["access"])
    )

    assert response.status_code == 422
    assert response.json()["field"] == "new_password"
    assert "too short" in response.json()["detail"]


@pytest.mark.django_db
def test_password_change_needs_a_token(anon: Client) -> None:
    assert (
        post(anon, "/password", {"old_password": PASSWORD, "new_password": STRONG}).status_code
        == 401
    )


# The whole flow -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_register_login_call_refresh_logout(anon: Client) -> None:
    assert (
        post(
            anon, "/register", {"username": "eve", "email": "eve@example.com", "password": STRONG}
        ).status_code
        == 201
    )
    pair = login(anon, "eve", STRONG)
    assert anon.get("/api/auth/me", headers=auth(pair["access"])).json()["username"] == "eve"
    product = {"name": "Lamp", "sku": "LAMP-1", "price": "9.99", "stock": 1}
    denied = anon.post(
        "/api/products", product, content_type="application/json", headers=auth(pair["access"])
    )
    assert denied.status_code == 403
    pair = post(anon, "/token/refresh", {"refresh": pair["refresh"]}).json()
    assert post(anon, "/logout", {"refresh": pair["refresh"]}).status_code == 204
    assert post(anon, "/token/refresh", {"refresh": pair["refresh"]}).status_code == 401
