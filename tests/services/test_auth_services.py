"""services.auth, called directly: no HTTP, real database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone
from ninja_jwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from nexus_shop.exceptions import AuthenticationFailed, Conflict, FeatureDisabled, ValidationFailed
from nexus_shop.services import auth as services
from tests.factories import PASSWORD, UserFactory, refresh_token_for
from tests.support.race import race_n

User = get_user_model()
STRONG = "plum-Lantern-42-quietly"


@pytest.mark.django_db
def test_user_register_normalises_the_email_domain_and_hashes_the_password() -> None:
    # The default User has an email; services type the user as AbstractBaseUser.
    user: Any = services.user_register(username="ada", email="Ada@EXAMPLE.Com", password=STRONG)

    assert user.email == "Ada@example.com"
    assert user.password != STRONG
    assert user.check_password(STRONG)


@pytest.mark.django_db
def test_user_register_checks_the_password_against_the_user_attributes() -> None:
    with pytest.raises(ValidationFailed) as error:
        services.user_register(username="margaret", email="m@example.com", password="margaret1")

    assert "too similar to the username" in error.value.message
    assert error.value.extra == {"field": "password"}


@pytest.mark.django_db
def test_user_register_email_conflicts_ignore_case() -> None:
    services.user_register(username="one", email="Same@Example.com", password=STRONG)

    with pytest.raises(Conflict) as error:
        services.user_register(username="two", email="same@example.COM", password=STRONG)
    assert error.value.extra == {"field": "email"}


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_REGISTRATION_ENABLED=False)
def test_user_register_is_refused_when_switched_off() -> None:
    with pytest.raises(FeatureDisabled):
        services.user_register(username="ada", email="ada@example.com", password=STRONG)


def _run_concurrently(count: int, target: Any) -> list[Any]:
    return race_n(count, target)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_with_one_email_make_one_user() -> None:
    """No unique constraint on email: the advisory lock is what serialises check-then-create."""
    outcomes = _run_concurrently(
        8,
        lambda n: services.user_register(
            username=f"racer{n}",
            email="RACER@example.COM" if n % 2 else "racer@example.com",
            password=STRONG,
        ),
    )

    created = [o for o in outcomes if isinstance(o, User)]
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(created) == 1, outcomes
    assert len(conflicts) == 7, outcomes
    assert User.objects.filter(email__iexact="racer@example.com").count() == 1


@pytest.mark.django_db
def test_token_obtain_issues_a_recorded_pair() -> None:
    user = UserFactory()

    pair = services.token_obtain(username=user.username, password=PASSWORD)

    assert OutstandingToken.objects.get(user=user).token == pair.refresh
    assert pair.access != pair.refresh


@pytest.mark.django_db
def test_token_obtain_updates_last_login_only_when_asked() -> None:
    user = UserFactory()
    services.token_obtain(username=user.username, password=PASSWORD)
    user.refresh_from_db()
    assert user.last_login is None

    with override_settings(NINJA_JWT={**settings.NINJA_JWT, "UPDATE_LAST_LOGIN": True}):
        services.token_obtain(username=user.username, password=PASSWORD)
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.django_db
@pytest.mark.parametrize("active", [True, False])
def test_token_obtain_has_one_message_for_every_failure(active: bool) -> None:
    user = UserFactory(is_active=active)
    password = "wrong" if active else PASSWORD

    with pytest.raises(AuthenticationFailed) as error:
        services.token_obtain(username=user.username, password=password)
    assert error.value.message == services.BAD_CREDENTIALS


@pytest.mark.django_db
def test_token_refresh_uses_the_token_up_and_records_the_new_one() -> None:
    user = UserFactory()
    first = services.token_obtain(username=user.username, password=PASSWORD)

    second = services.token_refresh(refresh=first.refresh)

    assert OutstandingToken.objects.filter(user=user).count() == 2
    assert OutstandingToken.objects.get(token=second.refresh).user == user
    assert BlacklistedToken.objects.get().token.token == first.refresh
    with pytest.raises(AuthenticationFailed):
        services.token_refresh(refresh=first.refresh)


@pytest.mark.django_db
def test_user_tokens_blacklist_covers_live_unused_tokens_only() -> None:
    user, other = UserFactory(), UserFactory()
    live = [refresh_token_for(user) for _ in range(3)]
    live[0].blacklist()  # already used
    expired = OutstandingToken.objects.create(
        user=user, jti="old", token="old", expires_at=timezone.now() - timedelta(days=1)
    )
    refresh_token_for(other)

    assert services.user_tokens_blacklist(user=user) == 2
    assert services.user_tokens_blacklist(user=user) == 0  # idempotent
    assert set(BlacklistedToken.objects.values_list("token__jti", flat=True)) == {
        t["jti"] for t in live
    }
    assert not BlacklistedToken.objects.filter(token=expired).exists()


@pytest.mark.django_db
def test_password_change_sets_the_password_and_revokes_the_users_tokens() -> None:
    user, other = UserFactory(), UserFactory()
    mine = services.token_obtain(username=user.username, password=PASSWORD)
    theirs = services.token_obtain(username=other.username, password=PASSWORD)

    services.password_change(user=user, old_password=PASSWORD, new_password=STRONG)

    user.refresh_from_db()
    assert user.check_password(STRONG)
    with pytest.raises(AuthenticationFailed):
        services.token_refresh(refresh=mine.refresh)
    assert services.token_refresh(refresh=theirs.refresh).refresh


@pytest.mark.django_db
def test_a_failed_password_change_changes_nothing() -> None:
    user = UserFactory()
    pair = services.token_obtain(username=user.username, password=PASSWORD)

    with pytest.raises(ValidationFailed):
        services.password_change(user=user, old_password=PASSWORD, new_password="short")

    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert BlacklistedToken.objects.count() == 0
    assert services.token_refresh(refresh=pair.refresh).refresh


@pytest.mark.django_db
def test_token_verify() -> None:
    user = UserFactory()
    pair = services.token_obtain(username=user.username, password=PASSWORD)

    services.token_verify(token=pair.access)
    services.token_verify(token=pair.refresh)
    services.token_blacklist(refresh=pair.refresh)
    with pytest.raises(AuthenticationFailed):
        services.token_verify(token=pair.refresh)
    services.token_verify(token=pair.access)  # access tokens live out their short lifetime
