"""Rate limits and hostile input, against both backends."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.conftest import client_at, running
from tests.support.api import PASSWORD, assert_problem, login, register, unique_email

SettingsFactory = Callable[..., Settings]


async def test_account_limit_gives_429_with_retry_after(api_settings: SettingsFactory) -> None:
    email = unique_email()
    async with running(create_app(api_settings(login_account_ip_limit=3))) as api:
        await register(api, email)
        for _ in range(3):
            await login(api, email, "wrong password!")
        response = await login(api, email, PASSWORD)  # even the right password waits
        assert_problem(response, 429, "RATE_LIMITED")
        assert 0 < int(response.headers["retry-after"]) <= 900


async def test_unknown_accounts_are_throttled_alike(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings(login_account_ip_limit=2))) as api:
        ghost = unique_email()
        for _ in range(2):
            assert (await login(api, ghost)).status_code == 401
        assert (await login(api, ghost)).status_code == 429


async def test_success_resets_the_account_count(api_settings: SettingsFactory) -> None:
    email = unique_email()
    async with running(create_app(api_settings(login_account_ip_limit=3))) as api:
        await register(api, email)
        for _ in range(2):
            await login(api, email, "wrong password!")
        assert (await login(api, email)).status_code == 200
        for _ in range(2):
            assert (await login(api, email, "wrong password!")).status_code == 401
        assert (await login(api, email)).status_code == 200


async def test_ip_limit_spans_accounts(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings(login_ip_limit=3))) as api:
        for _ in range(3):
            assert (await login(api, unique_email())).status_code == 401
        assert (await login(api, unique_email())).status_code == 429


async def test_register_is_limited_per_ip(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings(register_ip_limit=2))) as api:
        assert (await register(api)).status_code == 201
        assert (await register(api)).status_code == 201
        assert_problem(await register(api), 429, "RATE_LIMITED")


async def test_forwarded_for_counts_only_behind_a_trusted_proxy(
    api_settings: SettingsFactory,
) -> None:
    settings = api_settings(login_ip_limit=1, trusted_proxies=["10.0.0.1"])
    async with running(create_app(settings), ip="10.0.0.1") as proxied:
        for client_ip in ("198.51.100.1", "198.51.100.2"):
            response = await proxied.post(
                "/auth/login",
                json={"email": unique_email(), "password": PASSWORD},
                headers={"X-Forwarded-For": client_ip},
            )
            assert response.status_code == 401  # distinct clients, distinct buckets
    async with running(create_app(settings), ip="203.0.113.9") as direct:
        for client_ip, status in (("198.51.100.3", 401), ("198.51.100.4", 429)):
            response = await direct.post(
                "/auth/login",
                json={"email": unique_email(), "password": PASSWORD},
                headers={"X-Forwarded-For": client_ip},
            )
            assert response.status_code == status  # spoofed header ignored: one bucket


async def test_an_attacker_cannot_lock_the_owner_out(api_settings: SettingsFactory) -> None:
    email = unique_email()
    # No wait, so that this test takes no time; the wait itself: unit/test_login_slowdown.py.
    app = create_app(api_settings(login_account_ip_limit=3, login_delay_step_seconds=0))
    async with running(app, ip="198.51.100.66") as attacker, client_at(app, "203.0.113.5") as owner:
        await register(owner, email)
        statuses = [(await login(attacker, email, f"guess {n}!")).status_code for n in range(20)]
        assert statuses[:3] == [401] * 3
        assert set(statuses[3:]) == {429}  # the attacker's address is stopped...
        assert (await login(owner, email)).status_code == 200  # ...and the owner is not


async def test_registration_has_a_global_budget(api_settings: SettingsFactory) -> None:
    app = create_app(api_settings(register_global_limit=3))
    async with running(app) as api:
        for n in range(3):
            async with client_at(app, f"198.51.100.{n}") as rotated:
                assert (await register(rotated)).status_code == 201
        async with client_at(app, "198.51.100.200") as fresh:
            response = await register(fresh)
        assert_problem(response, 429, "RATE_LIMITED")
        assert 0 < int(response.headers["retry-after"]) <= 3600
        assert (await login(api, unique_email())).status_code == 401  # login is unaffected


async def test_an_address_over_its_limit_spends_no_global_budget(
    api_settings: SettingsFactory,
) -> None:
    app = create_app(api_settings(register_ip_limit=1, register_global_limit=2))
    async with running(app) as api:
        assert (await register(api)).status_code == 201
        for _ in range(5):
            assert (await register(api)).status_code == 429
        async with client_at(app, "198.51.100.9") as other:
            assert (await register(other)).status_code == 201


async def test_ipv6_addresses_are_limited_per_64(api_settings: SettingsFactory) -> None:
    app = create_app(api_settings(register_ip_limit=2))
    async with running(app):
        for host, status in (("::1", 201), ("::2", 201), ("::abcd:1", 429)):
            async with client_at(app, f"2001:db8:7:8{host}") as rotated:
                assert (await register(rotated)).status_code == status, host
        async with client_at(app, "2001:db8:7:9::1") as neighbour:
            assert (await register(neighbour)).status_code == 201


async def test_a_class_behind_one_address_registers_and_logs_in_together(
    make_settings: SettingsFactory,
) -> None:
    """Default limits: 60 pupils behind one school NAT, each registering, mistyping once
    and logging in, within minutes."""
    async with running(create_app(make_settings())) as school:
        pupils = [unique_email("pupil") for _ in range(60)]
        for email in pupils:
            assert (await register(school, email)).status_code == 201
        for email in pupils:
            assert (await login(school, email, "typo in it")).status_code == 401
            assert (await login(school, email)).status_code == 200


async def test_every_forwarded_for_line_counts(api_settings: SettingsFactory) -> None:
    """A proxy that appends its own X-Forwarded-For line: the client's line comes first
    and must not choose the bucket."""
    settings = api_settings(login_ip_limit=1, trusted_proxies=["10.0.0.1"])
    async with running(create_app(settings), ip="10.0.0.1") as proxied:
        for spoofed, status in (("6.6.6.1", 401), ("6.6.6.2", 429)):
            response = await proxied.post(
                "/auth/login",
                json={"email": unique_email(), "password": PASSWORD},
                headers=[("X-Forwarded-For", spoofed), ("X-Forwarded-For", "198.51.100.1")],
            )
            assert response.status_code == status, spoofed


@pytest.mark.parametrize(
    "body",
    [
        {"email": {"$gt": ""}, "password": PASSWORD},
        {"email": ["a@example.com"], "password": PASSWORD},
        {"email": "a@example.com", "password": {"$ne": None}},
        {"email": "a@example.com", "password": 12345678},
        {"email": "a@example.com"},
        {"email": "a@example.com", "password": PASSWORD, "role": "admin"},
        {"email": "a@example.com", "password": PASSWORD, "id": "x"},
        {"email": "a@example.com", "password": PASSWORD, "password_hash": "$argon2id$x"},
        {"email": "not-an-email", "password": PASSWORD},
        {"email": "a@example.com", "password": PASSWORD, "display_name": ""},
        {"email": "a@example.com", "password": PASSWORD, "display_name": "x" * 65},
        [],
        "a string",
    ],
)
async def test_invalid_register_bodies_are_422_and_change_nothing(
    api: httpx.AsyncClient, body: object
) -> None:
    response = await api.post("/auth/register", json=body)
    assert_problem(response, 422, response.json()["code"])
    assert response.json()["code"] in {"VALIDATION_FAILED", "WEAK_PASSWORD"}
    assert (await login(api, "a@example.com")).status_code == 401


async def test_weak_password_lists_each_rule(api: httpx.AsyncClient) -> None:
    response = await register(api, "carol.jones@example.com", password="carol.jones")
    body = assert_problem(response, 422, "WEAK_PASSWORD")
    assert body["errors"][0]["field"] == "password"
    assert "email" in body["detail"]


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"{not json", 400, "MALFORMED_JSON"),
        (b'{"email": "a@example.com", "password": "\xff\xfe\xfd"}', 400, None),
        (b"\xff\xfe{", 400, None),
    ],
)
async def test_malformed_bodies_are_400(
    api: httpx.AsyncClient, content: bytes, status: int, code: str | None
) -> None:
    response = await api.post(
        "/auth/register", content=content, headers={"content-type": "application/json"}
    )
    body = assert_problem(response, status, code or response.json()["code"])
    assert body["code"] in {"MALFORMED_JSON", "MALFORMED_REQUEST"}


async def test_oversized_body_is_413(api: httpx.AsyncClient) -> None:
    big = b'{"email": "' + b"a" * 20_000 + b'"}'
    response = await api.post(
        "/auth/register", content=big, headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_oversized_chunked_body_is_413(api: httpx.AsyncClient) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"a" * 1000

    response = await api.post(
        "/auth/register", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_header_injection_in_email_is_rejected(api: httpx.AsyncClient) -> None:
    response = await register(api, "evil@example.com\r\nX-Injected: 1")
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert "x-injected" not in response.headers
