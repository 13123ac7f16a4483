"""Users written straight into MongoDB, shaped as the service stores them, so that a
database of 100,000 users takes seconds to fill rather than 100,000 registrations.

Every seeded user shares one password hash, computed once with the hash parameters the
API is configured with (a login verifies it exactly as it would its own), and is in the
state a registered user reaches once its `user.registered` event is delivered: version
0, no sessions, an empty outbox, and so no pending marker."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pymongo.collection import Collection

from auth_api.model.events import EventType, PendingEvent
from auth_api.model.user import User, new_user_id
from auth_api.passwords.hasher import build_context
from auth_api.store.mongo import to_document
from bench.hashrate import configured_parameters

Document = dict[str, Any]
SEED_BATCH = 1000  # documents per insert_many


def seed_email(n: int) -> str:
    """Lower-case ASCII: the address is already its own normalised form."""
    return f"scale.{n}@example.com"


def hash_once(password: str, api_env: Mapping[str, str]) -> str:
    """The password hashed with the parameters the API reads from `api_env`: computed
    by `python -m bench.seed` in that environment, as the settings would be read."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.seed"], input=password, env=dict(api_env),
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError(f"bench.seed failed: {completed.stderr[-2000:]}")
    return completed.stdout.strip()


def template_document(password_hash: str, now: datetime | None = None) -> Document:
    """A user document from the store's own `to_document`, with its outbox delivered."""
    now = now or datetime.now(UTC)
    user = User(
        id=new_user_id(),
        email=seed_email(0),
        email_normalized=seed_email(0),
        display_name=seed_email(0).partition("@")[0],
        password_hash=password_hash,
        created_at=now,
        updated_at=now,
    )
    registered = PendingEvent.create(EventType.USER_REGISTERED, user.id, now, {})
    return {**to_document(user, registered), "outbox": []}


def seed_document(template: Document, n: int) -> Document:
    """User number n: its own id, address and name; everything else as the template."""
    email = seed_email(n)
    return {
        **template,
        "_id": new_user_id(),
        "email": email,
        "email_normalized": email,
        "display_name": email.partition("@")[0],
    }


def seed_users(users: Collection[Document], template: Document, start: int, stop: int) -> None:
    """Users number start to stop - 1, in batches."""
    for first in range(start, stop, SEED_BATCH):
        last = min(first + SEED_BATCH, stop)
        users.insert_many([seed_document(template, n) for n in range(first, last)], ordered=False)


def main() -> None:
    """Read a password on stdin, print its hash with the configured parameters."""
    password = sys.stdin.read()
    print(build_context(configured_parameters()).hash(password), flush=True)


if __name__ == "__main__":
    main()
