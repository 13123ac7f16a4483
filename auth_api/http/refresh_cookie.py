"""The web page's refresh token travels in a cookie the page's script cannot read.
Cookie-authenticated requests are the CSRF risk, so they need a custom header (which a
cross-site form cannot send and cross-site fetch cannot send without our CORS consent)
and, when the browser says where it comes from, an allowed Origin."""

from __future__ import annotations

from fastapi import Request, Response

from auth_api.errors import CsrfRejected
from auth_api.settings import Environment, Settings

COOKIE_NAME = "quizauth_refresh"
COOKIE_PATH = "/auth/refresh"
OPT_IN_HEADER = "x-refresh-cookie"
CSRF_HEADER = "x-requested-with"
CSRF_HEADER_VALUE = "quizauth-web"


def wants_cookie(request: Request) -> bool:
    return request.headers.get(OPT_IN_HEADER) == "1"


def set_refresh_cookie(response: Response, token: str, max_age: int, settings: Settings) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=settings.env is not Environment.DEVELOPMENT,
    )


def clear_refresh_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE_NAME,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=settings.env is not Environment.DEVELOPMENT,
    )


def cookie_token(request: Request, settings: Settings) -> str | None:
    """The refresh token from the cookie, after the CSRF checks; None without a cookie."""
    token = request.cookies.get(COOKIE_NAME)
    if token is None:
        return None
    if request.headers.get(CSRF_HEADER) != CSRF_HEADER_VALUE:
        raise CsrfRejected(f"Cookie-based refresh requires the {CSRF_HEADER} header.")
    origin = request.headers.get("origin")
    if origin is not None and origin not in allowed_origins(request, settings):
        raise CsrfRejected("This origin may not use the refresh cookie.")
    return token


def allowed_origins(request: Request, settings: Settings) -> set[str]:
    own = f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"
    return {own, *settings.web_origins}
