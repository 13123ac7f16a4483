"""Accounts: registration, login and the current user. Framework-free (an import-linter
contract keeps FastAPI out); the session a login opens, and logout, belong to
auth_api.sessions."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from auth_api.accounts.emails import login_key, new_account_email
from auth_api.accounts.profile_cache import ProfileCache
from auth_api.errors import (
    FieldProblem,
    InvalidCredentials,
    InvalidInput,
    NotAuthenticated,
    RateLimited,
    WeakPassword,
)
from auth_api.model.clock import SYSTEM_CLOCK, Clock
from auth_api.model.events import EventType, PendingEvent
from auth_api.model.user import User, new_user_id
from auth_api.passwords.hasher import PasswordHasher
from auth_api.passwords.policy import password_problems
from auth_api.passwords.strength import StrengthChecker, personal_words
from auth_api.security.stores import LimitRule, RateLimiter
from auth_api.sessions.service import SessionService, TokenPair
from auth_api.store.ports import LoginRecord, UserStore
from auth_api.tokens.claims import AccessClaims

audit = logging.getLogger("auth_api.audit")


@dataclass(frozen=True)
class RateLimits:
    login_account: int
    login_ip: int
    login_window_seconds: int
    register_ip: int
    register_window_seconds: int


@dataclass(frozen=True)
class LoginAttempt:
    email: str
    password: str
    client_ip: str
    user_agent: str = ""


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    display_name: str | None


def profile(user: User) -> dict[str, object]:
    """What an event tells consumers about the user: never a hash or a token."""
    return {"user_id": user.id, "email": user.email, "display_name": user.display_name}


class AccountService:
    def __init__(
        self,
        users: UserStore,
        hasher: PasswordHasher,
        sessions: SessionService,
        limiter: RateLimiter,
        limits: RateLimits,
        on_event_recorded: Callable[[str], None],
        profiles: ProfileCache,
        strength: StrengthChecker,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self._clock = clock
        self._strength = strength
        self._users = users
        self._profiles = profiles
        self._hasher = hasher
        self._sessions = sessions
        self._limiter = limiter
        self._limits = limits
        self._on_event_recorded = on_event_recorded

    async def register(self, form: Registration, client_ip: str) -> User:
        try:
            email_normalized = new_account_email(form.email)
        except ValueError as exc:
            raise InvalidInput([FieldProblem("email", str(exc))]) from exc
        # The free rules first; the strength estimate costs CPU, so it comes after the
        # throttle, and every attempt that reaches it counts against the limit.
        if problems := password_problems(form.password, email_normalized):
            raise WeakPassword(problems)
        limits = self._limits
        rule = LimitRule(
            f"register:ip:{client_ip}", limits.register_ip, limits.register_window_seconds
        )
        await self._throttle([rule])
        inputs = personal_words(email_normalized, form.display_name)
        if problems := await self._strength.problems(form.password, inputs):
            raise WeakPassword(problems)
        user = await self._new_user(form, email_normalized)
        event = PendingEvent.create(
            EventType.USER_REGISTERED,
            user.id,
            user.created_at,
            {**profile(user), "registered_at": user.created_at},
        )
        await self._users.create(user, event)
        self._on_event_recorded(user.id)
        audit.info("register", extra={"audit": "register", "user_id": user.id})
        return user

    async def _new_user(self, form: Registration, email_normalized: str) -> User:
        now = self._clock.now()
        return User(
            id=new_user_id(),
            email=form.email.strip(),
            email_normalized=email_normalized,
            display_name=form.display_name or email_normalized.partition("@")[0],
            password_hash=await self._hasher.hash(form.password),
            created_at=now,
            updated_at=now,
        )

    async def login(self, attempt: LoginAttempt) -> TokenPair:
        key = login_key(attempt.email)
        account_rule = self._account_rule(key)
        await self._throttle([account_rule, self._ip_rule(attempt.client_ip)])
        user = await self._users.find_by_email(key)
        result = await self._hasher.verify(attempt.password, user.password_hash if user else None)
        if user is None or not result.valid or not user.is_active:
            audit.info(
                "login failed", extra={"audit": "login_failure", "client_ip": attempt.client_ip}
            )
            raise InvalidCredentials
        await self._limiter.reset(account_rule.key)
        opened = self._sessions.open(user, attempt.user_agent)
        now = opened.session.created_at
        event = PendingEvent.create(
            EventType.USER_LOGGED_IN,
            user.id,
            now,
            {
                **profile(user),
                "session_id": opened.session.id,
                "logged_in_at": now,
                "method": "password",
            },
        )
        record = LoginRecord(
            user.id, now, event, result.new_hash, opened.session, opened.stale_session_ids
        )
        await self._users.record_login(record)
        self._on_event_recorded(user.id)
        audit.info("login", extra={"audit": "login_success", "user_id": user.id})
        return self._sessions.token_pair(user.id, opened.session, opened.refresh_token)

    async def current_user(self, claims: AccessClaims) -> User:
        user = self._profiles.get(claims.user_id)
        if user is None:
            # Stored only when read from the store: a hit must not extend the entry's life.
            user = await self._users.find_by_id(claims.user_id)
            if user is not None:
                self._profiles.put(user)
        if user is None or not user.is_active:
            raise NotAuthenticated
        return user

    def _account_rule(self, email_key: str) -> LimitRule:
        # Hashed so that Redis holds no email addresses.
        digest = hashlib.sha256(email_key.encode()).hexdigest()[:32]
        limits = self._limits
        return LimitRule(
            f"login:account:{digest}", limits.login_account, limits.login_window_seconds
        )

    def _ip_rule(self, client_ip: str) -> LimitRule:
        limits = self._limits
        return LimitRule(f"login:ip:{client_ip}", limits.login_ip, limits.login_window_seconds)

    async def _throttle(self, rules: list[LimitRule]) -> None:
        decision = await self._limiter.hit(rules)
        if not decision.allowed:
            audit.info("throttled", extra={"audit": "rate_limited", "rule": rules[0].key})
            raise RateLimited(decision.retry_after_seconds)
