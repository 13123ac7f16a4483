"""Malformed, unknown, expired and used tokens: 400 INVALID_TOKEN, nothing changed."""

from __future__ import annotations

import pytest

from tests.lifecycle.conftest import Life
from tests.support.api import assert_problem

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
