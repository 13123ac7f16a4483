"""Typed dependency aliases shared by the routers, and the one place a router reaches
the container. All `async def`: FastAPI runs a plain `def` dependency in its thread
pool, which costs more than the dependency itself; only `get_claims` awaits I/O (the
revocation check)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from auth_api.container import Container, Services
from auth_api.errors import NotAuthenticated
from auth_api.http.client_ip import client_ip
from auth_api.settings import Settings
from auth_api.tokens.claims import AccessClaims

# auto_error=False: we raise our own 401 problem, with the WWW-Authenticate header.
bearer_scheme = HTTPBearer(auto_error=False, description="Access token from /auth/login")


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


async def get_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> AccessClaims:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated
    authenticator = container_of(request).services.authenticator
    return await authenticator.authenticate(credentials.credentials)


ContainerDep = Annotated[Container, Depends(get_container)]
ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
ClientIpDep = Annotated[str, Depends(get_client_ip)]
UserAgentDep = Annotated[str, Depends(get_user_agent)]
ClaimsDep = Annotated[AccessClaims, Depends(get_claims)]
