"""Bodies of the account lifecycle's endpoints."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, StringConstraints

from auth_api.api.account_schemas import Email, Password, StrictRequest

# Generous on purpose: a malformed token of any plausible size gets the same 400
# INVALID_TOKEN as an unknown, expired or used one, not a 422.
MailToken = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class TokenRequest(StrictRequest):
    token: MailToken


class ForgotPasswordRequest(StrictRequest):
    email: Email


class ResetPasswordRequest(StrictRequest):
    token: MailToken
    new_password: Password


class ChangePasswordRequest(StrictRequest):
    current_password: Password
    new_password: Password


class ChangeEmailRequest(StrictRequest):
    new_email: Email
    password: Password


class PasswordRequest(StrictRequest):
    password: Password


class Accepted(BaseModel):
    detail: str


FORGOT_ACCEPTED = Accepted(
    detail="If an account uses this address, a mail with a link to reset its password "
    "is on its way."
)
RESEND_ACCEPTED = Accepted(detail="A new link is on its way to your address.")
CHANGE_ACCEPTED = Accepted(detail="A link to confirm the change is on its way to the new address.")
