"""The wire contract between the auth service and the services that trust its tokens.

One module, standard library only, imported by the service (`auth_api`), the client
library (`quizauth_client`) and the reference consumers (`consumers`), so the writer
and the readers of each shared format cannot drift apart:

- the access token's required claims, its `token_type` claim and `typ` header, and the
  one parse of its header that both verifiers trust;
- the roles and scopes a token carries, and how a reader parses them;
- the Redis key layout of the revocation denylist, and the check built on it;
- the event types, the topic each is published to, and why sessions are revoked;
- the RFC 3339 timestamps events carry.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeGuard

# --- Access tokens -------------------------------------------------------------------

ACCESS_TOKEN_TYPE = "access"  # noqa: S105 - a claim value, not a secret
ACCESS_TOKEN_TYP_HEADER = "at+jwt"  # noqa: S105 - RFC 9068 media type, not a secret
# OpenID Connect's claim name; absent from tokens of earlier releases (read as false).
EMAIL_VERIFIED_CLAIM = "email_verified"
REQUIRED_CLAIMS: tuple[str, ...] = ("sub", "jti", "sid", "iat", "exp", "iss", "aud", "token_type")

# --- Roles and scopes ----------------------------------------------------------------
#
# An access token carries `roles` (a JSON array of role names, `user` always among them)
# and `scope` (the scopes those roles grant, space-separated, RFC 8693 section 4.2 and
# RFC 9068 section 2.2.3). Neither is required on decode: a token without them (issued
# before they existed) has the least privilege, `user` and no scope.

ROLES_CLAIM = "roles"
SCOPE_CLAIM = "scope"
USER_ROLE = "user"  # every user has it; implied, never granted or removed
ADMIN_ROLE = "admin"  # built in: the admin API needs it
BUILT_IN_ROLES = frozenset({USER_ROLE, ADMIN_ROLE})
MAX_ROLE_LENGTH = 32
_ROLE_NAME = re.compile(rf"[a-z][a-z0-9_-]{{0,{MAX_ROLE_LENGTH - 1}}}")
# RFC 6749 section 3.3 allows any printable ASCII but space, `"` and `\`; this is narrower,
# so that a scope is also safe in a log line, a URL and an environment variable.
_SCOPE_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")


def is_role_name(name: str) -> bool:
    return _ROLE_NAME.fullmatch(name) is not None


def is_scope_token(scope: str) -> bool:
    return _SCOPE_TOKEN.fullmatch(scope) is not None


def with_user_role(roles: Iterable[str]) -> frozenset[str]:
    return frozenset(roles) | {USER_ROLE}


def roles_from_claim(value: object) -> frozenset[str] | None:
    """The roles of a decoded `roles` claim: `user` when absent, None when malformed (a
    token that says something unreadable about privileges is refused, not downgraded)."""
    if value is None:
        return frozenset({USER_ROLE})
    if not isinstance(value, list) or not all(
        isinstance(r, str) and is_role_name(r) for r in value
    ):
        return None
    return with_user_role(value)


def scopes_from_claim(value: object) -> frozenset[str] | None:
    """The scopes of a decoded `scope` claim: none when absent, None when malformed."""
    if value is None:
        return frozenset()
    if not isinstance(value, str):
        return None
    scopes = value.split(" ") if value else []
    if not all(is_scope_token(s) for s in scopes):
        return None
    return frozenset(scopes)


@dataclass(frozen=True)
class WireClaims:
    """An access token's claims as the service and its clients both read them, once the
    signature, issuer, audience and times are checked."""

    user_id: str
    jti: str
    session_id: str
    issued_at: int
    expires_at: int
    roles: frozenset[str]
    scopes: frozenset[str]


def read_access_claims(claims: dict[str, object]) -> WireClaims | None:
    """The claims of a decoded access token, or None when it is not one the auth service
    issues: another token type, an id that is not a string, a time that is not a whole
    number (a JSON `true` is not one, though Python counts it as an int), or unreadable
    roles or scope. The one reading the service and `quizauth_client` share, so that the
    two cannot come to disagree on what a token is."""
    if claims.get("token_type") != ACCESS_TOKEN_TYPE:
        return None
    sub, jti, sid = claims.get("sub"), claims.get("jti"), claims.get("sid")
    iat, exp = claims.get("iat"), claims.get("exp")
    if not (isinstance(sub, str) and isinstance(jti, str) and isinstance(sid, str)):
        return None
    if not (_whole_number(iat) and _whole_number(exp)):
        return None
    roles = roles_from_claim(claims.get(ROLES_CLAIM))
    scopes = scopes_from_claim(claims.get(SCOPE_CLAIM))
    if roles is None or scopes is None:
        return None
    return WireClaims(sub, jti, sid, iat, exp, roles, scopes)


def _whole_number(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def scope_claim(scopes: Iterable[str]) -> str:
    return " ".join(sorted(scopes))


def token_header(token: str) -> dict[str, object] | None:
    """The JOSE header of a compact JWS, read without verifying anything: a JSON object,
    or None for anything else. Never raises, whatever the token holds: a header of
    thousands of nested `[` exhausts the JSON parser's recursion, and that too is None."""
    encoded = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, RecursionError):  # binascii.Error and UnicodeError are ValueErrors
        return None
    return header if isinstance(header, dict) else None


