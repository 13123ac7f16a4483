"""Email normalisation: the one form used for uniqueness and lookups."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email


def normalize_email(email: str) -> str:
    """Case-folded local part and lower-cased IDNA domain; ValueError when not an email."""
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from exc
    # Mail providers treat local parts case-insensitively in practice; so do we, because
    # two accounts differing only by case are a phishing and support hazard.
    return f"{result.local_part.casefold()}@{result.ascii_domain.lower()}"


def login_key(email: str) -> str:
    """Best-effort normal form for login: never raises, so malformed input costs a hash."""
    try:
        return normalize_email(email)
    except ValueError:
        return email.strip().casefold()
