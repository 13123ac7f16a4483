"""What the account lifecycle's flows share: their collaborators, their rate limits, the
mails they record, and the two ways they revoke (all of a user's tokens, or some
sessions). Framework-free, like every service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from auth_api.accounts.profile_cache import ProfileCache
from auth_api.accounts.service import AccountService
from auth_api.errors import InvalidToken, NotAuthenticated, RateLimited
from auth_api.model.clock import Clock
from auth_api.model.events import EventType, PendingEvent
from auth_api.model.mail import NOTICE_LIFETIME, MailKind, PendingMail
from auth_api.model.one_time_tokens import MintedToken, OneTimeTokens, PresentedToken
from auth_api.model.session import Session
from auth_api.model.user import User
from auth_api.passwords.hasher import PasswordHasher
from auth_api.security.addresses import limit_subject
from auth_api.security.stores import LimitRule, RateLimiter, RevocationStore
from auth_api.sessions.service import session_revoked_event, tokens_revoked_event
from auth_api.store.account_ports import AccountChange, AccountState, AccountStore
from auth_api.store.admin_ports import AdminStore
from auth_api.store.ports import UserStore
from auth_api.tokens.access import AccessTokenCodec
from quizauth_wire import RevocationReason, valid_after_value

audit = logging.getLogger("auth_api.audit")


@dataclass(frozen=True)
class LifecycleLimits:
    account: int
    ip: int
    mail: int
    window_seconds: int


@dataclass(frozen=True)
class LifecycleDeps:
    accounts: AccountService
    users: UserStore
    store: AccountStore
    admins: AdminStore
    hasher: PasswordHasher
    limiter: RateLimiter
    limits: LifecycleLimits
    revocations: RevocationStore
    codec: AccessTokenCodec
    tokens: OneTimeTokens
    profiles: ProfileCache
    on_event_recorded: Callable[[str], None]
    on_mail_recorded: Callable[[str], None]
    clock: Clock


class LifecycleFlows:
    """The base of each group of flows."""

    def __init__(self, deps: LifecycleDeps) -> None:
        self._deps = deps
        self._clock = deps.clock

    async def _throttle(
        self, action: str, account: str, client_ip: str, mail: bool = False
    ) -> None:
        """The address first, then the account: `account` is a user id or an email's
        hash, never an address in clear. `mail`: the action sends a mail, and the
        account's tighter mail budget applies."""
        per_account = self._deps.limits.mail if mail else self._deps.limits.account
        rules = [
            self._address_rule(action, client_ip),
            self._account_rule(action, account, per_account),
        ]
        await self._enforce(action, rules)

    async def _throttle_address(self, action: str, client_ip: str) -> None:
        """For a link: only the address is counted up front. The account a link names is
        counted when the link fails (`_count_bad_link`), so that links made up to name a
        victim cannot use up the victim's budget and lock their real link out."""
        await self._enforce(action, [self._address_rule(action, client_ip)])

    async def _count_bad_link(self, action: str, user_id: str) -> None:
        """RateLimited once the account has seen too many bad links in the window."""
        rule = self._account_rule(action, user_id, self._deps.limits.account)
        await self._enforce(action, [rule])

    def _address_rule(self, action: str, client_ip: str) -> LimitRule:
        limits = self._deps.limits
        key = f"{action}:ip:{limit_subject(client_ip)}"
        return LimitRule(key, limits.ip, limits.window_seconds)

    def _account_rule(self, action: str, account: str, limit: int) -> LimitRule:
        key = f"{action}:account:{account}"
        return LimitRule(key, limit, self._deps.limits.window_seconds)

    async def _enforce(self, action: str, rules: list[LimitRule]) -> None:
        decision = await self._deps.limiter.hit(rules)
        if not decision.allowed:
            audit.info("throttled", extra={"audit": "rate_limited", "rule": action})
            raise RateLimited(decision.retry_after_seconds)

    async def _current(self, user_id: str) -> User:
        user = await self._deps.users.find_by_id(user_id)
        if user is None or not user.is_active:
            raise NotAuthenticated
        return user

    async def _change(
        self, user_id: str, decide: Callable[[AccountState], AccountChange | None]
    ) -> AccountChange | None:
        """`decide`'s change, written in one guarded write; None when it declined or the
        account is no longer live. Every flow asks that of the state it writes over, not
        only of an earlier read: a disable or a deletion may land in between."""

        def only_if_live(state: AccountState) -> AccountChange | None:
            if not state.user.is_active or state.user.deleted_at is not None:
                return None
            return decide(state)

        change = await self._deps.store.change_account(user_id, only_if_live)
        if change is not None:
            self._deps.profiles.discard(user_id)
            if change.events:
                self._deps.on_event_recorded(user_id)
            if change.mails:
                self._deps.on_mail_recorded(user_id)
        return change

    async def _revoke_every_token(self, user_id: str, reason: RevocationReason) -> PendingEvent:
        """Every access token of the user issued up to now fails, on every instance; the
        `user.tokens_revoked` that tells the services following revocations by events,
        for the write that records the change."""
        now = self._clock.now()
        valid_after = valid_after_value(now.timestamp())
        await self._deps.revocations.revoke_user_tokens(
            user_id, before=valid_after, ttl_seconds=self._deps.codec.denial_seconds()
        )
        return tokens_revoked_event(user_id, valid_after, reason, now)

    async def _deny_sessions(self, user_id: str, session_ids: list[str]) -> None:
        if session_ids:
            ttl = self._deps.codec.denial_seconds()
            await self._deps.revocations.revoke_sessions(user_id, session_ids, ttl)

    def _notice(self, kind: MailKind, now: datetime, to: str | None = None) -> PendingMail:
        return PendingMail.create(kind, to, now, now + NOTICE_LIFETIME)

    @staticmethod
    def _linked(
        kind: MailKind, minted: MintedToken, now: datetime, to: str | None = None
    ) -> PendingMail:
        params = {"nonce": minted.nonce}
        return PendingMail.create(kind, to, now, minted.stored.expires_at, params)


def parse_token(raw: str) -> PresentedToken:
    token = PresentedToken.parse(raw)
    if token is None:
        raise InvalidToken
    return token


def ended_sessions(
    state: AccountState, now: datetime, reason: RevocationReason, keep: str | None = None
) -> tuple[list[Session], list[PendingEvent]]:
    """The user's sessions not yet ended (but `keep`), ended now, and the event that says so."""
    live = [s for s in state.user.sessions.values() if s.revoked_at is None and s.id != keep]
    if not live:
        return [], []
    event = session_revoked_event(state.user.id, [s.id for s in live], reason, now)
    return [s.revoked(now, reason) for s in live], [event]


def user_event(
    type_: EventType, user_id: str, at: datetime, data: dict[str, object]
) -> PendingEvent:
    return PendingEvent.create(type_, user_id, at, {"user_id": user_id, **data})
