"""Password rules after NIST SP 800-63B: length, a blocklist, no composition rules. These
are free to check; how guessable a password is (strength.py) costs more, and comes after."""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources

from auth_api.model.text import fold

MIN_LENGTH = 8
# NIST asks to accept at least 64; the cap only bounds hashing work per request.
MAX_LENGTH = 128
# The local part is only checked when it is long enough to be a meaningful guess.
MIN_LOCAL_PART_CHECK = 3


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text("utf-8")
    lines = (line.strip().casefold() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def code_points(password: str) -> int:
    """Length as a person counts it: NFC-normalised code points, not bytes."""
    return len(unicodedata.normalize("NFC", password))


def password_problems(password: str, email: str) -> list[str]:
    """Every rule the password breaks, each as a message fit to show next to the field."""
    problems: list[str] = []
    # At least 8 code points before normalisation too, so that the schema's `minLength`
    # (which counts them as sent) is exact: a shorter string is always refused.
    if min(code_points(password), len(password)) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if code_points(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    folded = fold(password)
    if folded in common_passwords():
        problems.append("This password is too common; choose a less guessable one.")
    local_part = email.rpartition("@")[0].casefold()
    if len(local_part) >= MIN_LOCAL_PART_CHECK and local_part in folded:
        problems.append("The password must not contain your email address.")
    return problems
