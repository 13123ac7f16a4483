"""Writing a token pair into a response: the body, or the body and the cookie."""

from __future__ import annotations

from fastapi import Request, Response

from auth_api.api.session_schemas import TokenResponse
from auth_api.http.refresh_cookie import set_refresh_cookie, wants_cookie
from auth_api.sessions.service import TokenPair
from auth_api.settings import Settings


def token_response(
    pair: TokenPair, request: Request, response: Response, settings: Settings, *, cookie: bool
) -> TokenResponse:
    # Tokens must never sit in a shared or browser cache (RFC 6749 section 5.1).
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    if cookie or wants_cookie(request):
        set_refresh_cookie(response, pair.refresh_token, pair.refresh_expires_in, settings)
        return TokenResponse.of(pair, include_refresh=False)
    return TokenResponse.of(pair, include_refresh=True)
