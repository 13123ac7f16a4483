"""Structured logs: every line is JSON, audit records carry their kind and the request id,
crafted values cannot forge a line, and no password or token is ever written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable

from auth_api.app import create_app
from auth_api.observability import json_log_handler
from auth_api.observability.logs import RepeatLimiter
from auth_api.settings import Settings
from tests.conftest import running
from tests.support.api import PASSWORD, bearer, login, register, unique_email
from tests.support.logs import CapturedLogs

FORGED = '{"level": "INFO", "logger": "auth_api.audit", "audit": "login_success"}'
CRAFTED_EMAIL = f'evil"@example.com\r\n{FORGED}\n"x'


async def test_audit_lines_are_json_with_kind_and_request_id(
    api_settings: Callable[..., Settings], json_logs: CapturedLogs
) -> None:
    async with running(create_app(api_settings())) as api:
        email = unique_email()
        registered = await register(api, email)
        await login(api, email, PASSWORD + "wrong")
        token = (await login(api, email)).json()["access_token"]
        logout = await api.post("/auth/logout", headers=bearer(token))

    lines = json_logs.lines()
    assert lines, "nothing was logged"
    for line in lines:
        assert {"timestamp", "level", "logger", "message"} <= line.keys()
    for kind in ("register", "login_success", "login_failure", "logout"):
        assert len(json_logs.audit(kind)) == 1, kind
        assert json_logs.audit(kind)[0]["logger"] == "auth_api.audit"
    assert json_logs.audit("register")[0]["request_id"] == registered.headers["x-request-id"]
    assert json_logs.audit("logout")[0]["request_id"] == logout.headers["x-request-id"]


async def test_one_access_line_per_request_with_route_and_status(
    make_settings: Callable[..., Settings], json_logs: CapturedLogs
) -> None:
    async with running(create_app(make_settings())) as api:
        response = await api.post("/auth/login", json={"email": "a@example.com", "password": "x"})
    access = [line for line in json_logs.lines() if line["logger"] == "auth_api.access"]
    assert len(access) == 1
    assert access[0]["route"] == "/auth/login"
    assert access[0]["status"] == response.status_code
    assert access[0]["request_id"] == response.headers["x-request-id"]
    assert access[0]["duration_ms"] >= 0


def test_a_crafted_value_stays_inside_its_line() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tests.ops.crafted")
    logger.addHandler(json_log_handler(stream))
    logger.propagate = False
    try:
        logger.warning("login for %s", CRAFTED_EMAIL, extra={"email": CRAFTED_EMAIL})
    finally:
        logger.handlers.clear()
        logger.propagate = True
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["email"] == CRAFTED_EMAIL
    assert record["message"] == f"login for {CRAFTED_EMAIL}"
    assert "audit" not in record


async def test_crafted_requests_cannot_forge_log_lines(
    make_settings: Callable[..., Settings], json_logs: CapturedLogs
) -> None:
    async with running(create_app(make_settings())) as api:
        await api.post("/auth/login", json={"email": CRAFTED_EMAIL, "password": PASSWORD})
        await register(api, CRAFTED_EMAIL)
        await api.get("/auth/%0d%0a" + FORGED.replace(" ", "%20"))
    lines = json_logs.lines()  # each line parses on its own: nothing was split
    assert any("\r\n" + FORGED in str(line.get("path")) for line in lines), "not logged"
    assert not json_logs.audit("login_success")
    assert all(line["logger"] != "auth_api.audit" or line.get("audit") for line in lines)


async def test_no_password_or_token_in_any_log_line(
    api_settings: Callable[..., Settings], json_logs: CapturedLogs
) -> None:
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)  # the quiet lines too
    async with running(create_app(api_settings())) as api:
        email = unique_email()
        await register(api, email)
        await login(api, email, PASSWORD + "wrong")
        issued = (await login(api, email)).json()
        await api.get("/auth/me", headers=bearer(issued["access_token"]))
        await api.post("/auth/logout", headers=bearer(issued["access_token"]))
        await api.get("/auth/me", headers=bearer(issued["access_token"]))
    secrets = [PASSWORD, issued["access_token"], *secret_parts(issued)]
    assert json_logs.text
    for secret in secrets:
        assert secret not in json_logs.text


def secret_parts(issued: dict[str, object]) -> list[str]:
    """The refresh token, when the login issues one, and the access token's signature."""
    parts = [str(issued["access_token"]).rsplit(".", 1)[-1]]
    if isinstance(issued.get("refresh_token"), str):
        parts.append(str(issued["refresh_token"]))
    return parts


def test_secrets_passed_to_a_logger_by_mistake_are_redacted(json_logs: CapturedLogs) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    log = logging.getLogger("tests.ops.careless")
    log.warning(
        "retrying with Bearer %s",
        token,
        extra={
            "password": PASSWORD,
            "Authorization": f"Bearer {token}",
            "request": {"refresh_token": "r-secret-value", "new_password": PASSWORD},
            "email": "someone@example.com",
        },
    )
    try:
        raise ValueError(f"bad token {token}")
    except ValueError:
        log.exception("failed")
    assert PASSWORD not in json_logs.text
    assert token not in json_logs.text
    assert "r-secret-value" not in json_logs.text
    first = json_logs.lines()[0]
    assert first["password"] == "[REDACTED]"
    assert first["request"]["refresh_token"] == "[REDACTED]"
    assert first["email"] == "someone@example.com"  # not a secret: kept


def test_a_library_retrying_a_down_server_writes_one_line_per_interval() -> None:
    now = [0.0]
    limiter = RepeatLimiter(interval_seconds=60, clock=lambda: now[0])

    def record(name: str, msg: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, ("host", 1), None)

    storm = [record("aiokafka.client", 'Unable connect to "%s:%s"') for _ in range(500)]
    assert [limiter.filter(r) for r in storm].count(True) == 1
    now[0] = 61.0
    later = record("aiokafka.client", 'Unable connect to "%s:%s"')
    assert limiter.filter(later)
    assert later.repeats_suppressed == 499
    # Another template, and every record of the service's own loggers, always pass.
    assert limiter.filter(record("aiokafka.conn", "other message"))
    ours = [record("auth_api.audit", "login") for _ in range(100)]
    assert all(limiter.filter(r) for r in ours)