def is_access_token_typ(typ: object) -> bool:
    """RFC 9068: `at+jwt`, or its full media type `application/at+jwt`; media types
    compare case-insensitively. A token without `typ`, or of another type, is refused."""
    if not isinstance(typ, str):
        return False
    return typ.lower().removeprefix("application/") == ACCESS_TOKEN_TYP_HEADER


def access_token_kid(token: str) -> str | None:
    """The `kid` that picks the verifying key, for a token whose header is a JSON object
    declaring itself an access token; None (and so a refusal) for anything else."""
    header = token_header(token)
    if header is None or not is_access_token_typ(header.get("typ")):
        return None
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None


# --- The revocation denylist in Redis ------------------------------------------------

DEFAULT_REDIS_PREFIX = "auth:"
_DENYLIST_KINDS = ("revoked", "revoked-session", "valid-after")


@dataclass(frozen=True)
class DenylistLayout:
    """Where revocations live, under one prefix (AUTH_REDIS_PREFIX):

    revoked:{<user id>}:<jti>              "1": this access token is dead
    revoked-session:{<user id>}:<sid>      "1": every access token of this session is dead
    valid-after:{<user id>}                whole seconds since epoch: the user's tokens
                                           issued earlier are dead (see `valid_after_value`)

    The braces are Redis Cluster's hash tag: the three keys one check reads share the
    user's slot, so one MGET reads them on a cluster as on a single server.

    Each key outlives the newest token it can deny: that token's expiry plus the leeway
    the auth service grants past it (AUTH_JWT_LEEWAY_SECONDS). A verifier must grant no
    more leeway than that, or a revoked token comes back to life in the difference.

    Releases before the hash tags wrote `revoked:<jti>`, `revoked-session:<sid>` and
    `valid-after:<user id>` (`legacy_keys_for`). Readers on a single server read those
    too, in the same MGET, so a token revoked before an upgrade stays revoked until it
    expires; see README, "Redis Cluster".
    """

    prefix: str = DEFAULT_REDIS_PREFIX

    def token_key(self, jti: str, user_id: str) -> str:
        return f"{self.prefix}revoked:{{{user_id}}}:{jti}"

    def session_key(self, session_id: str, user_id: str) -> str:
        return f"{self.prefix}revoked-session:{{{user_id}}}:{session_id}"

    def user_key(self, user_id: str) -> str:
        return f"{self.prefix}valid-after:{{{user_id}}}"

    def keys_for(self, jti: str, user_id: str, session_id: str) -> list[str]:
        """The keys one check reads, in the order `is_denied` expects their values."""
        return [
            self.token_key(jti, user_id),
            self.session_key(session_id, user_id),
            self.user_key(user_id),
        ]

    def legacy_keys_for(self, jti: str, user_id: str, session_id: str) -> list[str]:
        """The same three keys as releases before the hash tags wrote them."""
        return [
            f"{self.prefix}revoked:{jti}",
            f"{self.prefix}revoked-session:{session_id}",
            f"{self.prefix}valid-after:{user_id}",
        ]

    def read_patterns(self) -> list[str]:
        """Key patterns a reader needs (a Redis ACL's %R~ rules): both layouts."""
        return [f"{prefix}*" for prefix in self.key_prefixes()]

    def key_prefixes(self) -> tuple[str, ...]:
        """What every denylist key starts with, one prefix per kind: the prefixes a
        reader that keeps a copy of the denylist asks Redis to report writes under
        (CLIENT TRACKING ... BCAST PREFIX). Each covers its kind's hash-tagged keys and
        its legacy ones (`legacy_keys_for`) alike. No key of another kind starts with one
        of them, and none is the start of another, as Redis requires of such prefixes."""
        return tuple(f"{self.prefix}{name}:" for name in _DENYLIST_KINDS)


