"""HTTP routes of the account lifecycle: verify the address, reset or change the
password, change the address, delete the account, export its data."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter, Response, status

from auth_api.api.deps import ClaimsDep, ClientIpDep, ServicesDep
from auth_api.api.lifecycle_schemas import (
    CHANGE_ACCEPTED,
    FORGOT_ACCEPTED,
    RESEND_ACCEPTED,
    Accepted,
    ChangeEmailRequest,
    ChangePasswordRequest,
    ForgotPasswordRequest,
    PasswordRequest,
    ResetPasswordRequest,
    TokenRequest,
)
from auth_api.http.problem import (
    BEARER_PROBLEMS,
    INPUT_PROBLEMS,
    PROBLEM,
    RETRY_LATER,
    TOO_LARGE,
)

router = APIRouter(prefix="/auth", tags=["account lifecycle"], responses=TOO_LARGE)
NO_CONTENT = status.HTTP_204_NO_CONTENT
ACCEPTED = status.HTTP_202_ACCEPTED
TOKEN_PROBLEMS = {**INPUT_PROBLEMS, 400: PROBLEM, 429: RETRY_LATER, 503: RETRY_LATER}
AUTHENTICATED = {**BEARER_PROBLEMS, **INPUT_PROBLEMS, 429: RETRY_LATER, 503: RETRY_LATER}
EXPORT_HEADERS = {"Content-Disposition": {"schema": {"type": "string"}}}
# The endpoints that ask for the password again: a 401 is a bad token (with the Bearer
# challenge) or a wrong password (INVALID_CREDENTIALS, no challenge: the token was fine).
WRONG_PASSWORD_OR_TOKEN = {
    **PROBLEM,
    "description": "NOT_AUTHENTICATED (with WWW-Authenticate), or INVALID_CREDENTIALS",
    "headers": {
        "WWW-Authenticate": {
            "description": "The Bearer challenge, when the token was the problem",
            "schema": {"type": "string"},
            "required": False,
        }
    },
}
PASSWORD_CHECKED = {**AUTHENTICATED, 401: WRONG_PASSWORD_OR_TOKEN}


@router.post("/email/verify", status_code=NO_CONTENT, responses=TOKEN_PROBLEMS)
async def verify_email(body: TokenRequest, services: ServicesDep, ip: ClientIpDep) -> Response:
    await services.lifecycle.email.verify(body.token, ip)
    return Response(status_code=NO_CONTENT)


@router.post(
    "/email/verify/resend", status_code=ACCEPTED, responses={**AUTHENTICATED, 409: PROBLEM}
)
async def resend_verification(
    claims: ClaimsDep, services: ServicesDep, ip: ClientIpDep
) -> Accepted:
    await services.lifecycle.email.resend(claims, ip)
    return RESEND_ACCEPTED


@router.post(
    "/password/forgot",
    status_code=ACCEPTED,
    responses={**INPUT_PROBLEMS, 429: RETRY_LATER, 503: RETRY_LATER},
)
async def forgot_password(
    body: ForgotPasswordRequest, services: ServicesDep, ip: ClientIpDep
) -> Accepted:
    """The same answer whether or not an account uses the address."""
    await services.lifecycle.password.forgot(body.email, ip)
    return FORGOT_ACCEPTED


@router.post("/password/reset", status_code=NO_CONTENT, responses=TOKEN_PROBLEMS)
async def reset_password(
    body: ResetPasswordRequest, services: ServicesDep, ip: ClientIpDep
) -> Response:
    await services.lifecycle.password.reset(body.token, body.new_password, ip)
    return Response(status_code=NO_CONTENT)


@router.post("/password/change", status_code=NO_CONTENT, responses=PASSWORD_CHECKED)
async def change_password(
    body: ChangePasswordRequest, claims: ClaimsDep, services: ServicesDep, ip: ClientIpDep
) -> Response:
    """Ends every other session; this one stays signed in."""
    password = services.lifecycle.password
    await password.change(claims, body.current_password, body.new_password, ip)
    return Response(status_code=NO_CONTENT)


@router.post("/email/change", status_code=ACCEPTED, responses={**PASSWORD_CHECKED, 409: PROBLEM})
async def change_email(
    body: ChangeEmailRequest, claims: ClaimsDep, services: ServicesDep, ip: ClientIpDep
) -> Accepted:
    """Sends a confirmation link to the new address and a notice to the current one."""
    await services.lifecycle.email.request_change(claims, body.new_email, body.password, ip)
    return CHANGE_ACCEPTED


@router.post(
    "/email/change/confirm", status_code=NO_CONTENT, responses={**TOKEN_PROBLEMS, 409: PROBLEM}
)
async def confirm_email_change(
    body: TokenRequest, services: ServicesDep, ip: ClientIpDep
) -> Response:
    await services.lifecycle.email.confirm_change(body.token, ip)
    return Response(status_code=NO_CONTENT)


@router.delete("/me", status_code=NO_CONTENT, responses={**PASSWORD_CHECKED, 409: PROBLEM})
async def delete_account(
    body: PasswordRequest, claims: ClaimsDep, services: ServicesDep, ip: ClientIpDep
) -> Response:
    """Ends every session, revokes every token and removes the personal data. 409
    `LAST_ADMIN` for the only active admin, who must make another first."""
    await services.lifecycle.closure.delete(claims, body.password, ip)
    return Response(status_code=NO_CONTENT)


@router.get(
    "/me/export",
    responses={
        **BEARER_PROBLEMS,
        429: RETRY_LATER,
        503: RETRY_LATER,
        200: {"content": {"application/json": {}}, "headers": EXPORT_HEADERS},
    },
)
async def export_account(claims: ClaimsDep, services: ServicesDep, ip: ClientIpDep) -> Response:
    """Everything stored about you, as a JSON file."""
    data = await services.lifecycle.closure.export(claims, ip)
    body = json.dumps(data, default=_json_default, indent=2, ensure_ascii=False)
    headers = {
        "Content-Disposition": f'attachment; filename="quizauth-export-{claims.user_id}.json"',
        "Cache-Control": "no-store",
    }
    return Response(body.encode(), media_type="application/json", headers=headers)


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
