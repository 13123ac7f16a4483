"""Accounts: registration, login and the current user. Framework-free (an import-linter
contract keeps FastAPI out); the session a login opens, and logout, belong to
auth_api.sessions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from auth_api.accounts.emails import login_key, new_account_email
from auth_api.accounts.profile_cache import ProfileCache
from auth_api.accounts.welcome import welcome
from auth_api.errors import (
    AccountDisabled,
    EmailNotVerified,
    FieldProblem,
    InvalidCredentials,
    InvalidInput,
    NotAuthenticated,
    RateLimited,
    WeakPassword,
)
from auth_api.model.clock import SYSTEM_CLOCK, Clock
from auth_api.model.events import EventType, PendingEvent
from auth_api.model.one_time_tokens import OneTimeTokens
from auth_api.model.user import User, new_user_id
from auth_api.passwords.hasher import PasswordHasher
from auth_api.passwords.policy import password_problems
from auth_api.passwords.strength import StrengthChecker, personal_words
from auth_api.security.addresses import limit_subject
from auth_api.security.login_limits import account_ip_key, account_key, account_subject
from auth_api.security.stores import LimitDecision, LimitRule, RateLimiter
from auth_api.sessions.service import SessionService, TokenPair
from auth_api.store.ports import LoginRecord, UserStore
from auth_api.tokens.claims import AccessClaims

audit = logging.getLogger("auth_api.audit")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Slowdown:
    """The account-wide answer to guessing spread over many addresses: a wait, never a
    refusal, so that nobody can lock an owner out by failing on purpose."""

    after_failures: int
    step_seconds: float
    max_seconds: float

    def wait_seconds(self, attempt: int) -> float:
        """The wait before the `attempt`-th attempt since the account's last success."""
        beyond = attempt - self.after_failures
        return 0.0 if beyond <= 0 else min(beyond * self.step_seconds, self.max_seconds)


@dataclass(frozen=True)
class RateLimits:
    login_account_ip: int
    login_ip: int
    login_window_seconds: int
    register_ip: int
    register_global: int
    register_window_seconds: int
    login_slowdown: Slowdown
    require_verified_email: bool = False


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
        sleep: Sleep = asyncio.sleep,
        mail_tokens: OneTimeTokens | None = None,
        on_mail_recorded: Callable[[str], None] = lambda _user_id: None,
    ) -> None:
        self._clock = clock
        # With mail tokens, registration records a verification mail with the account.
        self._mail_tokens = mail_tokens
        self._on_mail_recorded = on_mail_recorded
        self._sleep = sleep
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
        await self._throttle(self._register_rules(client_ip))
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
        greeting = welcome(self._mail_tokens, user) if self._mail_tokens else None
        await self._users.create(user, event, greeting)
        self._on_event_recorded(user.id)
        if greeting is not None:
            self._on_mail_recorded(user.id)
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
        rules = self._login_rules(key, attempt.client_ip)
        decision = await self._throttle(rules)
        # The account-wide count (the last rule) slows every address down alike; the
        # event loop keeps serving others meanwhile.
        if wait := self._limits.login_slowdown.wait_seconds(decision.counts[-1]):
            await self._sleep(wait)
        read_at = self._clock.now()  # the access token's issue time: see issue()
        user = await self._users.find_by_email(key)
        result = await self._hasher.verify(attempt.password, user.password_hash if user else None)
        if user is None or not result.valid:
            audit.info(
                "login failed", extra={"audit": "login_failure", "client_ip": attempt.client_ip}
            )
            raise InvalidCredentials
        if not user.is_active:  # said only to whoever knows the password
            audit.info("login refused", extra={"audit": "login_disabled", "user_id": user.id})
            raise AccountDisabled
        await self._limiter.reset(*(rule.key for rule in rules[1:]))
        # Only now: an unverified account must not tell a guesser its password was right
        # any sooner than a verified one would.
        if self._limits.require_verified_email and not user.email_verified:
            raise EmailNotVerified
        opened = await self._sessions.open(user, attempt.user_agent)
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
            user.id,
            now,
            event,
            result.new_hash,
            opened.session,
            opened.stale_session_ids,
            opened.events,
            checked_hash=user.password_hash,
        )
        if not await self._users.record_login(record):
            # The password was reset or changed, or the account disabled or deleted,
            # since it was checked: what the check said no longer holds.
            audit.info("login lost a race", extra={"audit": "login_failure", "user_id": user.id})
            raise InvalidCredentials
        self._on_event_recorded(user.id)
        audit.info("login", extra={"audit": "login_success", "user_id": user.id})
        return self._sessions.token_pair(user, opened.session, opened.refresh_token, read_at)

    async def check_new_password(self, password: str, user: User) -> None:
        """Registration's policy, for a password that replaces `user`'s: WeakPassword."""
        if problems := password_problems(password, user.email_normalized):
            raise WeakPassword(problems)
        inputs = personal_words(user.email_normalized, user.display_name)
        if problems := await self._strength.problems(password, inputs):
            raise WeakPassword(problems)

    async def confirm_password(self, user: User, password: str, client_ip: str) -> None:
        """A password asked for again by an authenticated request (change, delete): it
        counts toward the account's login limits as a login would, and a success resets
        the account's counts as a login's does."""
        rules = self._login_rules(user.email_normalized, client_ip)
        await self._throttle(rules)
        result = await self._hasher.verify(password, user.password_hash)
        if not result.valid:
            audit.info(
                "password confirmation failed",
                extra={"audit": "login_failure", "client_ip": client_ip},
            )
            raise InvalidCredentials
        await self._limiter.reset(*(rule.key for rule in rules[1:]))

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

    def _login_rules(self, email_key: str, client_ip: str) -> list[LimitRule]:
        """Per address, per (account, address), and the account-wide count, which only
        counts: a success resets the last two."""
        account = account_subject(email_key)
        subject = limit_subject(client_ip)
        limits = self._limits
        window = limits.login_window_seconds
        return [
            LimitRule(f"login:ip:{subject}", limits.login_ip, window),
            LimitRule(account_ip_key(account, subject), limits.login_account_ip, window),
            LimitRule(account_key(account), None, window),
        ]

    def _register_rules(self, client_ip: str) -> list[LimitRule]:
        # The address first: an address over its own limit must not spend the budget.
        limits = self._limits
        window = limits.register_window_seconds
        return [
            LimitRule(f"register:ip:{limit_subject(client_ip)}", limits.register_ip, window),
            LimitRule("register:global", limits.register_global, window),
        ]

    async def _throttle(self, rules: list[LimitRule]) -> LimitDecision:
        decision = await self._limiter.hit(rules)
        if not decision.allowed:
            full = [r.key for r, n in zip(rules, decision.counts, strict=True) if r.is_full(n)]
            audit.info("throttled", extra={"audit": "rate_limited", "rule": full[0]})
            raise RateLimited(decision.retry_after_seconds)
        return decision
