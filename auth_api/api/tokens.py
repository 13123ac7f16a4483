"""Public keys and introspection: how other services check our tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security.http import HTTPBase

from auth_api.api.deps import ClientIpDep, ServicesDep
from auth_api.api.token_schemas import IntrospectionResponse, KeySetResponse
from auth_api.errors import MalformedRequest
from auth_api.http.problem import PROBLEM, RETRY_LATER, TOO_LARGE
from auth_api.tokens.introspection import introspect

router = APIRouter(tags=["tokens"], responses=TOO_LARGE)
JWKS_MAX_AGE = 300  # verifiers refetch on an unknown kid anyway
# Declares the HTTP Basic requirement in the schema; authenticate_client() enforces it.
introspection_client = HTTPBase(
    scheme="basic",
    scheme_name="IntrospectionClient",
    description="A client id and secret from AUTH_INTROSPECTION_CLIENTS",
    auto_error=False,
)


@router.get("/.well-known/jwks.json", response_model=KeySetResponse)
async def jwks(services: ServicesDep) -> JSONResponse:
    headers = {"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"}
    return JSONResponse(services.codec.keys.jwks(), headers=headers)


@router.post(
    "/auth/introspect",
    dependencies=[Depends(introspection_client)],
    response_model=IntrospectionResponse,
    responses={400: PROBLEM, 401: PROBLEM, 413: PROBLEM, 429: RETRY_LATER, 503: RETRY_LATER},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {"token": {"type": "string", "minLength": 1}},
                        "required": ["token"],
                    }
                }
            },
        }
    },
)
async def introspect_token(
    request: Request, services: ServicesDep, ip: ClientIpDep
) -> JSONResponse:
    """RFC 7662, for services holding a client id and secret (HTTP Basic)."""
    await services.introspection.authenticate(request.headers.get("authorization"), ip)
    token = form_field(await request.body(), "token")
    body: dict[str, Any] = await introspect(token, services.authenticator, services.codec)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


def form_field(body: bytes, name: str) -> str:
    try:
        values = parse_qs(body.decode("utf-8"), strict_parsing=False).get(name, [])
    except UnicodeDecodeError as exc:
        raise MalformedRequest("The body must be UTF-8 form data.") from exc
    if len(values) != 1 or not values[0]:
        raise MalformedRequest(f"Exactly one '{name}' form field is required.")
    return values[0]
