"""Malformed, unknown, expired and used tokens: 400 INVALID_TOKEN, nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.lifecycle.conftest import Account, Life
from tests.support.api import PASSWORD, assert_problem, unique_email

ENDPOINTS = {
    "/auth/email/verify": {},
    "/auth/email/change/confirm": {},
    "/auth/password/reset": {"new_password": "a brand new passphrase"},
}
BAD_TOKENS = [
    "x",
    "no-dot-at-all",
    ".leading-dot",
    "trailing-dot.",
    "unknown-user.c2VjcmV0",
    "$where.1",
    "a" * 4000,
    "9b2f7a1e-4c7d-4a51-9a0e-3f1f2d6c8b10.forged",
]


@pytest.mark.parametrize("path", sorted(ENDPOINTS))
async def test_bad_tokens_are_400_and_change_nothing(life: Life, path: str) -> None:
    account = await life.account()
    me_before = (await life.client.get("/auth/me", headers=account.auth)).json()
    for token in [*BAD_TOKENS, f"{account.id}.not-the-secret"]:
        answer = await life.client.post(path, json={"token": token, **ENDPOINTS[path]})
        assert_problem(answer, 400, "INVALID_TOKEN")
    me_after = (await life.client.get("/auth/me", headers=account.auth)).json()
    assert me_after == me_before


async def test_a_token_of_one_kind_does_not_work_for_another(life: Life) -> None:
    account = await life.account()
    verify = await life.mail(account.email, "verify_email")
    reset = {"token": verify.token, "new_password": "a brand new passphrase"}
    assert_problem(await life.client.post("/auth/password/reset", json=reset), 400, "INVALID_TOKEN")
    wrong = await life.client.post("/auth/email/change/confirm", json={"token": verify.token})
    assert_problem(wrong, 400, "INVALID_TOKEN")
    assert (
        await life.client.post("/auth/email/verify", json={"token": verify.token})
    ).status_code == 204


async def test_non_string_tokens_are_422(life: Life) -> None:
    for value in (None, 5, ["a.b"], {"$ne": ""}):
        answer = await life.client.post("/auth/email/verify", json={"token": value})
        assert_problem(answer, 422, "VALIDATION_FAILED")


@pytest.mark.parametrize("path", sorted(ENDPOINTS))
async def test_made_up_links_naming_an_account_do_not_lock_out_its_real_link(
    start_life: Callable[..., Any], path: str
) -> None:
    """Only bad links count against the account they name, and a real link is never
    refused for them: otherwise anyone knowing a user's id could keep them out of their
    own reset. The address limit still bounds the guessing."""
    async with start_life(account_action_limit=2) as life:
        account = await life.account()
        real = await real_link(life, account, path)
        for _ in range(2):
            made_up = {"token": f"{account.id}.made-up", **ENDPOINTS[path]}
            assert_problem(await life.client.post(path, json=made_up), 400, "INVALID_TOKEN")
        over = await life.client.post(path, json={"token": f"{account.id}.x", **ENDPOINTS[path]})
        assert_problem(over, 429, "RATE_LIMITED")
        done = await life.client.post(path, json={"token": real, **ENDPOINTS[path]})
        assert done.status_code == 204


async def real_link(life: Life, account: Account, path: str) -> str:
    if path == "/auth/email/verify":
        return (await life.mail(account.email, "verify_email")).token
    if path == "/auth/password/reset":
        await life.client.post("/auth/password/forgot", json={"email": account.email})
        return (await life.mail(account.email, "password_reset")).token
    new_email = unique_email("moved")
    body = {"new_email": new_email, "password": PASSWORD}
    assert (
        await life.client.post("/auth/email/change", json=body, headers=account.auth)
    ).status_code == 202
    return (await life.mail(new_email, "email_change_confirm")).token
