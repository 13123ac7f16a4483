"""Public keys and introspection: how other services check our tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from auth_api.errors import MalformedRequest
from auth_api.http.deps import ServicesDep
from auth_api.http.problem import PROBLEM
from auth_api.tokens.introspection import authenticate_client, introspect

router = APIRouter(tags=["tokens"])
JWKS_MAX_AGE = 300  # verifiers refetch on an unknown kid anyway


@router.get("/.well-known/jwks.json")
async def jwks(services: ServicesDep) -> JSONResponse:
    headers = {"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"}
    return JSONResponse(services.codec.keys.jwks(), headers=headers)


@router.post(
    "/auth/introspect",
    responses={400: PROBLEM, 401: PROBLEM},
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "properties": {"token": {"type": "string"}},
                        "required": ["token"],
                    }
                }
            }
        }
    },
)
async def introspect_token(request: Request, services: ServicesDep) -> JSONResponse:
    """RFC 7662, for services holding a client id and secret (HTTP Basic)."""
    authenticate_client(request.headers.get("authorization"), services.introspection_clients)
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
