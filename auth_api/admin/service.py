"""The admin API's service: who may administer, and what they may do to a user.

Every change is recorded with its event in one write, guarded by the state it was
decided on. A change that must reach tokens already issued (new roles, a disabled
account, logout everywhere) then writes the user's valid-after time to the denylist,
after the store: a token carrying what was read before the change was issued no later
than that read, so it falls before the cut-off. The call answers once the cut-off
second has passed, so that a token issued after the answer carries the change and is
valid. Each call writes one audit line naming the admin and the target."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from auth_api.admin.events import disabled_event, enabled_event, roles_changed_event
from auth_api.admin.listing import ListRequest, encode_cursor, to_query
from auth_api.errors import (
    DependencyUnavailable,
    Forbidden,
    UnknownRoles,
    UserNotFound,
)
from auth_api.model.clock import SYSTEM_CLOCK, Clock
from auth_api.model.roles import RoleCatalog
from auth_api.model.session import Session, SessionPolicy
from auth_api.model.user import User
from auth_api.security.login_limits import account_ip_prefix, account_key, account_subject
from auth_api.security.stores import RateLimiter, RevocationStore
from auth_api.sessions.service import (
    SessionService,
    session_revoked_event,
    tokens_revoked_event,
)
from auth_api.store.admin_ports import (
    AdminStore,
    Disabling,
    Enabling,
    RolesChange,
    keeping_an_admin,
)
from auth_api.store.ports import SessionStore, UserStore
from auth_api.tokens.claims import AccessClaims
from quizauth_wire import ADMIN_ROLE, RevocationReason, valid_after_value, with_user_role

audit = logging.getLogger("auth_api.audit")
Sleep = Callable[[float], Awaitable[None]]
# A guarded write loses only to a concurrent change of the same user; after this many
# lost rounds in a row the store is answered as too busy.
WRITE_ATTEMPTS = 5
CUTOFF_MARGIN_SECONDS = 0.005


@dataclass(frozen=True)
class Actor:
    """Who administers: an admin user, or (user_id None) the command line."""

    user_id: str | None

    @property
    def name(self) -> str:
        return self.user_id or "cli"


CLI = Actor(None)


@dataclass(frozen=True)
class UserPage:
    users: list[User]
    next_cursor: str | None


@dataclass(frozen=True)
class SessionView:
    session: Session
    active: bool


@dataclass(frozen=True)
class UserDetail:
    user: User
    sessions: list[SessionView]


@dataclass(frozen=True)
class AdminStores:
    users: UserStore
    sessions: SessionStore
    admin: AdminStore


class AdminService:
    def __init__(
        self,
        stores: AdminStores,
        sessions: SessionService,
        revocations: RevocationStore,
        limiter: RateLimiter,
        catalog: RoleCatalog,
        policy: SessionPolicy,
        denial_seconds: int,
        on_event_recorded: Callable[[str], None],
        on_user_changed: Callable[[str], None],
        clock: Clock = SYSTEM_CLOCK,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._stores = stores
        self._sessions = sessions
        self._revocations = revocations
        self._limiter = limiter
        self.catalog = catalog
        self._policy = policy
        self._denial_seconds = denial_seconds
        self._on_event_recorded = on_event_recorded
        self._on_user_changed = on_user_changed
        self._clock = clock
        self._sleep = sleep

    # --- Who may administer ---------------------------------------------------------

    async def authorize(self, claims: AccessClaims) -> Actor:
        """The admin behind these claims. The token must carry the role, and the store
        must still say so now: a removed or disabled admin is refused at once, not when
        their token expires. Never served from a cache."""
        if ADMIN_ROLE in claims.roles:
            user = await self._stores.users.find_by_id(claims.user_id)
            if user is not None and user.is_admin:
                return Actor(user.id)
        audit.info("admin refused", extra={"audit": "admin_refused", "user_id": claims.user_id})
        raise Forbidden

    # --- Reading ----------------------------------------------------------------------

    async def list_users(self, actor: Actor, request: ListRequest) -> UserPage:
        query = to_query(request, self.catalog)
        found = await self._stores.admin.list_users(query)
        page = found[: request.limit]
        more = len(found) > request.limit
        self._audit(actor, "list_users", "users")
        return UserPage(page, encode_cursor(page[-1].email_normalized) if more else None)

    def known_roles(self, actor: Actor) -> RoleCatalog:
        self._audit(actor, "list_roles", "roles")
        return self.catalog

    async def detail(self, actor: Actor, user_id: str) -> UserDetail:
        user = await self._existing(user_id)
        now = self._clock.now()
        views = [
            SessionView(s, s.is_active(now, self._policy) and user.may_refresh(s))
            for s in user.sessions.values()
        ]
        views.sort(key=lambda v: v.session.last_used_at, reverse=True)
        self._audit(actor, "view_user", user_id)
        return UserDetail(user, views)

    # --- Roles ------------------------------------------------------------------------

    async def set_roles(self, actor: Actor, user_id: str, roles: Iterable[str]) -> User:
        """Exactly these roles (and `user`). Unchanged roles change nothing in the store,
        but still end the tokens issued before: this may retry a call whose denial failed."""
        requested = with_user_role(roles)
        if unknown := self.catalog.unknown(requested):
            raise UnknownRoles(unknown)
        user = await self._write_roles(actor, user_id, requested)
        await self._deny_tokens(user.id, RevocationReason.ROLES_CHANGED)
        self._audit(actor, "set_roles", user.id, roles=sorted(requested))
        return user

    async def _write_roles(self, actor: Actor, user_id: str, requested: frozenset[str]) -> User:
        for _ in range(WRITE_ATTEMPTS):
            user = await self._existing(user_id)
            if user.roles == requested:
                return user
            loses_admin = user.is_admin and ADMIN_ROLE not in requested
            async with keeping_an_admin(self._stores.admin, loses_admin):
                changed = await self._change_roles(actor, user, user.roles, requested)
            if changed:
                user.roles = requested
                return user
        raise DependencyUnavailable("mongodb")

    async def _change_roles(
        self, actor: Actor, user: User, old: frozenset[str], new: frozenset[str]
    ) -> bool:
        now = self._clock.now()
        event = roles_changed_event(user.id, old, new, now, actor.user_id)
        changed = await self._stores.admin.change_roles(RolesChange(user.id, old, new, now, event))
        if changed:
            self._recorded(user.id)
        return changed

    # --- Disabling and enabling -------------------------------------------------------

    async def disable(self, actor: Actor, user_id: str, reason: str) -> User:
        """Every session ends and every token dies, on every instance. Disabling a
        disabled user changes nothing but denies the tokens again (a retry may need it)."""
        user = await self._existing(user_id)
        for _ in range(WRITE_ATTEMPTS):
            if not user.is_active:
                break
            if await self._write_disable(actor, user, reason):
                break
            user = await self._existing(user_id)
        else:
            raise DependencyUnavailable("mongodb")
        await self._revocations.revoke_sessions(user.id, list(user.sessions), self._denial_seconds)
        await self._deny_tokens(user.id, RevocationReason.ACCOUNT_DISABLED)
        self._audit(actor, "disable", user.id)
        return await self._existing(user.id)

    async def _write_disable(self, actor: Actor, user: User, reason: str) -> bool:
        async with keeping_an_admin(self._stores.admin, user.is_admin):
            return await self._store_disable(actor, user, reason)

    async def _store_disable(self, actor: Actor, user: User, reason: str) -> bool:
        now = self._clock.now()
        reason_code = RevocationReason.ACCOUNT_DISABLED
        ended = [
            s.revoked(now, reason_code)
            for s in user.sessions.values()
            if s.is_active(now, self._policy)
        ]
        ids = [s.id for s in ended]
        events = [disabled_event(user.id, reason, ids, now, actor.user_id)]
        if ended:
            events.append(session_revoked_event(user.id, ids, reason_code, now))
        if not await self._stores.admin.disable(Disabling(user.id, now, reason, ended, events)):
            return False
        self._recorded(user.id)
        return True

    async def enable(self, actor: Actor, user_id: str) -> User:
        user = await self._existing(user_id)
        if not user.is_active:
            await self._write_enable(actor, user.id)
            self._on_user_changed(user.id)
        self._audit(actor, "enable", user.id)
        return await self._existing(user.id)

    async def _write_enable(self, actor: Actor, user_id: str) -> None:
        now = self._clock.now()
        event = enabled_event(user_id, now, actor.user_id)
        if await self._stores.admin.enable(Enabling(user_id, now, event)):
            self._recorded(user_id)

    # --- Sessions and throttling -----------------------------------------------------

    async def logout_all(self, actor: Actor, user_id: str) -> None:
        """What the user's own logout-all does, answered once its cut-off has passed."""
        user = await self._existing(user_id)
        cutoff = await self._sessions.end_all_of(user.id, RevocationReason.ENDED_BY_ADMIN)
        self._on_user_changed(user.id)
        await self._wait_until(cutoff)
        self._audit(actor, "logout_all", user.id)

    async def lift_rate_limits(self, actor: Actor, user_id: str) -> None:
        """Clears the account's login counters, from every address: its per-address
        refusals and the account-wide slowdown."""
        user = await self._existing(user_id)
        account = account_subject(user.email_normalized)
        await self._limiter.reset_prefix(account_ip_prefix(account))
        await self._limiter.reset(account_key(account))
        self._audit(actor, "lift_rate_limits", user.id)

    # --- Helpers ----------------------------------------------------------------------

    async def find_by_email(self, email_normalized: str) -> User | None:
        return await self._stores.users.find_by_email(email_normalized)

    async def _existing(self, user_id: str) -> User:
        user = await self._stores.sessions.find_with_sessions(user_id)
        if user is None or user.deleted_at is not None:  # a deleted account is gone
            raise UserNotFound
        return user

    async def _deny_tokens(self, user_id: str, reason: RevocationReason) -> None:
        """Every token of the user issued up to now dies (`iat` has whole seconds, so the
        whole current second is included): in Redis, then for the services that follow
        revocations by events, a `user.tokens_revoked` in a write of its own. The cut-off
        is taken now, after the change's write, never before it: a token read before
        that write must fall before the cut-off. Answered once that second is over."""
        self._on_user_changed(user_id)
        now = self._clock.now()
        cutoff = valid_after_value(now.timestamp())
        await self._revocations.revoke_user_tokens(user_id, cutoff, self._denial_seconds)
        event = tokens_revoked_event(user_id, cutoff, reason, now)
        if await self._stores.admin.record_events(user_id, [event]):
            self._on_event_recorded(user_id)
        await self._wait_until(cutoff)

    async def _wait_until(self, cutoff: int) -> None:
        # A timer may fire a little early: wait until the wall clock has passed it.
        while (remaining := cutoff - self._clock.now().timestamp()) > 0:
            await self._sleep(remaining + CUTOFF_MARGIN_SECONDS)

    def _recorded(self, user_id: str) -> None:
        self._on_event_recorded(user_id)
        self._on_user_changed(user_id)

    @staticmethod
    def _audit(actor: Actor, action: str, target: str, **extra: object) -> None:
        audit.info(
            "admin action",
            extra={"audit": f"admin_{action}", "admin_id": actor.name, "target": target, **extra},
        )
