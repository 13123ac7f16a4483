"""The redaction rules on their own: which keys are secret, which text is masked."""

from __future__ import annotations

import pytest

from auth_api.observability.redaction import REDACTED, is_sensitive_key, mask_text, redact

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password",
        "Password",
        "access_token",
        "refresh-token",
        "token",
        "Authorization",
        "jwt_secret",
        "Set-Cookie",
        "password_hash",
        "client_secret",
    ],
)
def test_secret_keys(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize(
    "key", ["email", "user_id", "session_id", "audit", "client_ip", "rule", "route", "reason"]
)
def test_ordinary_keys(key: str) -> None:
    assert not is_sensitive_key(key)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"token {JWT} refused", f"token {REDACTED} refused"),
        ("header Bearer abcdefgh12345678", f"header Bearer {REDACTED}"),
        ("authorization: bearer opaque-token-value", f"authorization: bearer {REDACTED}"),
        ("token_type is bearer", "token_type is bearer"),
        ("login for someone@example.com", "login for someone@example.com"),
    ],
)
def test_credentials_inside_text_are_masked(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_redact_walks_nested_values_and_keeps_the_rest() -> None:
    value = {"a": [{"password": "p"}, f"Bearer {JWT}"], "n": 3, "ok": "fine"}
    assert redact(value) == {
        "a": [{"password": REDACTED}, f"Bearer {REDACTED}"],
        "n": 3,
        "ok": "fine",
    }
