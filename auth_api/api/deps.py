"""Typed dependency aliases shared by the routers, and the one place a router reaches
the container. All `async def`: FastAPI runs a plain `def` dependency in its thread
pool, which costs more than the dependency itself; only `bearer_claims` awaits I/O (the
revocation check)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import HTTPConnection

from auth_api.container import Container, Services
from auth_api.errors import NotAuthenticated
from auth_api.http.client_ip import client_ip
from auth_api.settings import Settings
from auth_api.tokens.claims import AccessClaims


class BearerClaims(SecurityBase):
    """The claims of the request's bearer token, authenticated (signature, claims and
    revocation); our own 401 problem, with its WWW-Authenticate header, for a missing,
    malformed or refused one. A security scheme itself, so the OpenAPI document declares
    the bearer scheme on every route that needs it, as FastAPI's HTTPBearer would: one
    dependency instead of that one and another behind it, which FastAPI would resolve on
    every authenticated request."""

    def __init__(self, description: str) -> None:
        self.model = HTTPBearerModel(description=description)
        self.scheme_name = "HTTPBearer"  # the name the OpenAPI document has always used

    async def __call__(self, request: HTTPConnection) -> AccessClaims:
        scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated
        container: Container = request.app.state.container
        return await container.services.authenticator.authenticate(token)


bearer_claims = BearerClaims(description="Access token from /auth/login")


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def get_container(request: Request) -> Container:
    return container_of(request)


async def get_services(request: Request) -> Services:
    return container_of(request).services


async def get_settings(request: Request) -> Settings:
    return container_of(request).settings


async def get_client_ip(request: Request) -> str:
    peer = request.client.host if request.client else None
    trusted = request.app.state.trusted_proxies
    return client_ip(peer, request.headers.getlist("x-forwarded-for"), trusted)


async def get_user_agent(request: Request) -> str:
    # Whole: the session service cuts what it stores (MAX_USER_AGENT_LENGTH).
    return request.headers.get("user-agent", "")


ContainerDep = Annotated[Container, Depends(get_container)]
ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClientIpDep = Annotated[str, Depends(get_client_ip)]
UserAgentDep = Annotated[str, Depends(get_user_agent)]
ClaimsDep = Annotated[AccessClaims, Depends(bearer_claims)]
