"""HTTP routes for accounts: parse, call one service method, pick the status."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from auth_api.accounts.service import LoginAttempt, Registration
from auth_api.api.account_schemas import (
    LoginRequest,
    MeResponse,
    RegisterRequest,
    UserResponse,
)
from auth_api.api.deps import (
    ClaimsDep,
    ClientIpDep,
    ServicesDep,
    SettingsDep,
    UserAgentDep,
    container_of,
)
from auth_api.api.session_schemas import TokenResponse
from auth_api.api.token_response import token_response
from auth_api.http.problem import (
    BEARER_PROBLEMS,
    INPUT_PROBLEMS,
    PROBLEM,
    RETRY_LATER,
    TOO_LARGE,
)

router = APIRouter(prefix="/auth", tags=["accounts"], responses=TOO_LARGE)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses={**INPUT_PROBLEMS, 409: PROBLEM, 429: RETRY_LATER, 503: RETRY_LATER},
)
async def register(body: RegisterRequest, services: ServicesDep, ip: ClientIpDep) -> UserResponse:
    form = Registration(body.email, body.password, body.display_name)
    return UserResponse.of(await services.accounts.register(form, ip))


@router.post(
    "/login",
    response_model_exclude_none=True,
    responses={**INPUT_PROBLEMS, 401: PROBLEM, 403: PROBLEM, 429: RETRY_LATER, 503: RETRY_LATER},
)
async def login(
    body: LoginRequest,
    services: ServicesDep,
    settings: SettingsDep,
    ip: ClientIpDep,
    agent: UserAgentDep,
    request: Request,
    response: Response,
) -> TokenResponse:
    """Send `X-Refresh-Cookie: 1` to get the refresh token as an HttpOnly cookie."""
    attempt = LoginAttempt(body.email, body.password, ip, agent)
    pair = await services.accounts.login(attempt)
    return token_response(pair, request, response, settings, cookie=False)


@router.get("/me", responses=BEARER_PROBLEMS)
async def me(claims: ClaimsDep, request: Request, response: Response) -> MeResponse:
    # The services from the request rather than ServicesDep: one dependency fewer for
    # FastAPI to resolve on the most frequent authenticated request.
    user = await container_of(request).services.accounts.current_user(claims)
    response.headers["Cache-Control"] = "no-store"  # a user's data: no cache keeps it
    return MeResponse.of_token(user, claims.roles)
