"""Exporting what is stored about the user, without a secret."""

from __future__ import annotations

import json

from tests.lifecycle.conftest import Life
from tests.support.api import assert_problem


async def test_the_export_is_a_file_of_everything_but_secrets(life: Life) -> None:
    account = await life.account()
    await life.client.post("/auth/password/forgot", json={"email": account.email})
    answer = await life.client.get("/auth/me/export", headers=account.auth)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    disposition = answer.headers["content-disposition"]
    assert disposition == f'attachment; filename="quizauth-export-{account.id}.json"'
    data = answer.json()
    assert data["profile"]["email"] == account.email
    assert data["roles"] == ["user"]
    assert data["verification"]["email_verified"] is False
    assert [s["current"] for s in data["sessions"]] == [True]
    assert {r["purpose"] for r in data["pending_requests"]} >= {"verify_email", "reset_password"}
    assert isinstance(data["pending_events"], list)
    text = json.dumps(data)
    record = await life.container.backends.accounts.account(account.id)
    assert record is not None
    secrets = [record.user.password_hash, *(t.hash for t in record.tokens.values())]
    secrets += [s.refresh_hash for s in record.user.sessions.values()]
    secrets += [m.params["nonce"] for m in record.mails if "nonce" in m.params]
    assert all(secret not in text for secret in secrets)
    for key in ("hash", "nonce", "password_hash", "refresh_hash", "params"):
        assert f'"{key}"' not in text


async def test_the_export_needs_a_token(life: Life) -> None:
    assert_problem(await life.client.get("/auth/me/export"), 401, "NOT_AUTHENTICATED")
