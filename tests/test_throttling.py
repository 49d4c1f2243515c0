"""Promise 6: register, token, login and refresh are throttled (per client IP, username+IP, token).

Counters live in the real cache (local memory, or Redis when REDIS_URL is set). Every test
counts under identities of its own (a fresh IP address, fresh usernames), so tests never
share a counter. Rates are per hour here: a per-minute window could end mid-test.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from typing import Any, NamedTuple

import jwt
import pytest
from django.conf import settings
from django.test import Client, RequestFactory, override_settings

from nexus_shop import throttling
from nexus_shop.exceptions import Throttled
from tests.factories import PASSWORD, UserFactory
from tests.support.redis_server import RedisServer

_ips = itertools.count(1)
RATES = {"register": "10/h", "token": "10/h", "login": "10/h", "refresh": "10/h"}


@pytest.fixture
def ip() -> str:
    """A client address no other test uses (the throttle keys include it)."""
    n = next(_ips) + uuid.uuid4().int % 50_000 * 100
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def unique_ip() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 256}.{n // 256 % 256}.{n // 65536 % 256}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def post(path: str, body: dict[str, Any], *, ip: str, **headers: str) -> Any:
    return Client(REMOTE_ADDR=ip).post(
        f"/api/auth{path}", body, content_type="application/json", headers=headers
    )


def _assert_throttled(response: Any, *, period: int = 3600) -> None:
    assert response.status_code == 429, (response.status_code, response.content)
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= period
    assert response.json()["detail"].startswith("Too many requests.")


# Units ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "expected"),
    [("10/m", (10, 60)), ("1/s", (1, 1)), ("5/hour", (5, 3600)), ("100/d", (100, 86400))],
)
def test_parse_rate(rate: str, expected: tuple[int, int]) -> None:
    assert throttling.parse_rate(rate) == expected


@pytest.mark.parametrize("rate", ["often", "10", "10/", "/m", "10/week", "-1/m", " 10/m", "10/m\n"])
def test_parse_rate_refuses_what_is_not_a_rate(rate: str) -> None:
    with pytest.raises(ValueError, match="is not a rate"):
        throttling.parse_rate(rate)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "", "192.0.2.1"),
        (0, "203.0.113.7", "192.0.2.1"),  # no trusted proxy: the header is ignored
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the client's own entry is left of ours
        (2, "6.6.6.6, 203.0.113.7, 198.51.100.2", "203.0.113.7"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
        (2, "203.0.113.7", "192.0.2.1"),  # shorter than the proxy chain: bypassed a proxy
        (1, "not-an-ip", "192.0.2.1"),
        (1, "6.6.6.6, ", "6.6.6.6"),
    ],
)
def test_client_ip(proxies: int, forwarded: str, expected: str) -> None:
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded)
    with override_settings(NEXUS_SHOP_TRUSTED_PROXY_COUNT=proxies):
        assert throttling.client_ip(request) == expected


@override_settings(NEXUS_SHOP_THROTTLE_RATES={"token": "3/h"})
def test_check_counts_every_identity_and_refuses_past_the_limit() -> None:
    ip, name = unique("ip"), unique("name")
    for _ in range(3):
        throttling.check("token", [("ip", ip), ("username", name)])
    with pytest.raises(Throttled) as first:
        throttling.check("token", [("ip", ip), ("username", unique("other"))])
    with pytest.raises(Throttled):
        throttling.check("token", [("ip", unique("ip")), ("username", name)])
    assert 1 <= first.value.retry_after <= 3600
    # Another scope has counters of its own.
    throttling.check("register", [("ip", ip), ("username", name)])


@override_settings(NEXUS_SHOP_THROTTLE_RATES={"token": None})
def test_a_rate_of_none_switches_the_scope_off() -> None:
    ip = unique("ip")
    for _ in range(50):
        throttling.check("token", [("ip", ip)])


# Token ----------------------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_THROTTLE_RATES=RATES)
def test_token_is_throttled_per_ip(ip: str) -> None:
    for _ in range(10):
        response = post("/token", {"username": unique("u"), "password": "x"}, ip=ip)
        assert response.status_code == 401

    _assert_throttled(post("/token", {"username": unique("u"), "password": "x"}, ip=ip))


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_THROTTLE_RATES={**RATES, "token": "1000/h", "login": "3/h"})
def test_failed_logins_are_throttled_per_username_and_ip(ip: str) -> None:
    user = UserFactory(username=unique("target"))
    for n in range(3):
        body = {"username": user.username, "password": f"guess-{n}"}
        assert post("/token", body, ip=ip).status_code == 401

    # The guesser's address is done with this account, even with the right password...
    _assert_throttled(post("/token", {"username": user.username, "password": PASSWORD}, ip=ip))
    _assert_throttled(post("/token", {"username": user.username.upper(), "password": "x"}, ip=ip))
    # ...but not with other accounts (the per-IP budget, `token`, covers spraying).
    other = UserFactory(username=unique("other"))
    assert (
        post("/token", {"username": other.username, "password": PASSWORD}, ip=ip).status_code == 200
    )


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_THROTTLE_RATES={**RATES, "token": "1000/h", "login": "3/h"})
def test_guesses_from_elsewhere_never_lock_the_owner_out(ip: str) -> None:
    """Issue 8 §4: per-username counting let anyone lock an account out of login."""
    user = UserFactory(username=unique("victim"))
    for n in range(30):
        body = {"username": user.username, "password": f"guess-{n}"}
        answer = post("/token", body, ip=f"198.51.100.{n % 5}")
        assert answer.status_code in {401, 429}

    # The owner, from their own address: the attacker's failures are not theirs.
    response = post("/token", {"username": user.username, "password": PASSWORD}, ip=ip)
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access", "refresh"}


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_THROTTLE_RATES={**RATES, "token": "1000/h", "login": "2/h"})
def test_only_failed_logins_spend_the_per_username_budget(ip: str) -> None:
    user = UserFactory(username=unique("regular"))
    for _ in range(5):
        body = {"username": user.username, "password": PASSWORD}
        assert post("/token", body, ip=ip).status_code == 200

    for n in range(2):
        body = {"username": user.username, "password": f"typo-{n}"}
        assert post("/token", body, ip=ip).status_code == 401
    _assert_throttled(post("/token", {"username": user.username, "password": PASSWORD}, ip=ip))


def test_refund_takes_back_what_check_counted() -> None:
    idents = [("kind", unique("refund"))]
    with override_settings(NEXUS_SHOP_THROTTLE_RATES={"login": "2/h"}):
        throttling.check("login", idents)
        throttling.refund("login", idents)
        throttling.check("login", idents)
        throttling.check("login", idents)
        with pytest.raises(Throttled):
            throttling.check("login", idents)
        throttling.refund("login", [("kind", unique("never-counted"))])  # nothing to undo


PROXY = "192.0.2.250"


class ForwardedCase(NamedTuple):
    proxies: int  # NEXUS_SHOP_TRUSTED_PROXY_COUNT
    remote: str  # REMOTE_ADDR of the attempts ("{ip}": the test's client)
    forwarded: str  # X-Forwarded-For of the ten counted attempts ("{n}": 0..9)
    spoofed: str  # X-Forwarded-For of the eleventh, forged to look like someone else
    other: tuple[str, str]  # REMOTE_ADDR and header of another, unaffected client


@pytest.mark.django_db
@pytest.mark.parametrize(
    "case",
    [
        # No trusted proxy: X-Forwarded-For is ignored; REMOTE_ADDR is the client.
        pytest.param(
            ForwardedCase(0, "{ip}", "203.0.113.{n}", "1.2.3.4", ("{other}", "")), id="no-proxy"
        ),
        # One trusted proxy: only the entry it appended counts; what the client forged to
        # its left changes nothing.
        pytest.param(
            ForwardedCase(
                1,
                PROXY,
                "203.0.113.{n}, {ip}",
                "9.9.9.9, 8.8.8.8, {ip}",
                (PROXY, "{ip}, 203.0.113.99"),
            ),
            id="behind-one-proxy",
        ),
    ],
)
def test_a_forged_forwarded_for_does_not_reset_the_count(
    settings: Any, ip: str, case: ForwardedCase
) -> None:
    settings.NEXUS_SHOP_THROTTLE_RATES = RATES
    settings.NEXUS_SHOP_TRUSTED_PROXY_COUNT = case.proxies
    remote = case.remote.format(ip=ip)

    def attempt(remote_addr: str, header: str) -> Any:
        body = {"username": unique("u"), "password": "x"}
        return post("/token", body, ip=remote_addr, **{"X-Forwarded-For": header})

    for n in range(10):
        assert attempt(remote, case.forwarded.format(n=n, ip=ip)).status_code == 401

    _assert_throttled(attempt(remote, case.spoofed.format(ip=ip)))
    # Another client (another address, or another entry behind the same proxy) still may.
    fresh = f"10.254.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 256}"
    other_remote, other_header = (part.format(ip=ip, other=fresh) for part in case.other)
    assert attempt(other_remote, other_header).status_code == 401


# Register and refresh -------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_THROTTLE_RATES=RATES)
def test_register_is_throttled_per_ip(ip: str) -> None:
    for _ in range(10):
        name = unique("new")
        body = {"username": name, "email": f"{name}@example.com", "password": "x"}
        assert post("/register", body, ip=ip).status_code == 422  # weak password, still counted

    name = unique("new")
    body = {"username": name, "email": f"{name}@example.com", "password": "plum-Lantern-42-q"}
    _assert_throttled(post("/register", body, ip=ip))


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_THROTTLE_RATES=RATES)
def test_register_is_throttled_per_username_across_ips(ip: str) -> None:
    name = unique("squat")
    for n in range(10):
        body = {"username": name, "email": f"{n}{name}@example.com", "password": "x"}
        assert post("/register", body, ip=f"198.51.100.{n}").status_code == 422

    body = {"username": name, "email": f"{name}@example.com", "password": "plum-Lantern-42-q"}
    _assert_throttled(post("/register", body, ip=ip))


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_THROTTLE_RATES=RATES)
def test_refresh_is_throttled_per_token(ip: str) -> None:
    user = UserFactory()
    refresh = post("/token", {"username": user.username, "password": PASSWORD}, ip=ip).json()[
        "refresh"
    ]
    statuses = [
        post("/token/refresh", {"refresh": refresh}, ip=f"198.51.100.{n}").status_code
        for n in range(10)
    ]
    assert statuses == [200] + [401] * 9

    _assert_throttled(post("/token/refresh", {"refresh": refresh}, ip=ip))


@pytest.fixture
def fresh_throttle_cache(settings: Any) -> None:
    """Counters of their own: per-user keys use the primary key, which rolled-back tests reuse."""
    settings.CACHES = {
        **settings.CACHES,
        "throttle-test": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": unique("throttle"),
        },
    }
    settings.NEXUS_SHOP_THROTTLE_CACHE = "throttle-test"


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_throttle_cache")
@override_settings(NEXUS_SHOP_THROTTLE_RATES=RATES)
def test_refresh_is_throttled_per_user_across_ips_and_rotations(ip: str) -> None:
    # Each refresh rotates the token, so only a per-user count can stop a chain of them.
    user = UserFactory()
    pair = post("/token", {"username": user.username, "password": PASSWORD}, ip=ip).json()
    statuses = []
    for n in range(11):
        response = post("/token/refresh", {"refresh": pair["refresh"]}, ip=f"198.51.100.{n}")
        statuses.append(response.status_code)
        if response.status_code == 200:
            pair = response.json()
    assert statuses == [200] * 10 + [429]


@pytest.mark.django_db
@pytest.mark.usefixtures("fresh_throttle_cache")
@override_settings(NEXUS_SHOP_THROTTLE_RATES=RATES)
def test_a_forged_token_does_not_spend_its_claimed_users_budget(ip: str) -> None:
    user = UserFactory()
    forged = jwt.encode(
        {"token_type": "refresh", "user_id": user.pk, "jti": "x", "exp": 2_000_000_000},
        "not-the-signing-key-but-32-bytes-long",
        algorithm="HS256",
    )
    for n in range(12):
        post("/token/refresh", {"refresh": forged}, ip=f"198.51.100.{n}")
    pair = post("/token", {"username": user.username, "password": PASSWORD}, ip=ip).json()
    assert post("/token/refresh", {"refresh": pair["refresh"]}, ip=ip).status_code == 200


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_THROTTLE_RATES=RATES)
def test_refresh_is_throttled_per_ip(ip: str) -> None:
    for n in range(10):
        assert post("/token/refresh", {"refresh": f"garbage-{n}"}, ip=ip).status_code == 401

    _assert_throttled(post("/token/refresh", {"refresh": "garbage-x"}, ip=ip))


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_THROTTLE_RATES={"token": "2/h"})
def test_password_change_shares_the_token_throttle(ip: str) -> None:
    from tests.conftest import bearer

    user = UserFactory(username=unique("pw"))
    headers = bearer(user)
    body = {"old_password": "wrong", "new_password": "plum-Lantern-42-q"}
    assert post("/password", body, ip=ip, **headers).status_code == 422
    assert post("/password", body, ip=unique("ip"), **headers).status_code == 422

    _assert_throttled(post("/password", body, ip=ip, **headers))


# Fail-open ------------------------------------------------------------------------------------


def _caches_with(throttle: dict[str, Any]) -> dict[str, Any]:
    return {**settings.CACHES, "throttle": throttle}


@pytest.mark.django_db
def test_a_cache_without_incr_fails_open(ip: str) -> None:
    caches = _caches_with({"BACKEND": "django.core.cache.backends.dummy.DummyCache"})
    rates = {"token": "1/h"}
    with override_settings(
        CACHES=caches, NEXUS_SHOP_THROTTLE_CACHE="throttle", NEXUS_SHOP_THROTTLE_RATES=rates
    ):
        user = UserFactory()
        for _ in range(3):
            body = {"username": user.username, "password": PASSWORD}
            assert post("/token", body, ip=ip).status_code == 200


@pytest.mark.django_db
def test_an_unreachable_redis_fails_open(ip: str, unreachable_port: int) -> None:
    """Nothing listens on the port: every cache call fails, auth endpoints still answer."""
    redis_cache = {
        "BACKEND": "nexus_shop.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{unreachable_port}/0",
    }
    with override_settings(
        CACHES=_caches_with(redis_cache),
        NEXUS_SHOP_THROTTLE_CACHE="throttle",
        NEXUS_SHOP_THROTTLE_RATES={"token": "1/h", "register": "1/h", "refresh": "1/h"},
    ):
        user = UserFactory()
        for _ in range(3):
            pair = post("/token", {"username": user.username, "password": PASSWORD}, ip=ip)
            assert pair.status_code == 200
            assert post("/token/refresh", pair.json(), ip=ip).status_code == 422  # extra field
            assert (
                post("/token/refresh", {"refresh": pair.json()["refresh"]}, ip=ip).status_code
                == 200
            )
        for n in range(3):
            name = unique(f"r{n}")
            body = {
                "username": name,
                "email": f"{name}@example.com",
                "password": "plum-Lantern-42-q",
            }
            assert post("/register", body, ip=ip).status_code == 201


@pytest.mark.django_db
def test_the_throttle_counts_in_redis_then_fails_open_when_redis_dies(
    redis_server: RedisServer, ip: str
) -> None:
    redis_cache = {
        "BACKEND": "nexus_shop.cache.RedisCache",
        "LOCATION": redis_server.url,
        "OPTIONS": {"RETRY_AFTER": 0},
    }
    with override_settings(
        CACHES=_caches_with(redis_cache),
        NEXUS_SHOP_THROTTLE_CACHE="throttle",
        NEXUS_SHOP_THROTTLE_RATES={"token": "2/h"},
    ):
        user = UserFactory()
        body = {"username": user.username, "password": PASSWORD}
        assert post("/token", body, ip=ip).status_code == 200
        assert post("/token", body, ip=ip).status_code == 200
        _assert_throttled(post("/token", body, ip=ip))  # Redis is up: the limit holds

        redis_server.stop()

        for _ in range(3):
            assert post("/token", body, ip=ip).status_code == 200  # fails open, no 500


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_THROTTLE_RATES={})  # nothing set: nexus_shop's defaults, 10/m
def test_with_the_default_rates_the_eleventh_login_attempt_is_a_429() -> None:
    for _attempt in range(2):  # a minute boundary mid-test resets the window: try once more
        ip, started = f"10.255.{uuid.uuid4().int % 256}.{uuid.uuid4().int % 256}", time.time()
        answers = [
            post("/token", {"username": unique("u"), "password": "x"}, ip=ip) for _ in range(11)
        ]
        if int(started // 60) == int(time.time() // 60):
            break
    assert [a.status_code for a in answers] == [401] * 10 + [429]
    _assert_throttled(answers[-1], period=60)


# The Django admin's login (the example project's URLconf) ------------------------------------


@pytest.fixture
def example_urls(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The example project's URLconf: its ``example_project`` package on ``sys.path``."""
    import sys
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "example_project"))
    for name in [
        m for m in sys.modules if m == "example_project" or m.startswith("example_project.")
    ]:
        monkeypatch.delitem(sys.modules, name)
    with override_settings(ROOT_URLCONF="example_project.urls"):
        yield


