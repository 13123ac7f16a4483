"""Deleting the account, and exporting what is stored about it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from auth_api.accounts.lifecycle_base import LifecycleFlows, audit
from auth_api.errors import NotAuthenticated
from auth_api.model.events import EventType, PendingEvent
from auth_api.store.account_ports import AccountChange, AccountRecord, AccountState
from auth_api.store.admin_ports import keeping_an_admin
from auth_api.tokens.claims import AccessClaims
from quizauth_wire import RevocationReason


def tombstone_fields(user_id: str, now: datetime) -> dict[str, Any]:
    """What replaces the personal data. The normalised address becomes a value no
    address can be, so the unique index frees the real one for a new registration."""
    return {
        "email": "",
        "email_normalized": f"deleted:{user_id}",
        "display_name": "",
        "password_hash": "",
        "email_verified": False,
        "email_verified_at": None,
        "is_active": False,
        "deleted_at": now,
        "updated_at": now,
        "last_login_at": None,
    }


class ClosureFlows(LifecycleFlows):
    async def delete(self, claims: AccessClaims, password: str, client_ip: str) -> None:
        user = await self._current(claims.user_id)
        await self._throttle("delete", user.id, client_ip)
        await self._deps.accounts.confirm_password(user, password, client_ip)
        # The last admin may not leave (409, and nothing revoked): the command line could
        # make another, but an admin page nobody can open is not to be found by accident.
        async with keeping_an_admin(self._deps.admins, user.is_admin):
            ended = await self._erase(user.id)
        # As for a reset: a refresh signed after the cut-off's second dies with its session.
        await self._deny_sessions(user.id, ended)
        audit.info("account deleted", extra={"audit": "account_deleted", "user_id": user.id})

    async def _erase(self, user_id: str) -> list[str]:
        """The tombstone written; the sessions that were live, for their denial."""
        cut_off = await self._revoke_every_token(user_id, RevocationReason.ACCOUNT_DELETED)
        now = self._clock.now()
        ended: list[str] = []

        def decide(state: AccountState) -> AccountChange | None:
            if state.user.deleted_at is not None:
                return None
            ended[:] = [s.id for s in state.user.sessions.values() if s.revoked_at is None]
            # Only the id and the time: a consumer erasing the user needs nothing more.
            data = {"user_id": state.user.id, "deleted_at": now}
            event = PendingEvent.create(EventType.USER_DELETED, state.user.id, now, data)
            return AccountChange(
                fields=tombstone_fields(state.user.id, now),
                clear_tokens=True,
                clear_sessions=True,
                clear_mails=True,
                events=[cut_off, event],
            )

        if await self._change(user_id, decide) is None:
            raise NotAuthenticated
        return ended

    async def export(self, claims: AccessClaims, client_ip: str) -> dict[str, Any]:
        await self._throttle("export", claims.user_id, client_ip)
        record = await self._deps.store.account(claims.user_id)
        if record is None or not record.user.is_active:
            raise NotAuthenticated
        return exported(record, self._clock.now(), claims.session_id)


def exported(record: AccountRecord, now: datetime, current_session: str) -> dict[str, Any]:
    """Everything stored about the user, without a secret: no password hash, no refresh
    token hash, no token hash, no nonce."""
    user = record.user
    return {
        "exported_at": now,
        "profile": {
            "id": user.id,
            "email": user.email,
            "display_name": user.display_name,
            "created_at": user.created_at,
            "updated_at": user.updated_at,
            "last_login_at": user.last_login_at,
        },
        "roles": sorted(user.roles),
        "verification": {
            "email_verified": user.email_verified,
            "email_verified_at": user.email_verified_at,
        },
        "sessions": [
            {
                "id": s.id,
                "created_at": s.created_at,
                "last_used_at": s.last_used_at,
                "expires_at": s.expires_at,
                "user_agent": s.user_agent,
                "revoked_at": s.revoked_at,
                "revoked_reason": s.revoked_reason,
                "current": s.id == current_session,
            }
            for s in user.sessions.values()
        ],
        "pending_requests": [
            {"purpose": purpose, "expires_at": t.expires_at, "new_email": t.new_email}
            for purpose, t in record.tokens.items()
        ],
        "pending_events": [
            {"id": e.id, "type": str(e.type), "time": e.time, "data": e.data} for e in record.events
        ],
        "pending_mails": [
            {"id": m.id, "kind": str(m.kind), "to": m.to, "created_at": m.created_at}
            for m in record.mails
        ],
    }
