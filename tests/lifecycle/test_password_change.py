"""Changing the password while signed in: the other sessions end, this one stays."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.lifecycle.conftest import Life
from tests.support.api import PASSWORD, assert_problem, bearer, login

NEW_PASSWORD = "a brand new passphrase"


async def test_a_change_keeps_this_session_and_ends_the_others(life: Life) -> None:
    account = await life.account()
    other = (await login(life.client, account.email)).json()
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    changed = await life.client.post("/auth/password/change", json=body, headers=account.auth)
    assert changed.status_code == 204
    assert (await life.client.get("/auth/me", headers=account.auth)).status_code == 200
    refreshed = await life.client.post(
        "/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    assert refreshed.status_code == 200
    gone = await life.client.get("/auth/me", headers=bearer(other["access_token"]))
    assert_problem(gone, 401, "NOT_AUTHENTICATED")
    dead = await life.client.post("/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert dead.status_code == 401
    assert (await login(life.client, account.email, NEW_PASSWORD)).status_code == 200
    notice = await life.mail(account.email, "password_changed_notice")
    assert "was just changed" in notice.text
    assert "user.password_changed" in await life.event_types(account.id)


async def test_a_wrong_current_password_is_401_and_counts_as_a_failed_login(
    start_life: Callable[..., Any],
) -> None:
    async with start_life(login_account_ip_limit=3) as life:
        account = await life.account()  # its login was attempt 1 and reset the count
        body = {"current_password": "not my password", "new_password": NEW_PASSWORD}
        for _ in range(3):
            wrong = await life.client.post("/auth/password/change", json=body, headers=account.auth)
            assert_problem(wrong, 401, "INVALID_CREDENTIALS")
        # The account's login limit from this address is spent, for logins too.
        assert_problem(await login(life.client, account.email), 429, "RATE_LIMITED")


async def test_a_weak_new_password_is_422_and_changes_nothing(life: Life) -> None:
    account = await life.account()
    body = {"current_password": PASSWORD, "new_password": "password"}
    weak = await life.client.post("/auth/password/change", json=body, headers=account.auth)
    assert_problem(weak, 422, "WEAK_PASSWORD")
    assert (await login(life.client, account.email)).status_code == 200


async def test_changing_needs_a_token(life: Life) -> None:
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    anonymous = await life.client.post("/auth/password/change", json=body)
    assert_problem(anonymous, 401, "NOT_AUTHENTICATED")
