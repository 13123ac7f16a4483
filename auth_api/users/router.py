"""HTTP routes for accounts: parse, call one service method, pick the status."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from auth_api.http.deps import AccountsDep, ClaimsDep, ClientIpDep
from auth_api.http.problem import MEDIA_TYPE
from auth_api.users.schemas import LoginRequest, RegisterRequest, TokenResponse, UserResponse
from auth_api.users.service import Registration

PROBLEM = {"description": "Problem details", "content": {MEDIA_TYPE: {}}}
router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses={409: PROBLEM, 422: PROBLEM, 429: PROBLEM, 503: PROBLEM},
)
async def register(body: RegisterRequest, accounts: AccountsDep, ip: ClientIpDep) -> UserResponse:
    form = Registration(body.email, body.password, body.display_name)
    return UserResponse.of(await accounts.register(form, ip))


@router.post("/login", responses={401: PROBLEM, 429: PROBLEM, 503: PROBLEM})
async def login(
    body: LoginRequest, accounts: AccountsDep, ip: ClientIpDep, response: Response
) -> TokenResponse:
    issued = await accounts.login(body.email, body.password, ip)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return TokenResponse(access_token=issued.token, expires_in=issued.expires_in)


@router.get("/me", responses={401: PROBLEM, 503: PROBLEM})
async def me(claims: ClaimsDep, accounts: AccountsDep) -> UserResponse:
    return UserResponse.of(await accounts.current_user(claims))


@router.post(
    "/logout", status_code=status.HTTP_204_NO_CONTENT, responses={401: PROBLEM, 503: PROBLEM}
)
async def logout(claims: ClaimsDep, accounts: AccountsDep) -> Response:
    await accounts.logout(claims)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
