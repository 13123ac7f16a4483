"""X-Request-ID: a safe incoming id is echoed, anything else replaced by a new one."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from auth_api.app import create_app
from auth_api.observability.request_id import accepted_request_id
from auth_api.settings import Settings
from tests.conftest import running

GENERATED = re.compile(r"[0-9a-f]{32}")


async def test_a_valid_incoming_id_is_echoed(make_settings: Callable[..., Settings]) -> None:
    async with running(create_app(make_settings())) as api:
        response = await api.get("/health/live", headers={"X-Request-ID": "edge-7f3a:42"})
    assert response.headers["x-request-id"] == "edge-7f3a:42"


async def test_an_id_is_generated_when_none_comes(
    make_settings: Callable[..., Settings],
) -> None:
    async with running(create_app(make_settings())) as api:
        first = await api.get("/health/live")
        second = await api.get("/auth/me")  # an error response carries one too
    ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
    assert all(GENERATED.fullmatch(value) for value in ids)
    assert ids[0] != ids[1]


async def test_an_unsafe_incoming_id_is_replaced(make_settings: Callable[..., Settings]) -> None:
    async with running(create_app(make_settings())) as api:
        response = await api.get("/health/live", headers={"X-Request-ID": 'a" b'})
    assert GENERATED.fullmatch(response.headers["x-request-id"])
    assert response.headers.get_list("x-request-id") == [response.headers["x-request-id"]]


@pytest.mark.parametrize(
    "value",
    [b"", b"x" * 65, b"-leading-dash", b"with space", b'quote"', b"cr\rlf\n", "é".encode()],
)
def test_unsafe_ids_are_refused(value: bytes) -> None:
    assert accepted_request_id(value) is None


@pytest.mark.parametrize("value", [b"a", b"x" * 64, b"0b7c1d2e-uuid-like", b"trace.span:1_2"])
def test_plain_bounded_ids_are_accepted(value: bytes) -> None:
    assert accepted_request_id(value) == value.decode()
