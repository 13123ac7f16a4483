"""Deleting the account: tokens and sessions end, personal data goes, the address is
free again, and consumers hear only the id and the time."""

from __future__ import annotations

import json

from auth_api.admin.service import CLI
from quizauth_wire import ADMIN_ROLE
from tests.lifecycle.conftest import Life
from tests.support.api import PASSWORD, assert_problem, login, register


async def test_a_deleted_account_keeps_no_personal_data(life: Life) -> None:
    account = await life.account()
    await life.client.post("/auth/password/forgot", json={"email": account.email})
    wrong = await life.client.request(
        "DELETE", "/auth/me", json={"password": "not mine"}, headers=account.auth
    )
    assert_problem(wrong, 401, "INVALID_CREDENTIALS")
    deleted = await life.client.request(
        "DELETE", "/auth/me", json={"password": PASSWORD}, headers=account.auth
    )
    assert deleted.status_code == 204
    assert_problem(
        await life.client.get("/auth/me", headers=account.auth), 401, "NOT_AUTHENTICATED"
    )
    refresh = await life.client.post("/auth/refresh", json={"refresh_token": account.refresh_token})
    assert refresh.status_code == 401
    assert_problem(await login(life.client, account.email), 401, "INVALID_CREDENTIALS")

    record = await life.container.backends.accounts.account(account.id)
    assert record is not None
    user = record.user
    assert (user.email, user.display_name, user.password_hash) == ("", "", "")
    assert user.sessions == {}
    assert record.tokens == {}
    assert record.mails == []
    events = await life.events(account.id)
    deleted_events = [data for type_, data in events if type_ == "user.deleted"]
    assert [set(data) for data in deleted_events] == [{"user_id", "deleted_at"}]
    assert PASSWORD not in json.dumps(events)
    assert (await register(life.client, account.email)).status_code == 201


async def test_the_tombstones_placeholder_address_logs_no_one_in(life: Life) -> None:
    """A deleted account keeps `deleted:<id>` as its normalised address; typed into the
    login form it is an unknown account, not a server error."""
    account = await life.account()
    deleted = await life.client.request(
        "DELETE", "/auth/me", json={"password": PASSWORD}, headers=account.auth
    )
    assert deleted.status_code == 204
    for password in (PASSWORD, ""):
        answer = await login(life.client, f"deleted:{account.id}", password or "x" * 12)
        assert_problem(answer, 401, "INVALID_CREDENTIALS")


async def test_the_last_admin_cannot_delete_their_account_and_loses_nothing_trying(
    life: Life,
) -> None:
    admin = life.container.services.admin
    boss, deputy = await life.account(), await life.account()
    await admin.set_roles(CLI, boss.id, {ADMIN_ROLE})
    for account in (boss, deputy):  # tokens issued after the role change carry it
        fresh = (await login(life.client, account.email)).json()
        account.token, account.refresh_token = fresh["access_token"], fresh["refresh_token"]
    assert await admin._stores.admin.count_admins() == 1  # each test has its own users
    refused = await life.client.request(
        "DELETE", "/auth/me", json={"password": PASSWORD}, headers=boss.auth
    )
    assert_problem(refused, 409, "LAST_ADMIN")
    assert (await life.client.get("/auth/me", headers=boss.auth)).status_code == 200
    assert "user.deleted" not in await life.event_types(boss.id)

    await admin.set_roles(CLI, deputy.id, {ADMIN_ROLE})
    deleted = await life.client.request(
        "DELETE", "/auth/me", json={"password": PASSWORD}, headers=boss.auth
    )
    assert deleted.status_code == 204
