"""Public-key signing: key rotation, the JWKS checked by an independent JOSE library,
and introspection."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from joserfc import jwt as jose_jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet as JoseKeySet

from auth_api.app import create_app
from auth_api.settings import Settings
from auth_api.tokens.key_directory import KeyDirectory
from tests.conftest import running
from tests.support.api import assert_problem, bearer
from tests.support.forgery import parts
from tests.support.polling import eventually
from tests.support.sessions import logged_in, me_status

SettingsFactory = Callable[..., Settings]
CLIENT_SECRET = "introspection-secret-0123456789"


def asymmetric(factory: SettingsFactory, keys: Path, **extra: object) -> Settings:
    return factory(jwt_algorithm="ES256", jwt_keys_dir=keys, **extra)


@pytest.mark.parametrize("algorithm", ["ES256", "EdDSA", "RS256"])
async def test_jwks_verifies_tokens_with_an_independent_library(
    api_settings: SettingsFactory, tmp_path: Path, algorithm: str
) -> None:
    KeyDirectory(tmp_path).generate(algorithm, activate=True)
    async with running(create_app(asymmetric(api_settings, tmp_path))) as api:
        _, tokens = await logged_in(api)
        response = await api.get("/.well-known/jwks.json")
    assert "max-age" in response.headers["cache-control"]
    jwks = response.json()
    assert all("d" not in key for key in jwks["keys"])  # no private material
    keys = JoseKeySet.import_key_set(jwks)
    if algorithm == "EdDSA":
        # RFC 9864 deprecates the name "EdDSA" for "Ed25519"; PyJWT signs only the former.
        with pytest.warns(SecurityWarning):
            token = jose_jwt.decode(str(tokens["access_token"]), keys, algorithms=[algorithm])
    else:
        token = jose_jwt.decode(str(tokens["access_token"]), keys, algorithms=[algorithm])
    assert token.header["alg"] == algorithm
    assert token.claims["token_type"] == "access"
    assert token.claims["exp"] > time.time()


async def test_key_rotation_keeps_old_tokens_valid(
    real_settings: SettingsFactory, tmp_path: Path
) -> None:
    # Real servers: the user must outlive the three app instances.
    api_settings = real_settings
    directory = KeyDirectory(tmp_path)
    old_kid = directory.generate("ES256", activate=True)
    async with running(create_app(asymmetric(api_settings, tmp_path))) as before:
        email, old_tokens = await logged_in(before)
    new_kid = directory.generate("ES256", activate=True)
    async with running(create_app(asymmetric(api_settings, tmp_path))) as after:
        kids = {key["kid"] for key in (await after.get("/.well-known/jwks.json")).json()["keys"]}
        assert kids == {old_kid, new_kid}
        assert await me_status(after, str(old_tokens["access_token"])) == 200
        _, new_tokens = await logged_in(after, email)
        header, _ = parts(str(new_tokens["access_token"]))
        assert header["kid"] == new_kid
    directory.retire(old_kid)
    async with running(create_app(asymmetric(api_settings, tmp_path))) as retired:
        assert await me_status(retired, str(old_tokens["access_token"])) == 401
        assert await me_status(retired, str(new_tokens["access_token"])) == 200


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def introspect(
    api: httpx.AsyncClient, token: str, secret: str = CLIENT_SECRET
) -> httpx.Response:
    return await api.post(
        "/auth/introspect",
        content=f"token={token}",
        headers={
            **basic("quiz-service", secret),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )


async def test_introspection(api_settings: SettingsFactory) -> None:
    settings = api_settings(introspection_clients=[f"quiz-service:{CLIENT_SECRET}"])
    async with running(create_app(settings)) as api:
        _, tokens = await logged_in(api)
        access = str(tokens["access_token"])
        active = (await introspect(api, access)).json()
        assert active["active"] is True
        assert active["token_type"] == "access_token"
        assert {"sub", "exp", "iat", "iss", "aud", "jti", "sid"} <= set(active)
        forged = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
        assert (await introspect(api, forged)).json() == {"active": False}
        assert (await introspect(api, "garbage")).json() == {"active": False}
        await api.post("/auth/logout", headers=bearer(access))
        assert (await introspect(api, access)).json() == {"active": False}
        assert_problem(
            await introspect(api, access, "wrong-secret-0123456789"), 401, "INVALID_CLIENT"
        )
        missing = await api.post(
            "/auth/introspect", content="", headers=basic("quiz-service", CLIENT_SECRET)
        )
        assert_problem(missing, 400, "MALFORMED_REQUEST")


async def test_introspection_reports_expired_tokens_inactive(
    api_settings: SettingsFactory,
) -> None:
    settings = api_settings(
        introspection_clients=[f"quiz-service:{CLIENT_SECRET}"],
        access_token_ttl_seconds=1,
        jwt_leeway_seconds=0,
    )
    async with running(create_app(settings)) as api:
        _, tokens = await logged_in(api)
        time.sleep(2.1)  # noqa: ASYNC251 - the token must age; nothing else runs meanwhile
        assert (await introspect(api, str(tokens["access_token"]))).json() == {"active": False}


async def test_introspection_without_configured_clients_is_refused(
    make_settings: SettingsFactory,
) -> None:
    async with running(create_app(make_settings())) as api:
        assert_problem(await introspect(api, "x"), 401, "INVALID_CLIENT")


async def jwks_kids(api: httpx.AsyncClient) -> set[str]:
    return {key["kid"] for key in (await api.get("/.well-known/jwks.json")).json()["keys"]}


async def test_a_rotation_takes_effect_without_a_restart(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    directory = KeyDirectory(tmp_path)
    old_kid = directory.generate("ES256", activate=True)
    settings = asymmetric(make_settings, tmp_path, jwt_keys_reload_seconds=0.05)
    async with running(create_app(settings)) as api:
        email, old_tokens = await logged_in(api)
        new_kid = directory.generate("ES256", activate=False)

        async def published() -> bool:
            return await jwks_kids(api) == {old_kid, new_kid}

        await eventually(published, 10, "the new key in the JWKS")
        directory.activate(new_kid)

        async def signing_with_the_new_key() -> bool:
            _, tokens = await logged_in(api, email)
            return parts(str(tokens["access_token"]))[0]["kid"] == new_kid

        await eventually(signing_with_the_new_key, 10, "tokens signed with the new key")
        assert await me_status(api, str(old_tokens["access_token"])) == 200
        (tmp_path / "keys.json").write_text("{broken")
        await asyncio.sleep(0.2)  # several checks: each sees the broken file
        assert await jwks_kids(api) == {old_kid, new_kid}
        assert await me_status(api, str(old_tokens["access_token"])) == 200


async def test_sighup_reloads_the_keys_at_once(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    directory = KeyDirectory(tmp_path)
    old_kid = directory.generate("ES256", activate=True)
    # No periodic check: only the signal can make the new key appear.
    settings = asymmetric(make_settings, tmp_path, jwt_keys_reload_seconds=0)
    async with running(create_app(settings)) as api:
        new_kid = directory.generate("ES256", activate=True)
        await asyncio.sleep(0.1)
        assert await jwks_kids(api) == {old_kid}
        # The app's handler must be in place: the default action of SIGHUP ends the process.
        assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        os.kill(os.getpid(), signal.SIGHUP)

        async def reloaded() -> bool:
            return await jwks_kids(api) == {old_kid, new_kid}

        await eventually(reloaded, 10, "the keys reloaded on SIGHUP")
