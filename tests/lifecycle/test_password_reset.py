"""Forgetting and resetting the password."""

from __future__ import annotations

import asyncio
import time

from tests.lifecycle.conftest import Life
from tests.support.api import assert_problem, bearer, login, unique_email

NEW_PASSWORD = "a brand new passphrase"


async def forgot(life: Life, email: str) -> None:
    answer = await life.client.post("/auth/password/forgot", json={"email": email})
    assert answer.status_code == 202


async def test_a_reset_ends_every_session_and_token_and_works_once(life: Life) -> None:
    account = await life.account()
    await forgot(life, account.email)
    mail = await life.mail(account.email, "password_reset")
    assert mail.route == "reset-password"
    assert "within 30 minutes" in mail.text

    reset = {"token": mail.token, "new_password": NEW_PASSWORD}
    assert (await life.client.post("/auth/password/reset", json=reset)).status_code == 204
    assert_problem(
        await life.client.get("/auth/me", headers=account.auth), 401, "NOT_AUTHENTICATED"
    )
    refreshed = await life.client.post(
        "/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    assert refreshed.status_code == 401
    again = await life.client.post("/auth/password/reset", json=reset)
    assert_problem(again, 400, "INVALID_TOKEN")

    assert_problem(await login(life.client, account.email), 401, "INVALID_CREDENTIALS")
    await asyncio.sleep(1.05)  # tokens of the reset's own second are denied too
    token = (await login(life.client, account.email, NEW_PASSWORD)).json()["access_token"]
    assert (await life.client.get("/auth/me", headers=bearer(token))).status_code == 200
    notice = await life.mail(account.email, "password_reset_notice")
    assert "was just reset" in notice.text
    types = await life.event_types(account.id)
    assert "user.password_reset" in types
    assert "session.revoked" in types


async def test_forgot_answers_the_same_for_known_and_unknown_addresses(life: Life) -> None:
    account = await life.account()
    known = await life.client.post("/auth/password/forgot", json={"email": account.email})
    unknown = await life.client.post("/auth/password/forgot", json={"email": unique_email()})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    varying = {"date", "x-request-id"}
    assert {k: v for k, v in known.headers.items() if k not in varying} == {
        k: v for k, v in unknown.headers.items() if k not in varying
    }
    await life.mail(account.email, "password_reset")


async def test_a_weak_new_password_is_422_and_leaves_the_link_usable(life: Life) -> None:
    account = await life.account()
    await forgot(life, account.email)
    mail = await life.mail(account.email, "password_reset")
    weak = await life.client.post(
        "/auth/password/reset", json={"token": mail.token, "new_password": "password"}
    )
    assert_problem(weak, 422, "WEAK_PASSWORD")
    assert (await life.client.get("/auth/me", headers=account.auth)).status_code == 200
    ok = await life.client.post(
        "/auth/password/reset", json={"token": mail.token, "new_password": NEW_PASSWORD}
    )
    assert ok.status_code == 204


async def test_a_second_request_replaces_the_first_link(life: Life) -> None:
    account = await life.account()
    await forgot(life, account.email)
    first = await life.mail(account.email, "password_reset")
    await forgot(life, account.email)
    second = await life.mail(account.email, "password_reset", count=2)
    body = {"token": first.token, "new_password": NEW_PASSWORD}
    assert_problem(await life.client.post("/auth/password/reset", json=body), 400, "INVALID_TOKEN")
    body["token"] = second.token
    assert (await life.client.post("/auth/password/reset", json=body)).status_code == 204


async def test_a_reset_and_a_deletion_also_deny_each_ended_session(life: Life) -> None:
    """The user-wide cut-off is taken before the write; a refresh that read its session
    before the write and signed after the cut-off's second would slip past it. Each
    ended session is therefore denied by its own key too: shown here with a token time
    well past the cut-off, which only the session's denial refuses."""
    revocations = life.container.backends.revocations
    for ending in ("reset", "deletion"):
        account = await life.account()
        session_id = life.container.services.codec.verify(account.token).session_id
        if ending == "reset":
            await forgot(life, account.email)
            mail = await life.mail(account.email, "password_reset")
            body = {"token": mail.token, "new_password": NEW_PASSWORD}
            assert (await life.client.post("/auth/password/reset", json=body)).status_code == 204
        else:
            deleted = await life.client.request(
                "DELETE", "/auth/me", json={"password": account.password}, headers=account.auth
            )
            assert deleted.status_code == 204
        far_later = int(time.time()) + 3600
        assert await revocations.is_revoked("a-later-jti", account.id, session_id, far_later)