def admin_login(username: str, password: str, *, ip: str) -> Any:
    return Client(REMOTE_ADDR=ip).post(
        "/admin/login/?next=/admin/", {"username": username, "password": password}
    )


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_THROTTLE_RATES={**RATES, "token": "1000/h", "login": "20/h"})
def test_the_example_admin_login_is_throttled(example_urls: None, ip: str) -> None:
    """Issue 8 §4: 30 wrong passwords, then the right one, succeeded."""
    from tests.factories import StaffFactory

    admin_user = StaffFactory(username=unique("admin"), is_superuser=True)
    answers = [admin_login(admin_user.username, f"guess-{n}", ip=ip) for n in range(30)]
    assert [a.status_code for a in answers] == [200] * 20 + [429] * 10  # 200: the form again
    assert 1 <= int(answers[-1]["Retry-After"]) <= 3600

    refused = admin_login(admin_user.username, PASSWORD, ip=ip)
    assert refused.status_code == 429
    assert "_auth_user_id" not in refused.wsgi_request.session

    # The owner, from another address, is not locked out by the guesser.
    welcome = admin_login(admin_user.username, PASSWORD, ip=unique_ip())
    assert welcome.status_code == 302, welcome.content
    assert welcome["Location"] == "/admin/"


@pytest.mark.django_db
@override_settings(NEXUS_SHOP_THROTTLE_RATES={**RATES, "token": "3/h"})
def test_the_example_admin_login_shares_the_per_ip_budget_with_the_api(
    example_urls: None, ip: str
) -> None:
    for _ in range(3):
        assert post("/token", {"username": unique("u"), "password": "x"}, ip=ip).status_code == 401
    assert admin_login(unique("u"), "x", ip=ip).status_code == 429
