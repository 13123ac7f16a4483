"""The revocations a quiz service learnt from the auth events, held in memory: revoked
sessions and token ids, and each user's valid-after cut-off. The decision is the
Redis denylist's own (quizauth_wire.is_denied), on the same three values, so the two
modes cannot decide differently on the same revocations.

An entry is kept `keep_seconds` past the event that made it (past the cut-off itself,
for a valid-after): long enough to outlive every token it can deny, given that
`keep_seconds` covers the access tokens' lifetime, the verifier's leeway and some
clock skew between the auth service and this process."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from quizauth_wire import EventType, is_denied

# The events that revoke access tokens, and only those.
REVOCATION_EVENTS = (
    EventType.USER_LOGGED_OUT,
    EventType.SESSION_REVOKED,
    EventType.USER_TOKENS_REVOKED,
)
DENIED = b"1"


class UnreadableEvent(ValueError):
    """A message on a revocation topic that is not a revocation this client can read."""


@dataclass(frozen=True)
class Revocation:
    """What one event revokes."""

    session_ids: tuple[str, ...] = ()
    jtis: tuple[str, ...] = ()
    user_id: str | None = None
    valid_after: int | None = None  # with user_id: tokens issued earlier are dead


def revocation_of(value: bytes | None) -> Revocation | None:
    """The revocation a message carries; None for an event of another type (nothing to
    deny). UnreadableEvent for anything else: not JSON, or missing what it must name."""
    try:
        envelope = json.loads(value or b"")
    except (ValueError, RecursionError) as exc:
        raise UnreadableEvent("not a JSON event") from exc
    if not isinstance(envelope, dict) or not isinstance(envelope.get("data"), dict):
        raise UnreadableEvent("not an event envelope")
    kind, data = envelope.get("type"), envelope["data"]
    if kind == EventType.USER_LOGGED_OUT:
        return Revocation(session_ids=(text(data, "session_id"),), jtis=optional_jtis(data))
    if kind == EventType.SESSION_REVOKED:
        return Revocation(session_ids=texts(data, "session_ids"))
    if kind == EventType.USER_TOKENS_REVOKED:
        return Revocation(user_id=text(data, "user_id"), valid_after=seconds(data))
    return None


def text(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value:
        raise UnreadableEvent(f"{name} is not a non-empty string")
    return value


def texts(data: Mapping[str, Any], name: str) -> tuple[str, ...]:
    values = data.get(name)
    if not isinstance(values, list) or not values:
        raise UnreadableEvent(f"{name} is not a non-empty list")
    return tuple(text({name: v}, name) for v in values)


def optional_jtis(data: Mapping[str, Any]) -> tuple[str, ...]:
    """A logout denies its session, which covers its token; a jti, should a later
    release send one, is denied as well."""
    return (text(data, "jti"),) if "jti" in data else ()


def seconds(data: Mapping[str, Any]) -> int:
    value = data.get("valid_after")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise UnreadableEvent("valid_after is not whole seconds")
    return value


class DenySet:
    def __init__(self, keep_seconds: float) -> None:
        self._keep = keep_seconds
        self._sessions: dict[str, float] = {}  # id -> when the entry may go
        self._jtis: dict[str, float] = {}
        self._valid_after: dict[str, tuple[int, float]] = {}  # user -> (cut-off, until)

    def apply(self, revocation: Revocation, at: float) -> None:
        """Record a revocation the log holds from `at` (seconds since the epoch).
        Applying one twice, or out of order, changes nothing: events may come again."""
        until = at + self._keep
        for session_id in revocation.session_ids:
            self._sessions[session_id] = max(until, self._sessions.get(session_id, until))
        for jti in revocation.jtis:
            self._jtis[jti] = max(until, self._jtis.get(jti, until))
        if revocation.user_id is not None and revocation.valid_after is not None:
            self._raise_cut_off(revocation.user_id, revocation.valid_after, until)

    def _raise_cut_off(self, user_id: str, valid_after: int, until: float) -> None:
        held, held_until = self._valid_after.get(user_id, (valid_after, until))
        # The cut-off can only move later: an older event replayed must not lower it.
        cut_off = max(held, valid_after)
        self._valid_after[user_id] = (cut_off, max(held_until, until, cut_off + self._keep))

    def is_revoked(self, jti: str, user_id: str, session_id: str, issued_at: int) -> bool:
        cut_off = self._valid_after.get(user_id)
        values = [
            DENIED if jti in self._jtis else None,
            DENIED if session_id in self._sessions else None,
            str(cut_off[0]).encode() if cut_off else None,
        ]
        return is_denied(values, issued_at)

    def prune(self, now: float) -> None:
        """Drop the entries no live token can need any more."""
        for entries in (self._sessions, self._jtis):
            for key in [k for k, until in entries.items() if until < now]:
                del entries[key]
        for user in [u for u, (_, until) in self._valid_after.items() if until < now]:
            del self._valid_after[user]

    def __len__(self) -> int:
        return len(self._sessions) + len(self._jtis) + len(self._valid_after)
