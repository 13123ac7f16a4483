"""/.well-known/openid-configuration: what a gateway or a stock OAuth/OIDC client reads
to find the JWKS, introspection and revocation, and what it finds there works."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.integrations.starlette_client import OAuth
from fastapi import FastAPI
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet as JoseKeySet

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.conftest import running
from tests.support.sessions import logged_in, me_status

SettingsFactory = Callable[..., Settings]
PUBLIC_URL = "https://auth.quiz.test"
CLIENT_ID, CLIENT_SECRET = "gateway", "gateway-client-secret-0123456789"
# As `make run` and compose sign by default: no key setting at all.
DEFAULT_KEYS = {"jwt_secret": None, "jwt_algorithm": None, "jwt_keys_dir": None}


@pytest.fixture
def app(api_settings: SettingsFactory) -> FastAPI:
    settings = api_settings(
        **DEFAULT_KEYS,
        public_url=PUBLIC_URL,
        jwt_issuer=PUBLIC_URL,  # an issuer OIDC discovery accepts: where it is served
        introspection_clients=[f"{CLIENT_ID}:{CLIENT_SECRET}"],
    )
    return create_app(settings)


@pytest.fixture
async def api(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


async def test_the_document_lists_the_endpoints_under_the_public_url(
    api: httpx.AsyncClient,
) -> None:
    response = await api.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    document = response.json()
    assert document["issuer"] == PUBLIC_URL
    assert document["jwks_uri"] == f"{PUBLIC_URL}/.well-known/jwks.json"
    assert document["introspection_endpoint"] == f"{PUBLIC_URL}/auth/introspect"
    assert document["revocation_endpoint"] == f"{PUBLIC_URL}/auth/revoke"
    assert document["id_token_signing_alg_values_supported"] == ["ES256"]
    assert document["introspection_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    assert document["revocation_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "none",
    ]
    assert document["token_endpoint_auth_methods_supported"] == ["none"]
    # Not an OpenID provider: no authorization endpoint, so no response type or grant.
    assert document["response_types_supported"] == []
    assert document["grant_types_supported"] == []
    assert "authorization_endpoint" not in document
    assert "token_endpoint" not in document


async def test_without_a_public_url_the_request_s_host_is_the_base(
    make_settings: SettingsFactory,
) -> None:
    async with running(create_app(make_settings())) as api:
        response = await api.get(
            "/.well-known/openid-configuration", headers={"Host": "auth.example:8443"}
        )
    document = response.json()
    assert document["jwks_uri"] == "http://auth.example:8443/.well-known/jwks.json"
    assert response.headers["cache-control"] == "no-store"  # it depends on the Host header
    assert document["issuer"] == "quizauth"  # as configured (README: "Discovery")
    assert document["id_token_signing_alg_values_supported"] == ["HS256"]


def stock_client(app: FastAPI) -> OAuth:
    """Authlib's OIDC client, configured only with the discovery URL."""
    oauth = OAuth()
    oauth.register(
        "quizauth",
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        server_metadata_url=f"{PUBLIC_URL}/.well-known/openid-configuration",
        client_kwargs={"transport": httpx.ASGITransport(app=app)},
    )
    return oauth


async def test_a_stock_oidc_client_discovers_the_jwks_and_verifies_a_token(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    _, tokens = await logged_in(api)
    client = stock_client(app).create_client("quizauth")
    metadata = await client.load_server_metadata()
    key_set = JoseKeySet.import_key_set(await client.fetch_jwk_set())
    algorithms = metadata["id_token_signing_alg_values_supported"]
    token = jose_jwt.decode(str(tokens["access_token"]), key_set, algorithms=algorithms)
    claims = jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": metadata["issuer"]},
        aud={"essential": True, "value": "quiz-services"},
        exp={"essential": True},
    )
    claims.validate(token.claims)
    assert token.header["typ"] == "at+jwt"


async def test_a_stock_oauth_client_revokes_and_introspects_where_discovery_says(
    app: FastAPI, api: httpx.AsyncClient
) -> None:
    _, tokens = await logged_in(api)
    access, refresh_token = str(tokens["access_token"]), str(tokens["refresh_token"])
    metadata = await stock_client(app).create_client("quizauth").load_server_metadata()
    transport = httpx.ASGITransport(app=app)
    async with AsyncOAuth2Client(CLIENT_ID, CLIENT_SECRET, transport=transport) as client:
        introspection = metadata["introspection_endpoint"]
        active = await client.introspect_token(introspection, token=access)
        assert active.json()["active"] is True
        revoked = await client.revoke_token(
            metadata["revocation_endpoint"], token=refresh_token, token_type_hint="refresh_token"
        )
        assert (revoked.status_code, revoked.content) == (200, b"")
        inactive = await client.introspect_token(introspection, token=access)
        assert inactive.json() == {"active": False}
    assert await me_status(api, access) == 401
