"""HTTP routes for sessions: refresh, logout, logout everywhere, and the session list."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from auth_api.api.deps import ClaimsDep, ServicesDep, SettingsDep, UserAgentDep
from auth_api.api.session_schemas import RefreshRequest, SessionResponse, TokenResponse
from auth_api.api.token_response import token_response
from auth_api.errors import InvalidRefreshToken
from auth_api.http.problem import (
    BEARER_PROBLEMS,
    INPUT_PROBLEMS,
    PROBLEM,
    RETRY_LATER,
    TOO_LARGE,
)
from auth_api.http.refresh_cookie import clear_refresh_cookie, cookie_token
from auth_api.settings import Settings

router = APIRouter(prefix="/auth", tags=["sessions"], responses=TOO_LARGE)
NO_CONTENT = status.HTTP_204_NO_CONTENT


@router.post(
    "/refresh",
    response_model_exclude_none=True,
    responses={**INPUT_PROBLEMS, 401: PROBLEM, 403: PROBLEM, 503: RETRY_LATER},
)
async def refresh(
    services: ServicesDep,
    settings: SettingsDep,
    agent: UserAgentDep,
    request: Request,
    response: Response,
    body: RefreshRequest | None = None,
) -> TokenResponse:
    """Spend a refresh token (body, or the web page's cookie) for a new pair."""
    from_cookie = body is None
    raw = body.refresh_token if body is not None else cookie_token(request, settings)
    if raw is None:
        raise InvalidRefreshToken
    pair = await services.sessions.refresh(raw, agent)
    return token_response(pair, request, response, settings, cookie=from_cookie)


@router.post("/logout", status_code=NO_CONTENT, responses=BEARER_PROBLEMS)
async def logout(claims: ClaimsDep, services: ServicesDep, settings: SettingsDep) -> Response:
    await services.sessions.end_current(claims)
    return cleared(Response(status_code=NO_CONTENT), settings)


@router.post("/logout-all", status_code=NO_CONTENT, responses=BEARER_PROBLEMS)
async def logout_all(claims: ClaimsDep, services: ServicesDep, settings: SettingsDep) -> Response:
    await services.sessions.end_all(claims)
    return cleared(Response(status_code=NO_CONTENT), settings)


@router.get("/sessions", responses=BEARER_PROBLEMS)
async def list_sessions(
    claims: ClaimsDep, services: ServicesDep, response: Response
) -> list[SessionResponse]:
    sessions = await services.sessions.active(claims.user_id)
    response.headers["Cache-Control"] = "no-store"  # a user's data: no cache keeps it
    return [SessionResponse.of(s, claims.session_id) for s in sessions]


@router.delete(
    "/sessions/{session_id}",
    status_code=NO_CONTENT,
    # 422 only replaces FastAPI's default declaration, whose body shape is not ours.
    responses={**BEARER_PROBLEMS, 404: PROBLEM, 422: PROBLEM},
)
async def end_session(session_id: str, claims: ClaimsDep, services: ServicesDep) -> Response:
    await services.sessions.end_one(claims, session_id)
    return Response(status_code=NO_CONTENT)


def cleared(response: Response, settings: Settings) -> Response:
    clear_refresh_cookie(response, settings)
    return response
