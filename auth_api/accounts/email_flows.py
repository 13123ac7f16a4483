"""Verifying the address, and moving the account to another one."""

from __future__ import annotations

from datetime import datetime

from auth_api.accounts.emails import new_account_email
from auth_api.accounts.lifecycle_base import LifecycleFlows, parse_token, user_event
from auth_api.errors import (
    EmailAlreadyRegistered,
    EmailAlreadyVerified,
    FieldProblem,
    InvalidInput,
    InvalidToken,
    NotAuthenticated,
)
from auth_api.model.events import EventType
from auth_api.model.mail import MailKind, PendingMail
from auth_api.model.one_time_tokens import PresentedToken, StoredToken, TokenPurpose
from auth_api.store.account_ports import AccountChange, AccountState
from auth_api.tokens.claims import AccessClaims

VERIFY = TokenPurpose.VERIFY_EMAIL
CHANGE = TokenPurpose.CHANGE_EMAIL


class EmailFlows(LifecycleFlows):
    async def verify(self, raw_token: str, client_ip: str) -> None:
        token = parse_token(raw_token)
        await self._throttle_address("verify", client_ip)
        now = self._clock.now()

        def decide(state: AccountState) -> AccountChange | None:
            if not _spendable(state, VERIFY, token, now):
                return None
            event = user_event(
                EventType.USER_EMAIL_VERIFIED,
                state.user.id,
                now,
                {"email": state.user.email, "verified_at": now},
            )
            fields = {"email_verified": True, "email_verified_at": now, "updated_at": now}
            return AccountChange(fields=fields, tokens={VERIFY: None}, events=[event])

        if await self._change(token.user_id, decide) is None:
            await self._count_bad_link("verify", token.user_id)
            raise InvalidToken

    async def resend(self, claims: AccessClaims, client_ip: str) -> None:
        user = await self._current(claims.user_id)
        if user.email_verified:
            raise EmailAlreadyVerified
        await self._throttle("verify-resend", user.id, client_ip, mail=True)
        now = self._clock.now()
        minted = self._deps.tokens.mint(VERIFY, now)
        mail = self._linked(MailKind.VERIFY_EMAIL, minted, now)

        def decide(state: AccountState) -> AccountChange | None:
            if state.user.email_verified:
                return None
            return AccountChange(tokens={VERIFY: minted.stored}, mails=[mail])

        if await self._change(user.id, decide) is None:
            await self._current(user.id)  # NotAuthenticated if it was disabled or deleted
            raise EmailAlreadyVerified

    async def request_change(
        self, claims: AccessClaims, new_email: str, password: str, client_ip: str
    ) -> None:
        user = await self._current(claims.user_id)
        normalized = _normalized(new_email)
        if normalized == user.email_normalized:
            raise InvalidInput([FieldProblem("new_email", "is the address you already use")])
        await self._throttle("email-change", user.id, client_ip, mail=True)
        await self._deps.accounts.confirm_password(user, password, client_ip)
        if await self._deps.users.find_by_email(normalized) is not None:
            raise EmailAlreadyRegistered
        now = self._clock.now()
        minted = self._deps.tokens.mint(CHANGE, now, new_email.strip(), normalized)
        mails = [
            self._linked(MailKind.EMAIL_CHANGE_CONFIRM, minted, now, to=new_email.strip()),
            _change_notice(self._notice(MailKind.EMAIL_CHANGE_NOTICE, now, user.email), new_email),
        ]

        def decide(state: AccountState) -> AccountChange | None:
            return AccountChange(tokens={CHANGE: minted.stored}, mails=mails)

        if await self._change(user.id, decide) is None:
            raise NotAuthenticated  # disabled or deleted since the token was checked

    async def confirm_change(self, raw_token: str, client_ip: str) -> None:
        token = parse_token(raw_token)
        await self._throttle_address("email-confirm", client_ip)
        now = self._clock.now()
        pending = await self._pending_change(token, now)
        if await self._deps.users.find_by_email(pending) is not None:
            raise EmailAlreadyRegistered

        def decide(state: AccountState) -> AccountChange | None:
            if not _spendable(state, CHANGE, token, now):
                return None
            stored = state.tokens[CHANGE]
            event = user_event(
                EventType.USER_EMAIL_CHANGED,
                state.user.id,
                now,
                {"old_email": state.user.email, "new_email": stored.new_email, "changed_at": now},
            )
            fields = {
                "email": stored.new_email,
                "email_normalized": stored.new_email_normalized,
                # The link reached the new address: that is what verifying it means.
                "email_verified": True,
                "email_verified_at": now,
                "updated_at": now,
            }
            # A reset link went to the old address, which no longer names the account.
            cleared: dict[str, StoredToken | None] = {
                CHANGE: None,
                VERIFY: None,
                TokenPurpose.RESET_PASSWORD: None,
            }
            return AccountChange(fields=fields, tokens=cleared, events=[event])

        # A taken address raises EmailAlreadyRegistered here too: the unique index decides.
        if await self._change(token.user_id, decide) is None:
            await self._count_bad_link("email-confirm", token.user_id)
            raise InvalidToken

    async def _pending_change(self, token: PresentedToken, now: datetime) -> str:
        """The normalised address a valid change token confirms; InvalidToken otherwise."""
        record = await self._deps.store.account(token.user_id)
        stored = record.tokens.get(CHANGE) if record else None
        if stored is None or not stored.matches(token.hash, now) or not stored.new_email_normalized:
            await self._count_bad_link("email-confirm", token.user_id)
            raise InvalidToken
        return stored.new_email_normalized


def _spendable(
    state: AccountState, purpose: TokenPurpose, token: PresentedToken, now: datetime
) -> bool:
    stored = state.tokens.get(purpose)
    return stored is not None and stored.matches(token.hash, now)


def _normalized(email: str) -> str:
    try:
        return new_account_email(email)
    except ValueError as exc:
        raise InvalidInput([FieldProblem("new_email", str(exc))]) from exc


def _change_notice(mail: PendingMail, new_email: str) -> PendingMail:
    return PendingMail(
        mail.id,
        mail.kind,
        mail.to,
        mail.created_at,
        mail.expires_at,
        {"new_email": new_email.strip()},
    )