def valid_after_value(revoked_at: float) -> int:
    """The valid-after value written for a logout-all at `revoked_at` (seconds since
    epoch, fractional). `iat` has whole seconds, so a token issued in the same second as
    the logout-all cannot be told apart from one issued just after it: that whole second
    is included. Every token issued up to the logout-all is dead, and a token issued in
    the rest of that second is dead too (its client refreshes once). Whole seconds, so
    readers of earlier releases, which parse the value with int(), decide the same."""
    return math.floor(revoked_at) + 1


def is_denied(values: Sequence[bytes | str | None], issued_at: int) -> bool:
    """The decision on the values read from `keys_for`: a token is dead when it or its
    session was revoked, or when it was issued before its user's valid-after time.
    Fails closed: a valid-after value that cannot be read denies."""
    token_denied, session_denied, valid_after = values
    if token_denied is not None or session_denied is not None:
        return True
    if valid_after is None:
        return False
    cutoff = _seconds(valid_after)
    return cutoff is None or issued_at < cutoff


def is_denied_by_any(values: Sequence[bytes | str | None], issued_at: int) -> bool:
    """`is_denied` on each consecutive triple of values (e.g. the new keys' values, then
    the legacy keys'): denied when any triple denies."""
    triples = [values[i : i + 3] for i in range(0, len(values), 3)]
    return any(is_denied(triple, issued_at) for triple in triples)


def _seconds(value: bytes | str) -> Decimal | None:
    """Seconds since epoch, as written: whole today; a decimal fraction is read exactly
    too, so that a later writer may store sub-second cut-offs once every reader has this."""
    try:
        text = value.decode("ascii") if isinstance(value, bytes) else value
        seconds = Decimal(text)
    except (UnicodeDecodeError, InvalidOperation):
        return None
    return seconds if seconds.is_finite() else None


# --- Events --------------------------------------------------------------------------


class EventType(StrEnum):
    USER_REGISTERED = "user.registered"
    USER_LOGGED_IN = "user.logged_in"
    USER_LOGGED_OUT = "user.logged_out"
    SESSION_REVOKED = "session.revoked"
    # Every access token of the user issued before `valid_after` is dead (logout-all,
    # a logout-all by an admin, a role change, a disable).
    USER_TOKENS_REVOKED = "user.tokens_revoked"
    USER_EMAIL_VERIFIED = "user.email_verified"
    USER_PASSWORD_RESET = "user.password_reset"  # noqa: S105 - an event type
    USER_PASSWORD_CHANGED = "user.password_changed"  # noqa: S105 - an event type
    USER_EMAIL_CHANGED = "user.email_changed"
    USER_DELETED = "user.deleted"
    USER_ROLES_CHANGED = "user.roles_changed"
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"


class RevocationReason(StrEnum):
    """Why sessions ended: the `reason` of `session.revoked` and `user.tokens_revoked`,
    and the stored session's."""

    LOGOUT = "logout"
    LOGOUT_ALL = "logout_all"
    ENDED_BY_USER = "ended_by_user"
    REFRESH_TOKEN_REUSE = "refresh_token_reuse"  # noqa: S105 - a reason, not a secret
    EVICTED = "evicted"  # a login beyond the per-user session cap ended the oldest
    REVOKED = "revoked"  # its refresh token was revoked (RFC 7009, POST /auth/revoke)
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a reason, not a secret
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - the other sessions ended
    ACCOUNT_DELETED = "account_deleted"
    ACCOUNT_DISABLED = "account_disabled"  # an admin disabled the account
    ENDED_BY_ADMIN = "ended_by_admin"  # an admin logged the user out everywhere
    ROLES_CHANGED = "roles_changed"  # an admin changed the user's roles (tokens only)


def topic_for(event_type: EventType | str, prefix: str = "") -> str:
    """Each event type has its own topic, named after it (under AUTH_KAFKA_TOPIC_PREFIX)."""
    return f"{prefix}{event_type}"


def rfc3339(moment: datetime) -> str:
    """Event timestamps: UTC, millisecond precision, `Z` suffix."""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
