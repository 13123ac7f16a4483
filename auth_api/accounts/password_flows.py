"""Forgetting, resetting and changing the password."""

from __future__ import annotations

from auth_api.accounts.emails import email_key
from auth_api.accounts.lifecycle_base import (
    LifecycleFlows,
    ended_sessions,
    parse_token,
    user_event,
)
from auth_api.errors import FieldProblem, InvalidInput, InvalidToken, NotAuthenticated
from auth_api.model.events import EventType
from auth_api.model.mail import MailKind
from auth_api.model.one_time_tokens import StoredToken, TokenPurpose
from auth_api.security.login_limits import account_subject
from auth_api.store.account_ports import AccountChange, AccountState
from auth_api.tokens.claims import AccessClaims
from quizauth_wire import RevocationReason

RESET = TokenPurpose.RESET_PASSWORD


def links_voided() -> dict[str, StoredToken | None]:
    """A new password voids every link still out: whoever knew the old one may have
    asked for an email change, and the notice to the owner says to change the password."""
    return {RESET: None, TokenPurpose.CHANGE_EMAIL: None}


class PasswordFlows(LifecycleFlows):
    async def forgot(self, email: str, client_ip: str) -> None:
        """The same work whether or not an account uses `email`: the same limits, one
        token minted, one write attempt, and the same answer. Only the write's match
        differs, inside the store, and with it whether a mail is recorded."""
        try:
            key = email_key(email)
        except ValueError as exc:
            raise InvalidInput([FieldProblem("email", str(exc))]) from exc
        await self._throttle("password-forgot", account_subject(key), client_ip, mail=True)
        now = self._clock.now()
        minted = self._deps.tokens.mint(RESET, now)
        mail = self._linked(MailKind.PASSWORD_RESET, minted, now)
        user_id = await self._deps.store.issue_by_email(key, RESET, minted.stored, mail)
        if user_id is not None:
            self._deps.on_mail_recorded(user_id)

    async def reset(self, raw_token: str, new_password: str, client_ip: str) -> None:
        """Set the password, end every session and deny every token of the user at once,
        everywhere (valid-after). A bad token changes nothing."""
        token = parse_token(raw_token)
        await self._throttle_address("password-reset", client_ip)
        now = self._clock.now()
        record = await self._deps.store.account(token.user_id)
        # Live is checked again by the write; asked here too, it spares the work below.
        stored = record.tokens.get(RESET) if record and record.user.is_active else None
        if record is None or stored is None or not stored.matches(token.hash, now):
            await self._count_bad_link("password-reset", token.user_id)
            raise InvalidToken
        await self._deps.accounts.check_new_password(new_password, record.user)
        new_hash = await self._deps.hasher.hash(new_password)
        cut_off = await self._revoke_every_token(token.user_id, RevocationReason.PASSWORD_RESET)

        def decide(state: AccountState) -> AccountChange | None:
            held = state.tokens.get(RESET)
            if held is None or not held.matches(token.hash, now):
                return None
            sessions, revoked = ended_sessions(state, now, RevocationReason.PASSWORD_RESET)
            event = user_event(EventType.USER_PASSWORD_RESET, state.user.id, now, {"reset_at": now})
            return AccountChange(
                fields={"password_hash": new_hash, "updated_at": now},
                tokens=links_voided(),
                ended_sessions=sessions,
                events=[event, *revoked, cut_off],
                mails=[self._notice(MailKind.PASSWORD_RESET_NOTICE, now)],
            )

        change = await self._change(token.user_id, decide)
        if change is None:
            await self._count_bad_link("password-reset", token.user_id)
            raise InvalidToken
        # A refresh that read its session before the write, and signed after the cut-off's
        # second, holds a token the cut-off misses; its session's denial does not.
        await self._deny_sessions(token.user_id, [s.id for s in change.ended_sessions])

    async def change(
        self, claims: AccessClaims, current: str, new_password: str, client_ip: str
    ) -> None:
        """Set the password and end every other session; the caller's stays signed in."""
        user = await self._current(claims.user_id)
        await self._throttle("password-change", user.id, client_ip)
        await self._deps.accounts.check_new_password(new_password, user)
        await self._deps.accounts.confirm_password(user, current, client_ip)
        new_hash = await self._deps.hasher.hash(new_password)
        now = self._clock.now()
        record = await self._deps.store.account(user.id)
        others = [
            s.id
            for s in (record.user.sessions.values() if record else [])
            if s.revoked_at is None and s.id != claims.session_id
        ]
        await self._deny_sessions(user.id, others)  # before they end: see SessionService

        def decide(state: AccountState) -> AccountChange | None:
            sessions, revoked = ended_sessions(
                state, now, RevocationReason.PASSWORD_CHANGED, keep=claims.session_id
            )
            event = user_event(
                EventType.USER_PASSWORD_CHANGED, state.user.id, now, {"changed_at": now}
            )
            return AccountChange(
                fields={"password_hash": new_hash, "updated_at": now},
                tokens=links_voided(),
                ended_sessions=sessions,
                events=[event, *revoked],
                mails=[self._notice(MailKind.PASSWORD_CHANGED_NOTICE, now)],
            )

        change = await self._change(user.id, decide)
        if change is None:
            raise NotAuthenticated  # disabled or deleted since the token was checked
        # A session opened between the read and the write: denied now, late but not never.
        late = [s.id for s in change.ended_sessions if s.id not in others]
        await self._deny_sessions(user.id, late)
