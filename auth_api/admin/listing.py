"""The admin listing's parameters: checked, normalised, and its cursor, which names the
last user of the previous page by its unique, sorted key."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from auth_api.errors import FieldProblem, InvalidInput, UnknownRoles
from auth_api.model.roles import RoleCatalog
from auth_api.model.text import fold
from auth_api.store.admin_ports import UserQuery

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
CURSOR_TAG = b"u1:"  # a version, so that the cursor's contents may change later
MAX_CURSOR_KEY = 320


@dataclass(frozen=True)
class ListRequest:
    email_prefix: str = ""
    role: str | None = None
    disabled: bool | None = None
    cursor: str | None = None
    limit: int = DEFAULT_LIMIT


def encode_cursor(email_normalized: str) -> str:
    raw = base64.urlsafe_b64encode(CURSOR_TAG + email_normalized.encode())
    return raw.decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The key a cursor names; InvalidInput for anything this listing did not give out."""
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        key = raw.removeprefix(CURSOR_TAG).decode() if raw.startswith(CURSOR_TAG) else ""
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = ""
    if "@" not in key or len(key) > MAX_CURSOR_KEY:
        raise InvalidInput([FieldProblem("cursor", "Not a cursor this listing gave out.")])
    return key


def to_query(request: ListRequest, catalog: RoleCatalog) -> UserQuery:
    """One more than the page, to learn whether another page follows."""
    if not 1 <= request.limit <= MAX_LIMIT:
        raise InvalidInput([FieldProblem("limit", f"Between 1 and {MAX_LIMIT}.")])
    if request.role is not None and (unknown := catalog.unknown([request.role])):
        raise UnknownRoles(unknown, field="role")
    return UserQuery(
        email_prefix=fold(  # as stored emails are keyed, so any case or width finds them
            request.email_prefix.strip()
        ),
        role=request.role,
        disabled=request.disabled,
        after=decode_cursor(request.cursor) if request.cursor else None,
        limit=request.limit + 1,
    )
