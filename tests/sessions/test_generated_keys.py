"""With no key configured the service signs with an ES256 key it generates on first
start; replicas and restarts on one database share it (and the refresh rotation key),
and its public half is in the JWKS."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet as JoseKeySet
from pymongo import AsyncMongoClient

from auth_api.app import create_app
from auth_api.container import build_container
from auth_api.settings import Settings
from auth_api.store.key_store import KEY_COLLECTION
from auth_api.tokens.key_directory import KeyDirectory
from tests.conftest import running
from tests.support.forgery import parts
from tests.support.sessions import logged_in, me_status, refresh

SettingsFactory = Callable[..., Settings]
NO_KEY_SETTINGS: dict[str, Any] = {"jwt_secret": None, "jwt_algorithm": None, "jwt_keys_dir": None}


async def test_without_key_settings_tokens_are_es256_and_verify_with_the_jwks(
    api_settings: SettingsFactory,
) -> None:
    async with running(create_app(api_settings(**NO_KEY_SETTINGS))) as api:
        _, tokens = await logged_in(api)
        jwks = (await api.get("/.well-known/jwks.json")).json()
    [key] = jwks["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    assert "d" not in key  # the private half stays in the store
    token = jose_jwt.decode(
        str(tokens["access_token"]), JoseKeySet.import_key_set(jwks), algorithms=["ES256"]
    )
    assert token.header["kid"] == key["kid"]


@pytest.mark.parametrize(("algorithm", "kty"), [("EdDSA", "OKP"), ("RS256", "RSA")])
async def test_another_algorithm_generates_a_key_of_its_kind(
    make_settings: SettingsFactory, algorithm: str, kty: str
) -> None:
    settings = make_settings(**{**NO_KEY_SETTINGS, "jwt_algorithm": algorithm})
    async with running(create_app(settings)) as api:
        _, tokens = await logged_in(api)
        assert await me_status(api, str(tokens["access_token"])) == 200
        [key] = (await api.get("/.well-known/jwks.json")).json()["keys"]
    assert (key["kty"], key["alg"]) == (kty, algorithm)
    assert parts(str(tokens["access_token"]))[0]["kid"] == key["kid"]


async def test_replicas_starting_together_share_one_key(real_settings: SettingsFactory) -> None:
    settings = real_settings(**NO_KEY_SETTINGS)
    replicas = await asyncio.gather(*(build_container(settings) for _ in range(4)))
    try:
        kids = {replica.services.codec.keys.active.kid for replica in replicas}
        assert len(kids) == 1
        documents = await stored_key_documents(settings)
        assert sorted(doc["_id"] for doc in documents) == ["refresh-rotation", "signing-ES256"]
    finally:
        for replica in replicas:
            await replica.close()


async def test_a_restarted_replica_keeps_the_key_and_the_refresh_rotation(
    real_settings: SettingsFactory,
) -> None:
    settings = real_settings(**NO_KEY_SETTINGS, refresh_grace_seconds=30)
    async with running(create_app(settings)) as first:
        _, tokens = await logged_in(first)
        rotated = await refresh(first, str(tokens["refresh_token"]))
        assert rotated.status_code == 200
    async with running(create_app(settings)) as second:
        assert await me_status(second, str(tokens["access_token"])) == 200
        # A refresh retried on another replica (or after a restart) within the grace gets
        # the same successor: the rotation key is shared too.
        retried = await refresh(second, str(tokens["refresh_token"]))
        assert retried.status_code == 200
        assert retried.json()["refresh_token"] == rotated.json()["refresh_token"]
        jwks = (await second.get("/.well-known/jwks.json")).json()
    assert [key["kid"] for key in jwks["keys"]] == [parts(str(tokens["access_token"]))[0]["kid"]]


async def test_embedded_mode_generates_a_key_per_process(
    make_settings: SettingsFactory,
) -> None:
    kids = []
    for _ in range(2):
        async with running(create_app(make_settings(**NO_KEY_SETTINGS))) as api:
            kids.append((await api.get("/.well-known/jwks.json")).json()["keys"][0]["kid"])
    assert kids[0] != kids[1]  # nothing is kept in embedded mode, keys neither


async def test_a_key_directory_without_a_secret_keeps_only_the_rotation_key(
    real_settings: SettingsFactory, tmp_path: Path
) -> None:
    kid = KeyDirectory(tmp_path).generate("ES256", activate=True)
    settings = real_settings(**{**NO_KEY_SETTINGS, "jwt_keys_dir": tmp_path})
    async with running(create_app(settings)) as api:
        _, tokens = await logged_in(api)
        assert (await refresh(api, str(tokens["refresh_token"]))).status_code == 200
    assert parts(str(tokens["access_token"]))[0]["kid"] == kid
    assert [doc["_id"] for doc in await stored_key_documents(settings)] == ["refresh-rotation"]


async def test_a_secret_still_selects_hs256(api_settings: SettingsFactory) -> None:
    async with running(create_app(api_settings())) as api:
        _, tokens = await logged_in(api)
        jwks = (await api.get("/.well-known/jwks.json")).json()
        assert await me_status(api, str(tokens["access_token"])) == 200
    assert parts(str(tokens["access_token"]))[0]["alg"] == "HS256"
    assert jwks == {"keys": []}  # a shared secret is never published


async def stored_key_documents(settings: Settings) -> list[dict[str, Any]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url)
    try:
        return await client[settings.mongo_db][KEY_COLLECTION].find().to_list()
    finally:
        await client.close()
