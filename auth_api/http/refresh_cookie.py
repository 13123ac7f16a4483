"""The web page's refresh token travels in a cookie the page's script cannot read.
Cookie-authenticated requests are the CSRF risk, so they need a custom header (which a
cross-site form cannot send and cross-site fetch cannot send without our CORS consent)
and, when the browser says where it comes from, an allowed Origin.

The cookie is `__Host-` prefixed: browsers accept such a cookie only when it is Secure,
has Path=/ and no Domain, so a sibling subdomain or a plain-http page cannot plant or
overwrite it (cookie tossing). Browsers refuse a Secure cookie from a plain-http page on
most hosts, so in development, served over http, the cookie has a name without the
prefix and no Secure flag; only that environment reads that name."""

from __future__ import annotations

from fastapi import Request, Response

from auth_api.errors import CsrfRejected
from auth_api.settings import Environment, Settings

COOKIE_NAME = "__Host-quizauth_refresh"
DEVELOPMENT_COOKIE_NAME = "quizauth_refresh"
COOKIE_PATH = "/"  # required by the prefix; only /auth/refresh ever reads the cookie
OPT_IN_HEADER = "x-refresh-cookie"
CSRF_HEADER = "x-requested-with"
CSRF_HEADER_VALUE = "quizauth-web"


def wants_cookie(request: Request) -> bool:
    return request.headers.get(OPT_IN_HEADER) == "1"


def over_plain_http(settings: Settings) -> bool:
    return settings.env is Environment.DEVELOPMENT


def cookie_name(settings: Settings) -> str:
    return DEVELOPMENT_COOKIE_NAME if over_plain_http(settings) else COOKIE_NAME


def set_refresh_cookie(response: Response, token: str, max_age: int, settings: Settings) -> None:
    response.set_cookie(
        cookie_name(settings),
        token,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=not over_plain_http(settings),
    )


def clear_refresh_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        cookie_name(settings),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=not over_plain_http(settings),
    )


def cookie_token(request: Request, settings: Settings) -> str | None:
    """The refresh token from the cookie, after the CSRF checks; None without a cookie."""
    token = request.cookies.get(cookie_name(settings))
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
