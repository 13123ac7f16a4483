"""Hostile bodies for every JSON endpoint, on the real servers. test_limits_and_input.py
covers registration's basic cases; here every endpoint, the database's view of what was
stored, and bodies built to hurt parsers. Every answer is a 4xx, never a 5xx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.robustness.conftest import Target
from tests.support.api import PASSWORD, assert_problem, unique_email

pytestmark = pytest.mark.integration

JSON_ENDPOINTS = ["/auth/register", "/auth/login", "/auth/refresh"]
STRING_FIELDS = {
    "/auth/register": ["email", "password", "display_name"],
    "/auth/login": ["email", "password"],
    "/auth/refresh": ["refresh_token"],
}
HOSTILE_VALUES = [
    {"$gt": ""},
    {"$ne": None},
    {"$where": "sleep(1000)"},
    {"$regex": ".*"},
    ["a@example.com"],
    [{"$gt": ""}],
    12345678,
    True,
    None,
]


def valid_body(path: str, email: str) -> dict[str, Any]:
    if path == "/auth/refresh":
        return {"refresh_token": "user.session.secret"}
    body = {"email": email, "password": PASSWORD}
    return {**body, "display_name": "Dee"} if path == "/auth/register" else body


@pytest.fixture(scope="module")
async def member(target: Target) -> str:
    """A registered user, whom an operator smuggled into a query would match."""
    email = unique_email("member")
    response = await target.api.post("/auth/register", json=valid_body("/auth/register", email))
    assert response.status_code == 201, response.text
    return email


# display_name is optional: null is its absence, not an attack.
HOSTILE_BODIES = [
    pytest.param(path, field, value, id=f"{path}-{field}-{value!r}")
    for path, fields in STRING_FIELDS.items()
    for field in fields
    for value in HOSTILE_VALUES
    if not (field == "display_name" and value is None)
]


@pytest.mark.parametrize(("path", "field", "value"), HOSTILE_BODIES)
async def test_operators_and_arrays_where_strings_belong_are_422(
    target: Target, member: str, path: str, field: str, value: object
) -> None:
    body = {**valid_body(path, member), field: value}
    response = await target.api.post(path, json=body)
    problem = assert_problem(response, 422, "VALIDATION_FAILED")
    assert [error["field"] for error in problem["errors"]] == [field]


MASS_ASSIGNMENT = {
    "role": "admin",
    "roles": ["admin"],
    "id": "chosen-id",
    "_id": "chosen-id",
    "password_hash": "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA",
    "is_active": True,
    "email_normalized": "someone.else@example.com",
    "sessions": {"s": {}},
    "outbox": [],
}


@pytest.mark.parametrize(("name", "value"), MASS_ASSIGNMENT.items(), ids=MASS_ASSIGNMENT.keys())
async def test_mass_assignment_is_422_and_stores_nothing(
    target: Target, name: str, value: object
) -> None:
    email = unique_email("mass")
    body = {**valid_body("/auth/register", email), name: value}
    assert_problem(await target.api.post("/auth/register", json=body), 422, "VALIDATION_FAILED")
    assert await target.db["users"].count_documents({"email": email}) == 0
    assert await target.db["users"].count_documents({"_id": "chosen-id"}) == 0


async def test_a_stored_user_has_only_what_the_service_set(target: Target) -> None:
    email = unique_email("plain")
    response = await target.api.post("/auth/register", json=valid_body("/auth/register", email))
    assert response.status_code == 201, response.text
    stored = await target.db["users"].find_one({"email": email})
    assert stored is not None
    assert (stored["roles"], stored["is_active"], stored["_id"]) == (
        ["user"],
        True,
        response.json()["id"],
    )
    assert stored["password_hash"].startswith("$argon2id$")


@pytest.mark.parametrize("path", ["/auth/login", "/auth/refresh"])
async def test_extra_fields_on_the_other_endpoints_are_422(target: Target, path: str) -> None:
    body = {**valid_body(path, unique_email()), "role": "admin"}
    assert_problem(await target.api.post(path, json=body), 422, "VALIDATION_FAILED")


@pytest.mark.parametrize(
    ("path", "field"), [(p, f) for p, fields in STRING_FIELDS.items() for f in fields]
)
async def test_very_long_strings_are_4xx(target: Target, path: str, field: str) -> None:
    body = {**valid_body(path, unique_email()), field: "é" * 5000}  # 10 KB of UTF-8
    response = await target.api.post(path, json=body)
    assert_problem(response, 422, "VALIDATION_FAILED")
    huge = {**body, field: "a" * 100_000}
    assert_problem(await target.api.post(path, json=huge), 413, "PAYLOAD_TOO_LARGE")


NOT_UTF8 = [b"\xff\xfe\xfd", b'{"email": "\xc3\x28@example.com", "password": "x"}', b"\x80{}"]


@pytest.mark.parametrize("content", NOT_UTF8)
@pytest.mark.parametrize("path", JSON_ENDPOINTS)
async def test_bodies_that_are_not_utf8_are_400(target: Target, path: str, content: bytes) -> None:
    response = await post_raw(target.api, path, content)
    assert response.status_code == 400, response.text
    assert response.json()["code"] in {"MALFORMED_JSON", "MALFORMED_REQUEST"}


async def post_raw(
    api: httpx.AsyncClient, path: str, content: bytes, content_type: str | None = "application/json"
) -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return await api.post(path, content=content, headers=headers)


# Within the 16 KB body limit, so the parser, not the size check, meets them.
JSON_BOMBS = {
    "deep arrays": b"[" * 7000 + b"]" * 7000,
    "deep objects": b'{"a":' * 2500 + b"1" + b"}" * 2500,
    "deep value": b'{"email":' + b"[" * 6000 + b"]" * 6000 + b', "password": "x"}',
    "5000-digit number": b'{"email": ' + b"9" * 5000 + b', "password": "x"}',
    "overflowing float": b'{"email": 1e999999, "password": "x"}',
    "NaN": b'{"email": NaN, "password": "x"}',
    "many keys": b"{" + b",".join(b'"k%d": 0' % i for i in range(1500)) + b"}",
}


@pytest.mark.parametrize("content", JSON_BOMBS.values(), ids=JSON_BOMBS.keys())
@pytest.mark.parametrize("path", JSON_ENDPOINTS)
async def test_json_bombs_are_4xx(target: Target, path: str, content: bytes) -> None:
    response = await post_raw(target.api, path, content)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"


WRONG_TYPES = [
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "application/xml",
    None,
]


@pytest.mark.parametrize("content_type", WRONG_TYPES)
async def test_credentials_in_another_content_type_do_not_log_in(
    target: Target, member: str, content_type: str | None
) -> None:
    """A cross-site form can send text/plain or form data without a CORS preflight:
    such a body must never be read as JSON, even when it is JSON."""
    content = httpx.Request("POST", "/", json=valid_body("/auth/login", member)).content
    response = await post_raw(target.api, "/auth/login", content, content_type)
    assert_problem(response, 422, "VALIDATION_FAILED")


@pytest.mark.parametrize("content_type", WRONG_TYPES)
async def test_registration_in_another_content_type_stores_nothing(
    target: Target, content_type: str | None
) -> None:
    email = unique_email("typed")
    content = httpx.Request("POST", "/", json=valid_body("/auth/register", email)).content
    response = await post_raw(target.api, "/auth/register", content, content_type)
    assert_problem(response, 422, "VALIDATION_FAILED")
    assert await target.db["users"].count_documents({"email": email}) == 0


async def test_introspection_refuses_json(target: Target) -> None:
    # Without configured clients every caller is refused first; the content type
    # must not change that into anything but the 401.
    response = await post_raw(target.api, "/auth/introspect", b'{"token": "x"}')
    assert_problem(response, 401, "INVALID_CLIENT")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/auth/logout", "POST"),
        ("OPTIONS", "/auth/register", "POST"),
        ("PUT", "/auth/me", "DELETE, GET"),
        ("PUT", "/auth/sessions/some-id", "DELETE"),
        ("POST", "/.well-known/jwks.json", "GET"),
    ],
)
async def test_a_method_an_api_path_lacks_is_405_listing_the_right_ones(
    target: Target, method: str, path: str, allow: str
) -> None:
    """Not the web page's answer (it is mounted at `/` and only knows GET and HEAD)."""
    response = await target.api.request(method, path)
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == allow
