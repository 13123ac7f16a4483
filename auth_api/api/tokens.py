"""Public keys, discovery, introspection and revocation: how other services check our
tokens and end them."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security.http import HTTPBase

from auth_api.api.deps import ClientIpDep, ServicesDep, SettingsDep
from auth_api.api.token_schemas import IntrospectionResponse, KeySetResponse
from auth_api.errors import InvalidTokenRequest
from auth_api.http.problem import PROBLEM, RETRY_LATER, TOO_LARGE
from auth_api.sessions.revocation import TokenTypeHint, parse_hint
from auth_api.tokens.discovery import discovery_document
from auth_api.tokens.introspection import introspect

router = APIRouter(tags=["tokens"], responses=TOO_LARGE)
JWKS_MAX_AGE = 300  # verifiers refetch on an unknown kid anyway
DISCOVERY_MAX_AGE = 300
# Declares the HTTP Basic requirement in the schema; authenticate_client() enforces it.
introspection_client = HTTPBase(
    scheme="basic",
    scheme_name="IntrospectionClient",
    description="A client id and secret from AUTH_INTROSPECTION_CLIENTS",
    auto_error=False,
)
CLIENT_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: PROBLEM,
    401: PROBLEM,
    413: PROBLEM,
    429: RETRY_LATER,
    503: RETRY_LATER,
}


def form_body(fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """The OpenAPI request body of a form-encoded token endpoint."""
    schema = {"type": "object", "properties": fields, "required": required}
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


TOKEN_FIELD = {"type": "string", "minLength": 1}


@router.get("/.well-known/jwks.json", response_model=KeySetResponse)
async def jwks(services: ServicesDep) -> JSONResponse:
    headers = {"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"}
    return JSONResponse(services.codec.keys.jwks(), headers=headers)


@router.get("/.well-known/openid-configuration")
async def openid_configuration(
    request: Request, services: ServicesDep, settings: SettingsDep
) -> JSONResponse:
    """Where the JWKS, introspection and revocation are (OpenID Connect Discovery's
    format; this service is not an OpenID provider: README, "Discovery")."""
    if settings.public_url is not None:
        base_url, cache = settings.public_url, f"public, max-age={DISCOVERY_MAX_AGE}"
    else:
        # Built from this request's Host: no shared cache may hand it to other hosts.
        base_url, cache = str(request.base_url).rstrip("/"), "no-store"
    codec = services.codec
    document = discovery_document(codec.issuer, base_url, codec.keys.algorithms())
    return JSONResponse(document, headers={"Cache-Control": cache})


@router.post(
    "/auth/introspect",
    dependencies=[Depends(introspection_client)],
    response_model=IntrospectionResponse,
    responses=CLIENT_PROBLEMS,
    openapi_extra=form_body({"token": TOKEN_FIELD}, ["token"]),
)
async def introspect_token(
    request: Request, services: ServicesDep, ip: ClientIpDep
) -> JSONResponse:
    """RFC 7662, for services holding a client id and secret (HTTP Basic)."""
    await services.introspection.authenticate(request.headers.get("authorization"), ip)
    form = parse_form(await request.body())
    token = required_field(form, "token")
    body: dict[str, Any] = await introspect(token, services.authenticator, services.codec)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.post(
    "/auth/revoke",
    dependencies=[Depends(introspection_client)],
    response_class=Response,
    responses={200: {"description": "Revoked, or not a token to revoke"}, **CLIENT_PROBLEMS},
    openapi_extra={
        # Credentials are optional: without them, the token proves itself.
        "security": [{}],
        **form_body(
            {
                "token": TOKEN_FIELD,
                "token_type_hint": {"type": "string", "enum": [str(t) for t in TokenTypeHint]},
            },
            ["token"],
        ),
    },
)
async def revoke_token(request: Request, services: ServicesDep, ip: ClientIpDep) -> Response:
    """RFC 7009: an access token ends like a logout with it, a refresh token ends its
    session. HTTP Basic service credentials may revoke any token; without credentials
    (or with `Authorization: Bearer`), the token itself proves its holder may. Always
    200 and an empty body, also for an invalid or already revoked token."""
    authorization = request.headers.get("authorization")
    client_id = await services.introspection.authenticate_if_basic(authorization, ip)
    form = parse_form(await request.body())
    token = required_field(form, "token")
    hint = parse_hint(optional_field(form, "token_type_hint"))
    await services.revocation.revoke(token, hint, client_id)
    return Response(status_code=200, headers={"Cache-Control": "no-store"})


def parse_form(body: bytes) -> dict[str, list[str]]:
    try:
        # Blank values kept: `token_type_hint=` is a hint, and not a valid one.
        return parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError as exc:
        raise InvalidTokenRequest("The body must be UTF-8 form data.") from exc


def required_field(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name, [])
    if len(values) != 1 or not values[0]:
        raise InvalidTokenRequest(f"Exactly one '{name}' form field is required.")
    return values[0]


def optional_field(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name, [])
    if len(values) > 1:
        raise InvalidTokenRequest(f"At most one '{name}' form field is allowed.")
    return values[0] if values else None
