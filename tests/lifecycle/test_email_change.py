"""Moving the account to another address: a link to the new one, a notice to the old,
and one address never held by two accounts."""

from __future__ import annotations

import asyncio

from tests.lifecycle.conftest import Account, Life
from tests.support.api import PASSWORD, assert_problem, login, register, unique_email


async def request_change(life: Life, account: Account, new_email: str) -> int:
    body = {"new_email": new_email, "password": PASSWORD}
    answer = await life.client.post("/auth/email/change", json=body, headers=account.auth)
    return answer.status_code


async def test_a_confirmed_change_moves_the_account(life: Life) -> None:
    account = await life.account()
    new_email = unique_email("moved")
    assert await request_change(life, account, new_email) == 202
    confirm = await life.mail(new_email, "email_change_confirm")
    notice = await life.mail(account.email, "email_change_notice")
    assert new_email in notice.text
    assert confirm.route == "confirm-email"
    me = await life.client.get("/auth/me", headers=account.auth)
    assert me.json()["email"] == account.email  # nothing changes before the confirmation

    done = await life.client.post("/auth/email/change/confirm", json={"token": confirm.token})
    assert done.status_code == 204
    me = (await life.client.get("/auth/me", headers=account.auth)).json()
    assert (me["email"], me["email_verified"]) == (new_email, True)
    assert (await login(life.client, new_email)).status_code == 200
    assert_problem(await login(life.client, account.email), 401, "INVALID_CREDENTIALS")
    assert (await register(life.client, account.email)).status_code == 201  # the old is free
    again = await life.client.post("/auth/email/change/confirm", json={"token": confirm.token})
    assert_problem(again, 400, "INVALID_TOKEN")
    assert "user.email_changed" in await life.event_types(account.id)


async def test_bad_requests_change_nothing(life: Life) -> None:
    account, other = await life.account(), await life.account()
    same = {"new_email": account.email.upper(), "password": PASSWORD}
    answer = await life.client.post("/auth/email/change", json=same, headers=account.auth)
    assert_problem(answer, 422, "VALIDATION_FAILED")
    taken = {"new_email": other.email, "password": PASSWORD}
    answer = await life.client.post("/auth/email/change", json=taken, headers=account.auth)
    assert_problem(answer, 409, "EMAIL_ALREADY_REGISTERED")
    wrong = {"new_email": unique_email(), "password": "not my password"}
    answer = await life.client.post("/auth/email/change", json=wrong, headers=account.auth)
    assert_problem(answer, 401, "INVALID_CREDENTIALS")
    assert_problem(
        await life.client.post("/auth/email/change", json=wrong), 401, "NOT_AUTHENTICATED"
    )


async def test_an_address_taken_after_the_request_is_409_at_confirmation(life: Life) -> None:
    account = await life.account()
    new_email = unique_email("contested")
    assert await request_change(life, account, new_email) == 202
    confirm = await life.mail(new_email, "email_change_confirm")
    assert (await register(life.client, new_email)).status_code == 201
    late = await life.client.post("/auth/email/change/confirm", json={"token": confirm.token})
    assert_problem(late, 409, "EMAIL_ALREADY_REGISTERED")
    me = await life.client.get("/auth/me", headers=account.auth)
    assert me.json()["email"] == account.email


async def test_two_accounts_confirming_one_address_at_once_get_it_once(life: Life) -> None:
    first, second = await life.account(), await life.account()
    contested = unique_email("both")
    assert await request_change(life, first, contested) == 202
    assert await request_change(life, second, contested) == 202
    one = await life.mail(contested, "email_change_confirm")
    two = await life.mail(contested, "email_change_confirm", count=2)
    answers = await asyncio.gather(
        *(
            life.client.post("/auth/email/change/confirm", json={"token": mail.token})
            for mail in (one, two)
        )
    )
    assert sorted(a.status_code for a in answers) == [204, 409]
    emails = [
        (await life.client.get("/auth/me", headers=a.auth)).json()["email"] for a in (first, second)
    ]
    assert emails.count(contested) == 1


async def test_a_new_password_voids_a_pending_email_change(life: Life) -> None:
    """Whoever learnt the password may have asked to move the account; the owner's notice
    says to change the password, and doing so must void the thief's confirmation link."""
    account = await life.account()
    thief_address = unique_email("thief")
    assert await request_change(life, account, thief_address) == 202
    stolen = await life.mail(thief_address, "email_change_confirm")
    await life.client.post("/auth/password/forgot", json={"email": account.email})
    reset = await life.mail(account.email, "password_reset")
    body = {"token": reset.token, "new_password": "the owner's brand new passphrase"}
    assert (await life.client.post("/auth/password/reset", json=body)).status_code == 204

    late = await life.client.post("/auth/email/change/confirm", json={"token": stolen.token})
    assert_problem(late, 400, "INVALID_TOKEN")
    record = await life.container.backends.accounts.account(account.id)
    assert record is not None
    assert record.user.email == account.email
    assert "user.email_changed" not in await life.event_types(account.id)


async def test_a_confirmed_change_voids_a_reset_link_mailed_to_the_old_address(
    life: Life,
) -> None:
    account = await life.account()
    await life.client.post("/auth/password/forgot", json={"email": account.email})
    reset = await life.mail(account.email, "password_reset")
    new_email = unique_email("moved")
    assert await request_change(life, account, new_email) == 202
    confirm = await life.mail(new_email, "email_change_confirm")
    done = await life.client.post("/auth/email/change/confirm", json={"token": confirm.token})
    assert done.status_code == 204

    body = {"token": reset.token, "new_password": "a passphrase from the old mailbox"}
    assert_problem(await life.client.post("/auth/password/reset", json=body), 400, "INVALID_TOKEN")
    assert (await login(life.client, new_email)).status_code == 200
