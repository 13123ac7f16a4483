"""The account and session services assembled from in-memory twins and a manual clock:
no server, no HTTP, no sleep. Each test gets a fresh set."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import jwt

from auth_api.accounts.profile_cache import ProfileCache
from auth_api.accounts.service import (
    AccountService,
    LoginAttempt,
    RateLimits,
    Registration,
    Slowdown,
)
from auth_api.model.session import Session, SessionPolicy
from auth_api.model.user import User
from auth_api.passwords.hasher import HashParameters, PasswordHasher
from auth_api.passwords.strength import StrengthChecker
from auth_api.security.memory_stores import MemoryRateLimiter, MemoryRevocationStore
from auth_api.sessions.service import SessionService, TokenPair
from auth_api.store.memory import MemoryUserStore
from auth_api.tokens.access import AccessTokenCodec
from auth_api.tokens.claims import AccessClaims
from auth_api.tokens.keys import KeySet, hmac_key
from tests.support.clock import ManualClock

PASSWORD = "correct horse battery staple"
CLIENT_IP = "203.0.113.7"
USER_AGENT = "unit-test/1.0"

# The cheapest parameters passlib accepts: argon2 needs 8 KiB per lane and one pass,
# bcrypt four rounds. Hashing then costs microseconds, not the production ~50 ms.
CHEAPEST_HASHING = HashParameters(
    argon2_memory_kib=8, argon2_time_cost=1, argon2_parallelism=1, bcrypt_rounds=4
)

# The production defaults, so the numbers in tests read like the settings.
POLICY = SessionPolicy(
    absolute_lifetime=timedelta(days=30),
    idle_timeout=timedelta(days=7),
    reuse_grace=timedelta(seconds=5),
)
ACCESS_TTL_SECONDS = 900
LEEWAY_SECONDS = 10

# Small limits, so reaching them takes a handful of attempts. The IP limit is the larger,
# as in production, so the (account, address) limit can be reached without it.
LIMITS = RateLimits(
    login_account_ip=3,
    login_ip=10,
    login_window_seconds=900,
    register_ip=10,
    register_global=1000,
    register_window_seconds=3600,
    login_slowdown=Slowdown(after_failures=5, step_seconds=1.0, max_seconds=10.0),
)

# One estimator thread for every unit test; its pool ends with the process.
SHARED_STRENGTH = StrengthChecker(min_score=3)

SIGNING_SECRET = b"unit-test signing secret, long enough for HS256."
ROTATION_KEY = b"unit-test refresh rotation key, 32+ bytes long."
ISSUER, AUDIENCE = "quizauth", "quiz-services"


def fast_hasher(params: HashParameters = CHEAPEST_HASHING) -> PasswordHasher:
    """One worker thread; the caller closes it."""
    return PasswordHasher(params, concurrency=1)


@dataclass
class ServiceSet:
    clock: ManualClock
    store: MemoryUserStore
    revocations: MemoryRevocationStore
    limiter: MemoryRateLimiter
    codec: AccessTokenCodec
    sessions: SessionService
    accounts: AccountService
    # The user ids passed to the on_event_recorded hook, in call order.
    recorded: list[str] = field(default_factory=list)

    async def sign_up(self, email: str, password: str = PASSWORD) -> User:
        return await self.accounts.register(Registration(email, password, None), CLIENT_IP)

    async def log_in(
        self, email: str, password: str = PASSWORD, client_ip: str = CLIENT_IP
    ) -> TokenPair:
        return await self.accounts.login(LoginAttempt(email, password, client_ip, USER_AGENT))

    async def refresh(self, pair_or_token: TokenPair | str) -> TokenPair:
        token = pair_or_token if isinstance(pair_or_token, str) else pair_or_token.refresh_token
        return await self.sessions.refresh(token, USER_AGENT)

    def claims(self, pair: TokenPair) -> AccessClaims:
        """The access token's claims, its signature, issuer and audience checked. Not its
        times: PyJWT checks those against the real time, and these tokens carry the
        manual clock's (the codec's expiry checks have tests of their own)."""
        payload = jwt.decode(
            pair.access.token,
            SIGNING_SECRET,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"verify_exp": False, "verify_iat": False},
        )
        return AccessClaims(
            user_id=payload["sub"],
            jti=payload["jti"],
            session_id=payload["sid"],
            issued_at=payload["iat"],
            expires_at=payload["exp"],
        )

    async def is_denied(self, claims: AccessClaims, session_id: str | None = None) -> bool:
        """The revocation store's decision for these claims; `session_id` overrides the
        token's own, to look at the token key and the user cut-off alone."""
        return await self.revocations.is_revoked(
            claims.jti, claims.user_id, session_id or claims.session_id, claims.issued_at
        )

    async def stored_sessions(self, user_id: str) -> dict[str, Session]:
        sessions = await self.store.sessions_of(user_id)
        assert sessions is not None, f"no user {user_id}"
        return sessions

    async def event_types(self, user_id: str) -> list[str]:
        """The user's undelivered outbox events, oldest first."""
        pending = await self.store.pending_of(user_id)
        return [str(event.type) for event in pending.events] if pending else []


def build_services(
    clock: ManualClock,
    hasher: PasswordHasher,
    policy: SessionPolicy = POLICY,
    limits: RateLimits = LIMITS,
) -> ServiceSet:
    """Wired as auth_api.container wires them, with the twins and `clock` everywhere."""
    strength = SHARED_STRENGTH
    store = MemoryUserStore()
    revocations = MemoryRevocationStore(clock.monotonic)
    limiter = MemoryRateLimiter(clock.monotonic)
    codec = AccessTokenCodec(
        KeySet(hmac_key(SIGNING_SECRET)),
        issuer=ISSUER,
        audience=AUDIENCE,
        ttl_seconds=ACCESS_TTL_SECONDS,
        leeway_seconds=LEEWAY_SECONDS,
        clock=clock,
    )
    recorded: list[str] = []
    sessions = SessionService(
        store,
        codec,
        revocations,
        policy,
        ROTATION_KEY,
        on_event_recorded=recorded.append,
        clock=clock,
    )
    accounts = AccountService(
        store,
        hasher,
        sessions,
        limiter,
        limits,
        on_event_recorded=recorded.append,
        # Off: the cache reads the process's monotonic clock, not the injected one.
        profiles=ProfileCache(ttl_seconds=0),
        strength=strength,
        clock=clock,
        sleep=clock.sleep,
    )
    return ServiceSet(clock, store, revocations, limiter, codec, sessions, accounts, recorded)
