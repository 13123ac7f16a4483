"""Verifying the address: the mail registration sends, its link used once, the resend."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jwt

from tests.lifecycle.conftest import Life
from tests.support.api import PASSWORD, assert_problem, bearer, login, register, unique_email


async def test_registration_mails_a_link_that_verifies_the_address_once(life: Life) -> None:
    account = await life.account()
    mail = await life.mail(account.email, "verify_email")
    assert mail.route == "verify-email"
    assert mail.link.startswith("http://127.0.0.1:8000/#/verify-email?token=")
    assert "sent by quizauth" in mail.text
    assert "because someone created an account" in mail.text
    assert mail.link.replace("&", "&amp;") in mail.html
    me = await life.client.get("/auth/me", headers=account.auth)
    assert me.json()["email_verified"] is False

    verified = await life.client.post("/auth/email/verify", json={"token": mail.token})
    assert verified.status_code == 204
    me = await life.client.get("/auth/me", headers=account.auth)
    assert me.json()["email_verified"] is True
    again = await life.client.post("/auth/email/verify", json={"token": mail.token})
    assert_problem(again, 400, "INVALID_TOKEN")
    assert "user.email_verified" in await life.event_types(account.id)


async def test_the_access_token_carries_the_verification_state(life: Life) -> None:
    account = await life.account()
    claims = jwt.decode(account.token, options={"verify_signature": False})
    assert claims["email_verified"] is False
    mail = await life.mail(account.email, "verify_email")
    await life.client.post("/auth/email/verify", json={"token": mail.token})
    fresh = (await login(life.client, account.email)).json()["access_token"]
    assert jwt.decode(fresh, options={"verify_signature": False})["email_verified"] is True
    refreshed = await life.client.post(
        "/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    token = refreshed.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["email_verified"] is True


async def test_a_resent_link_replaces_the_first(life: Life) -> None:
    account = await life.account()
    first = await life.mail(account.email, "verify_email")
    assert_problem(await life.client.post("/auth/email/verify/resend"), 401, "NOT_AUTHENTICATED")
    resent = await life.client.post("/auth/email/verify/resend", headers=account.auth)
    assert resent.status_code == 202
    second = await life.mail(account.email, "verify_email", count=2)
    assert second.token != first.token
    old = await life.client.post("/auth/email/verify", json={"token": first.token})
    assert_problem(old, 400, "INVALID_TOKEN")
    assert (
        await life.client.post("/auth/email/verify", json={"token": second.token})
    ).status_code == 204
    done = await life.client.post("/auth/email/verify/resend", headers=account.auth)
    assert_problem(done, 409, "EMAIL_ALREADY_VERIFIED")


async def test_resending_has_its_own_limit(start_life: Callable[..., Any]) -> None:
    async with start_life(account_mail_limit=2) as life:
        account = await life.account()
        for _ in range(2):
            ok = await life.client.post("/auth/email/verify/resend", headers=account.auth)
            assert ok.status_code == 202
        over = await life.client.post("/auth/email/verify/resend", headers=account.auth)
        assert_problem(over, 429, "RATE_LIMITED")
        assert int(over.headers["retry-after"]) > 0


async def test_login_of_an_unverified_account_can_be_refused(
    start_life: Callable[..., Any],
) -> None:
    async with start_life(require_verified_email=True) as life:
        email = unique_email()
        assert (await register(life.client, email)).status_code == 201
        # The password is checked first: a wrong one says nothing about verification.
        assert_problem(
            await login(life.client, email, "wrong password"), 401, "INVALID_CREDENTIALS"
        )
        assert_problem(await login(life.client, email), 403, "EMAIL_NOT_VERIFIED")
        mail = await life.mail(email, "verify_email")
        await life.client.post("/auth/email/verify", json={"token": mail.token})
        token = (await login(life.client, email, PASSWORD)).json()["access_token"]
        assert (await life.client.get("/auth/me", headers=bearer(token))).status_code == 200


async def test_sent_mails_are_counted_on_the_metrics(life: Life) -> None:
    account = await life.account()
    await life.mail(account.email, "verify_email")
    text = (await life.client.get("/metrics")).text
    sent = [line for line in text.splitlines() if line.startswith("auth_mails_sent_total ")]
    assert sent
    assert float(sent[0].split()[1]) >= 1
    assert "auth_mail_send_failures_total" in text
