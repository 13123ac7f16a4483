"""Sessions as stored: a map inside the user's document, keyed by session id, so that
a session change and the event reporting it are one single-document write. And roles
as stored: a sorted array, `user` included, so that a filter on one role is a plain
equality and a compare-and-set on all of them an equality on the array."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auth_api.model.session import Session
from quizauth_wire import with_user_role


def roles_to_document(roles: Iterable[str]) -> list[str]:
    return sorted(with_user_role(roles))


def roles_from_document(doc: dict[str, Any]) -> frozenset[str]:
    """`roles`, or the single `role` that documents of earlier releases hold."""
    stored = doc.get("roles")
    if stored is None:
        legacy = doc.get("role")
        stored = [legacy] if isinstance(legacy, str) else []
    return with_user_role(str(role) for role in stored)


def session_to_document(session: Session) -> dict[str, Any]:
    return {
        "created_at": session.created_at,
        "last_used_at": session.last_used_at,
        "expires_at": session.expires_at,
        "user_agent": session.user_agent,
        "refresh_hash": session.refresh_hash,
        "generation": session.generation,
        "previous_hash": session.previous_hash,
        "rotated_at": session.rotated_at,
        "spent_hashes": list(session.spent_hashes),
        "revoked_at": session.revoked_at,
        "revoked_reason": session.revoked_reason,
    }


def session_from_document(session_id: str, doc: dict[str, Any]) -> Session:
    return Session(
        id=session_id,
        created_at=doc["created_at"],
        last_used_at=doc["last_used_at"],
        expires_at=doc["expires_at"],
        user_agent=doc.get("user_agent", ""),
        refresh_hash=doc["refresh_hash"],
        generation=int(doc.get("generation", 0)),
        previous_hash=doc.get("previous_hash"),
        rotated_at=doc.get("rotated_at"),
        spent_hashes=tuple(doc.get("spent_hashes", ())),
        revoked_at=doc.get("revoked_at"),
        revoked_reason=doc.get("revoked_reason"),
    )


def sessions_from_document(doc: dict[str, Any]) -> dict[str, Session]:
    raw = doc.get("sessions") or {}
    return {sid: session_from_document(sid, value) for sid, value in raw.items()}
