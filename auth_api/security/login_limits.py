"""The login throttle's counter keys for one account, in one place: login counts under
them, and an admin lifting an account's throttle deletes them.

The account's two kinds of keys share the hash tag `{<account>}`: on a Redis Cluster
they lie in one slot, so a login's check is two script calls (the account's, the
address's) rather than three, and its success resets both in one DEL."""

from __future__ import annotations

import hashlib


def account_subject(email_key: str) -> str:
    """The account as rate-limit keys name it: hashed, so that Redis holds no emails."""
    return hashlib.sha256(email_key.encode()).hexdigest()[:32]


def account_key(account: str) -> str:
    """Attempts on the account from any address: only counted, for the slowdown."""
    return f"login:account:{{{account}}}"


def account_ip_prefix(account: str) -> str:
    """Every per-address counter of the account starts with this."""
    return f"login:account-ip:{{{account}}}:"


def account_ip_key(account: str, address_subject: str) -> str:
    return account_ip_prefix(account) + address_subject
