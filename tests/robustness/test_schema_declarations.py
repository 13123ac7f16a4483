"""What the schema declares, checked against where the server can answer it. The fuzzing
tests (test_fuzz.py) then hold the server to these declarations."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from auth_api.app import create_app
from tests.conftest import isolated_settings, running
from tests.support.api import assert_problem, register

SCHEMA: dict[str, Any] = create_app(isolated_settings()).openapi()
OPERATIONS = [
    pytest.param(op, id=f"{method.upper()} {path}")
    for path, ops in SCHEMA["paths"].items()
    for method, op in ops.items()
]
# Where a request meets the rate limiter (429) or a backing server (503).
# Introspection and revocation throttle failed client credentials per address.
THROTTLED = {
    "register_auth_register_post",
    "login_auth_login_post",
    "introspect_token_auth_introspect_post",
    "revoke_token_auth_revoke_post",
    # The account lifecycle: every endpoint counts per account and per address.
    "verify_email_auth_email_verify_post",
    "resend_verification_auth_email_verify_resend_post",
    "forgot_password_auth_password_forgot_post",
    "reset_password_auth_password_reset_post",
    "change_password_auth_password_change_post",
    "change_email_auth_email_change_post",
    "confirm_email_change_auth_email_change_confirm_post",
    "delete_account_auth_me_delete",
    "export_account_auth_me_export_get",
}
NO_SERVER_NEEDED = {
    "jwks__well_known_jwks_json_get",
    "openid_configuration__well_known_openid_configuration_get",
    "live_health_live_get",
}


@pytest.mark.parametrize("model", ["RegisterRequest", "LoginRequest"])
def test_email_fields_are_declared_as_emails(model: str) -> None:
    email = SCHEMA["components"]["schemas"][model]["properties"]["email"]
    assert email["format"] == "email"


def test_a_new_password_declares_its_rules() -> None:
    password = SCHEMA["components"]["schemas"]["RegisterRequest"]["properties"]["password"]
    assert password["minLength"] == 8
    assert "WEAK_PASSWORD" in password["description"]


async def test_what_the_schema_calls_no_email_the_server_refuses() -> None:
    async with running(create_app(isolated_settings())) as api:
        body = assert_problem(await register(api, "000"), 422, "VALIDATION_FAILED")
    assert body["errors"][0]["field"] == "email"


@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_declares_the_size_refusals(operation: dict[str, Any]) -> None:
    # 413 from the body limit (any method), 431 from the HTTP server's head limit.
    for status in ("413", "431"):
        content = operation["responses"][status]["content"]
        assert "application/problem+json" in content


@pytest.mark.parametrize("operation", OPERATIONS)
def test_throttling_and_unavailability_are_declared_where_they_happen(
    operation: dict[str, Any],
) -> None:
    responses = operation["responses"]
    assert ("429" in responses) == (operation["operationId"] in THROTTLED)
    assert ("503" in responses) == (operation["operationId"] not in NO_SERVER_NEEDED)


async def test_a_get_with_an_oversized_body_gets_the_declared_413(api: httpx.AsyncClient) -> None:
    response = await api.request("GET", "/health/live", content=b"x" * 20_000)
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")
