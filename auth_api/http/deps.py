"""Typed dependency aliases shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from auth_api.container import Container
from auth_api.errors import NotAuthenticated
from auth_api.http.client_ip import client_ip
from auth_api.tokens.access import AccessClaims
from auth_api.users.service import AccountService

# auto_error=False: we raise our own 401 problem, with the WWW-Authenticate header.
bearer_scheme = HTTPBearer(auto_error=False, description="Access token from /auth/login")


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def get_accounts(request: Request) -> AccountService:
    return get_container(request).accounts


def get_client_ip(request: Request) -> str:
    peer = request.client.host if request.client else None
    trusted = request.app.state.trusted_proxies
    return client_ip(peer, request.headers.get("x-forwarded-for"), trusted)


async def get_claims(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> AccessClaims:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated
    return await get_accounts(request).authenticate(credentials.credentials)


ContainerDep = Annotated[Container, Depends(get_container)]
AccountsDep = Annotated[AccountService, Depends(get_accounts)]
ClientIpDep = Annotated[str, Depends(get_client_ip)]
ClaimsDep = Annotated[AccessClaims, Depends(get_claims)]
