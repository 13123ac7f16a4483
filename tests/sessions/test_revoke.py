"""POST /auth/revoke (RFC 7009): an access token ends like a logout with it, a refresh
token ends its session; service credentials may revoke any token, and without them the
token proves itself. Every token, valid or not, gets 200 and an empty body; a token that
is not a live one of ours changes nothing."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.conftest import client_at, running
from tests.support.api import assert_problem, bearer
from tests.support.forgery import parts
from tests.support.logs import CapturedLogs
from tests.support.sessions import delivered_events, logged_in, me_status, refresh

SettingsFactory = Callable[..., Settings]
CLIENT_SECRET = "revocation-client-secret-0123456789"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def basic(secret: str = CLIENT_SECRET) -> dict[str, str]:
    raw = base64.b64encode(f"gateway:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def revoke(
    api: httpx.AsyncClient, headers: dict[str, str] | None = None, **form: str
) -> httpx.Response:
    return await api.post(
        "/auth/revoke", content=urlencode(form), headers={**FORM, **(headers or {})}
    )


def assert_revoked_answer(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"


async def session(api: httpx.AsyncClient, email: str | None = None) -> tuple[str, str, str]:
    """A new login: the email, its access token and its refresh token."""
    email, tokens = await logged_in(api, email)
    return email, str(tokens["access_token"]), str(tokens["refresh_token"])


@pytest.fixture
def app(api_settings: SettingsFactory) -> FastAPI:
    return create_app(api_settings(introspection_clients=[f"gateway:{CLIENT_SECRET}"]))


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
async def test_a_client_revokes_its_access_token_like_a_logout(
    api: httpx.AsyncClient, hint: str | None
) -> None:
    email, access, refresh_token = await session(api)
    _, other_access, other_refresh = await session(api, email)
    form = {"token": access} | ({"token_type_hint": hint} if hint else {})
    assert_revoked_answer(await revoke(api, **form))
    assert await me_status(api, access) == 401
    assert (await refresh(api, refresh_token)).status_code == 401  # its session ended
    assert await me_status(api, other_access) == 200  # the user's other session did not
    assert (await refresh(api, other_refresh)).status_code == 200


async def test_an_access_token_may_also_come_as_its_own_bearer(api: httpx.AsyncClient) -> None:
    _, access, _ = await session(api)
    assert_revoked_answer(await revoke(api, bearer(access), token=access))
    assert await me_status(api, access) == 401


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token"])
async def test_revoking_a_refresh_token_ends_its_session_and_its_access_tokens(
    app: FastAPI, api: httpx.AsyncClient, hint: str | None
) -> None:
    email, access, refresh_token = await session(api)
    _, other_access, _ = await session(api, email)
    form = {"token": refresh_token} | ({"token_type_hint": hint} if hint else {})
    assert_revoked_answer(await revoke(api, **form))
    assert_problem(await refresh(api, refresh_token), 401, "INVALID_REFRESH_TOKEN")
    assert await me_status(api, access) == 401
    assert await me_status(api, other_access) == 200
    revoked = await delivered_events(app, "session.revoked")
    [event] = [e for e in revoked if e["data"]["reason"] == "revoked"]
    assert event["data"]["session_ids"] == [parts(access)[1]["sid"]]


async def test_a_service_with_credentials_revokes_anyone_s_tokens(
    api: httpx.AsyncClient, json_logs: CapturedLogs
) -> None:
    _, access, refresh_token = await session(api)
    _, other_access, _ = await session(api)
    assert_revoked_answer(await revoke(api, basic(), token=access))
    assert_revoked_answer(await revoke(api, basic(), token=refresh_token))
    assert await me_status(api, access) == 401
    assert await me_status(api, other_access) == 200
    # The audit log says who revoked what; only the first revocation found a live token
    # (the logout with the access token had already ended the refresh token's session).
    [line] = json_logs.audit("token_revoked")
    assert (line["revoked_type"], line["client_id"]) == ("access_token", "gateway")
    assert access not in json_logs.text
    assert refresh_token not in json_logs.text


async def test_wrong_credentials_are_refused_and_revoke_nothing(api: httpx.AsyncClient) -> None:
    _, access, _ = await session(api)
    refused = await revoke(api, basic("wrong-secret-0123456789"), token=access)
    assert assert_problem(refused, 401, "INVALID_CLIENT")["error"] == "invalid_client"
    other_scheme = await revoke(api, {"Authorization": "Digest x"}, token=access)
    assert_problem(other_scheme, 401, "INVALID_CLIENT")
    assert await me_status(api, access) == 200


async def test_failed_credentials_share_the_introspection_budget(
    api_settings: SettingsFactory,
) -> None:
    settings = api_settings(
        introspection_clients=[f"gateway:{CLIENT_SECRET}"], introspection_failure_limit=2
    )
    app = create_app(settings)
    async with running(app, ip="198.51.100.70") as guesser:
        _, access, _ = await session(guesser)
        for n in range(2):
            assert_problem(
                await revoke(guesser, basic(f"guess-{n:020d}"), token="x"), 401, "INVALID_CLIENT"
            )
        throttled = await guesser.post("/auth/introspect", content="token=x", headers=basic())
        assert_problem(throttled, 429, "RATE_LIMITED")
        assert_problem(await revoke(guesser, basic(), token=access), 429, "RATE_LIMITED")
        # Without credentials nothing is guessed: a client revoking its own token is
        # never throttled, however its address fared.
        assert_revoked_answer(await revoke(guesser, token=access))
        assert await me_status(guesser, access) == 401
        async with client_at(app, "203.0.113.9") as service:
            assert_revoked_answer(await revoke(service, basic(), token="x"))


async def test_a_token_that_is_not_live_gets_200_and_changes_nothing(
    api: httpx.AsyncClient,
) -> None:
    _, access, refresh_token = await session(api)
    user_id, session_id, secret = refresh_token.split(".")
    not_live = [
        "garbage",
        "a.b.c",
        access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB"),  # forged
        f"{user_id}.{session_id}.{'0' * len(secret)}",  # right session, wrong secret
        f"{user_id}.{'0' * len(session_id)}.{secret}",  # no such session
        "x" * 5000,
    ]
    for token in not_live:
        for form in ({"token": token}, {"token": token, "token_type_hint": "refresh_token"}):
            assert_revoked_answer(await revoke(api, **form))
            assert_revoked_answer(await revoke(api, basic(), **form))
    assert await me_status(api, access) == 200
    rotated = await refresh(api, refresh_token)
    assert rotated.status_code == 200
    # A spent refresh token is already dead: revoking it leaves its successor alone.
    assert_revoked_answer(await revoke(api, token=refresh_token))
    assert (await refresh(api, rotated.json()["refresh_token"])).status_code == 200
    sessions = (await api.get("/auth/sessions", headers=bearer(access))).json()
    assert [s["id"] for s in sessions] == [session_id]


async def test_revoking_twice_is_still_200(api: httpx.AsyncClient) -> None:
    _, access, refresh_token = await session(api)
    for token in (access, refresh_token, access, refresh_token):
        assert_revoked_answer(await revoke(api, token=token))


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", "invalid_request"),
        (b"token=", "invalid_request"),
        (b"token=a&token=b", "invalid_request"),
        (b"token=a&token_type_hint=access_token&token_type_hint=refresh_token", "invalid_request"),
        (b"token=\xff\xfe", "invalid_request"),
        (b"token=a&token_type_hint=id_token", "unsupported_token_type"),
        (b"token=a&token_type_hint=", "unsupported_token_type"),
    ],
)
async def test_bad_requests_are_400_and_revoke_nothing(
    api: httpx.AsyncClient, content: bytes, error: str
) -> None:
    _, access, _ = await session(api)
    body = content.replace(b"token=a", b"token=" + access.encode())
    response = await api.post("/auth/revoke", content=body, headers=FORM)
    code = "UNSUPPORTED_TOKEN_TYPE" if error == "unsupported_token_type" else "MALFORMED_REQUEST"
    assert assert_problem(response, 400, code)["error"] == error
    assert await me_status(api, access) == 200
