"""The verification mail a new account is registered with."""

from __future__ import annotations

from auth_api.model.mail import MailKind, PendingMail
from auth_api.model.one_time_tokens import OneTimeTokens, TokenPurpose
from auth_api.model.user import User
from auth_api.store.account_ports import Welcome


def welcome(tokens: OneTimeTokens, user: User) -> Welcome:
    purpose = TokenPurpose.VERIFY_EMAIL
    minted = tokens.mint(purpose, user.created_at)
    mail = PendingMail.create(
        MailKind.VERIFY_EMAIL,
        None,
        user.created_at,
        minted.stored.expires_at,
        {"nonce": minted.nonce},
    )
    return Welcome(purpose, minted.stored, mail)
