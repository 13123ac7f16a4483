"""Property-based fuzzing from the OpenAPI schema the app serves, with every check
Schemathesis has: no server errors, responses (status, content type, headers, body) as
documented, invalid input rejected, valid input accepted, and authentication enforced
wherever the schema declares it. Runs in-process, embedded and on the real servers."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.robustness.asgi_target import AppUnderTest
from tests.robustness.conftest import settings_for
from tests.support.api import PASSWORD, unique_email

CLIENT_ID, CLIENT_SECRET = "fuzz-client", "fuzz-client-secret-0123456789"
BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
# Stands for a fresh access token until the case runs: the provider is also asked while
# tests are collected, before any app exists.
FRESH_BEARER = "Bearer <fresh access token>"

# Shared with `st run`: what counts as a refusal, and why registration may refuse
# schema-valid input (see the file).
CONFIG = schemathesis.Config.from_path(str(Path(__file__).parents[2] / "schemathesis.toml"))
# No server is contacted here: the schema comes from an app whose lifespan never starts.
TARGET = AppUnderTest(create_app(settings_for()))
schema = schemathesis.openapi.from_asgi("/openapi.json", TARGET, config=CONFIG)


class Account:
    """The fuzzing user; logs in afresh for each case, since the fuzzer may log out."""

    client: asgi.ASGIClient | None = None
    email = ""

    @classmethod
    def tokens(cls) -> dict[str, Any]:
        assert cls.client is not None, "the fuzz_app fixture sets the account up"
        with cls.client as client:
            response = client.post("/auth/login", json=cls.credentials())
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    @classmethod
    def credentials(cls) -> dict[str, str]:
        return {"email": cls.email, "password": PASSWORD}


REALISTIC: dict[str, Callable[[], dict[str, Any]]] = {
    "/auth/register": lambda: {"email": unique_email("fuzz")},
    "/auth/login": Account.credentials,
    "/auth/refresh": lambda: {"refresh_token": Account.tokens()["refresh_token"]},
}


@schema.auth(refresh_interval=None)
class Credentials:
    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str | None:
        schemes = {
            name for req in case.operation.definition.raw.get("security", []) for name in req
        }
        if "IntrospectionClient" in schemes:
            return BASIC
        return FRESH_BEARER if "HTTPBearer" in schemes else None

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = data


@pytest.fixture
def fuzz_app(api_settings: Callable[..., Settings]) -> Iterator[None]:
    settings_ = api_settings(
        login_ip_limit=100_000,
        register_ip_limit=100_000,
        register_global_limit=100_000,
        # The authentication checks send wrong credentials on purpose, many times.
        introspection_failure_limit=100_000,
        introspection_clients=[f"{CLIENT_ID}:{CLIENT_SECRET}"],
    )
    app = create_app(settings_)
    client = asgi.get_client(app)
    email = unique_email("fuzz")
    with client:  # starts the app's lifespan, kept until shutdown_lifespans()
        served = client.get("/openapi.json").json()
        registered = client.post("/auth/register", json={"email": email, "password": PASSWORD})
    assert served == schema.raw_schema, "the app must serve the schema being fuzzed"
    assert registered.status_code == 201, registered.text
    Account.client, Account.email, TARGET.target = client, email, app
    try:
        yield
    finally:
        Account.client = None
        asgi.shutdown_lifespans()


FUZZ_SETTINGS = settings(
    max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


@FUZZ_SETTINGS
@schema.parametrize()
def test_the_api_keeps_the_promises_of_its_schema(case: schemathesis.Case, fuzz_app: None) -> None:
    call_and_validate(case)


@FUZZ_SETTINGS
# exclude(), not include(): with per-operation config, include() adds to what is kept.
@schema.exclude(path_regex="^(?!/auth/(register|login|refresh)$)").parametrize()
def test_success_paths_keep_the_promises_too(case: schemathesis.Case, fuzz_app: None) -> None:
    """Random emails are undeliverable, random credentials unknown and random refresh
    tokens forged: here schema-valid requests carry ones that exist."""
    if is_schema_valid(case) and isinstance(case.body, dict):
        case.body.update(REALISTIC[case.operation.path]())
    call_and_validate(case)


def call_and_validate(case: schemathesis.Case) -> None:
    if case.headers.get("Authorization") == FRESH_BEARER:
        case.headers["Authorization"] = f"Bearer {Account.tokens()['access_token']}"
    response = case.call_and_validate()
    refused = response.status_code == 422 and is_schema_valid(case)
    if refused and case.operation.path == "/auth/register":
        assert_policy_rejection(response.json())


def is_schema_valid(case: schemathesis.Case) -> bool:
    return case.meta is not None and case.meta.generation.mode.is_positive


def assert_policy_rejection(problem: dict[str, Any]) -> None:
    """A registration refused for the policy, not for anything the schema states."""
    fields = {error["field"] for error in problem["errors"]}
    assert problem["code"] == "WEAK_PASSWORD" or fields == {"email"}, problem
