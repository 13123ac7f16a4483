"""Hostile headers and paths, on the real servers: CR/LF never reaches a response header
or splits a log line, and odd session ids end no session and break nothing."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.robustness.conftest import Target
from tests.support.api import PASSWORD, assert_problem, bearer, unique_email
from tests.support.logs import CapturedLogs
from tests.support.sessions import logged_in

pytestmark = pytest.mark.integration

INJECTED = b"\r\nX-Injected: yes\r\nSet-Cookie: stolen=1"


def assert_not_injected(response: httpx.Response, logs: CapturedLogs) -> None:
    assert "x-injected" not in response.headers
    assert "stolen" not in response.headers.get("set-cookie", "")
    for name, value in response.headers.raw:
        assert b"\r" not in name + value
        assert b"\n" not in name + value
    for line in logs.text.splitlines():
        json.loads(line)  # a forged line would not be JSON
        assert not line.startswith(("X-Injected", "Set-Cookie"))


HEADERS = ["User-Agent", "X-Request-ID", "X-Forwarded-For", "X-Refresh-Cookie", "Origin"]


@pytest.mark.parametrize("header", HEADERS)
async def test_crlf_in_a_header_reaches_no_response_header_and_no_log_line(
    target: Target, json_logs: CapturedLogs, header: str
) -> None:
    email = unique_email("crlf")
    await target.api.post("/auth/register", json={"email": email, "password": PASSWORD})
    response = await target.api.post(
        "/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={header.encode(): b"value" + INJECTED},
    )
    assert response.status_code == 200, response.text
    assert_not_injected(response, json_logs)


async def test_crlf_in_the_stored_user_agent_stays_data(
    target: Target, json_logs: CapturedLogs
) -> None:
    agent = "agent" + INJECTED.decode()
    response = await target.api.post(
        "/auth/register", json={"email": unique_email(), "password": PASSWORD}
    )
    email = response.json()["email"]
    login = await target.api.post(
        "/auth/login",
        json={"email": email, "password": PASSWORD},
        headers={b"User-Agent": agent.encode()},
    )
    sessions = await target.api.get("/auth/sessions", headers=bearer(login.json()["access_token"]))
    assert [s["user_agent"] for s in sessions.json()] == [agent]  # JSON-escaped, verbatim
    assert_not_injected(sessions, json_logs)


@pytest.mark.parametrize(
    "value", ["a@example.com" + INJECTED.decode(), "a@example.com\nX-Injected: yes"]
)
async def test_crlf_in_a_body_value_reaches_no_header_and_no_log_line(
    target: Target, json_logs: CapturedLogs, value: str
) -> None:
    for path, body in (
        ("/auth/login", {"email": value, "password": PASSWORD}),
        ("/auth/refresh", {"refresh_token": value}),
    ):
        response = await target.api.post(path, json=body)
        assert 400 <= response.status_code < 500, response.text
        assert_not_injected(response, json_logs)


async def test_crlf_in_the_path_reaches_no_header_and_no_log_line(
    target: Target, json_logs: CapturedLogs
) -> None:
    response = await target.api.get("/auth/me%0d%0aX-Injected:%20yes")
    assert 400 <= response.status_code < 500
    assert_not_injected(response, json_logs)


ODD_SESSION_IDS = [
    "x.y",
    "sessions.x",
    "$gt",
    "$where",
    "__proto__",
    "%00",
    "%0d%0aX-Injected:%20yes",
    "%C3%A9",
    "%20",
    "a" * 4000,
]
# These leave the route: the client or the router resolves them to another path.
TRAVERSALS = ["..", "%2e%2e%2f%2e%2e%2fauth%2fme", "..%5c..%5cwindows", "a/b", "a%2fb"]


@pytest.mark.parametrize("session_id", ODD_SESSION_IDS + TRAVERSALS, ids=lambda s: s[:20])
async def test_odd_session_ids_end_nothing(target: Target, session_id: str) -> None:
    _, tokens = await logged_in(target.api)
    auth = bearer(str(tokens["access_token"]))
    before = (await target.api.get("/auth/sessions", headers=auth)).json()
    response = await target.api.delete(f"/auth/sessions/{session_id}", headers=auth)
    if session_id in ODD_SESSION_IDS:
        assert_problem(response, 404, "SESSION_NOT_FOUND")
    else:
        assert 400 <= response.status_code < 500, response.text
    assert (await target.api.get("/auth/sessions", headers=auth)).json() == before
    assert (await target.api.get("/auth/me", headers=auth)).status_code == 200


@pytest.mark.parametrize(
    "path", ["/..%2f..%2fpyproject.toml", "/%2e%2e/%2e%2e/pyproject.toml", "/..%5cREADME.md"]
)
async def test_the_web_page_serves_nothing_outside_its_directory(target: Target, path: str) -> None:
    response = await target.api.get(path)
    assert response.status_code == 404
    assert b"[project]" not in response.content
