"""The events mode's deny-set without Kafka: what each event denies, the same decision as
the Redis denylist on the same revocations, replays that change nothing, entries kept
as long as a token can need them, and the freshness that makes checks fail closed."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest
from aiokafka import TopicPartition

from quizauth_client.deny_set import DenySet, Revocation, UnreadableEvent, revocation_of
from quizauth_client.events_mode import EventsModeSettings, Freshness
from quizauth_wire import valid_after_value
from tests.support.servers import REPO

KEEP = 1000.0
T0 = 1_750_000_000.0


def event(kind: str, **data: Any) -> bytes:
    return json.dumps({"type": kind, "id": "e", "data": data}).encode()


def test_each_revocation_event_names_what_it_denies() -> None:
    logged_out = event("user.logged_out", user_id="u", session_id="s1", scope="session")
    assert revocation_of(logged_out) == Revocation(session_ids=("s1",))
    revoked = event("session.revoked", user_id="u", session_ids=["s1", "s2"], reason="evicted")
    assert revocation_of(revoked) == Revocation(session_ids=("s1", "s2"))
    cut_off = event("user.tokens_revoked", user_id="u", valid_after=123, reason="logout_all")
    assert revocation_of(cut_off) == Revocation(user_id="u", valid_after=123)
    with_jti = event("user.logged_out", user_id="u", session_id="s1", jti="j1")
    assert revocation_of(with_jti) == Revocation(session_ids=("s1",), jtis=("j1",))
    assert revocation_of(event("user.logged_in", user_id="u", session_id="s1")) is None


@pytest.mark.parametrize(
    "value",
    [
        b"",
        b"not json",
        b"[1]",
        b'{"type": "session.revoked"}',
        event("user.logged_out", user_id="u"),
        event("session.revoked", session_ids=[]),
        event("session.revoked", session_ids=["s", 7]),
        event("user.tokens_revoked", user_id="u", valid_after="123"),
        event("user.tokens_revoked", user_id="u", valid_after=True),
        event("user.tokens_revoked", user_id="u", valid_after=-1),
        event("user.tokens_revoked", valid_after=123),
        b"[" * 100_000,
    ],
)
def test_a_message_that_is_no_readable_revocation_is_told_apart(value: bytes) -> None:
    with pytest.raises(UnreadableEvent):
        revocation_of(value)


def test_a_revoked_session_or_token_id_is_denied_and_nothing_else() -> None:
    deny = DenySet(KEEP)
    deny.apply(Revocation(session_ids=("s1",), jtis=("j9",)), at=T0)
    assert deny.is_revoked("j1", "u", "s1", int(T0))
    assert deny.is_revoked("j9", "u", "s2", int(T0))
    assert not deny.is_revoked("j2", "u", "s2", int(T0))


@pytest.mark.parametrize("revoked_at", [T0, T0 + 0.2, T0 + 0.999])
def test_a_cut_off_denies_its_own_second_and_spares_the_next(revoked_at: float) -> None:
    deny = DenySet(KEEP)
    deny.apply(Revocation(user_id="u", valid_after=valid_after_value(revoked_at)), revoked_at)
    assert deny.is_revoked("j", "u", "s", int(T0))
    assert not deny.is_revoked("j", "u", "s", int(T0) + 1)
    assert not deny.is_revoked("j", "someone-else", "s", int(T0))


def test_replaying_events_in_any_order_changes_nothing() -> None:
    deny = DenySet(KEEP)
    later, earlier = (
        Revocation(user_id="u", valid_after=500),
        Revocation(user_id="u", valid_after=100),
    )
    for revocation in (later, earlier, later):
        deny.apply(revocation, at=T0)
    # The cut-off never moves back: the token issued at 300 stays dead.
    assert deny.is_revoked("j", "u", "s", 300)
    assert len(deny) == 1


def test_an_entry_lasts_as_long_as_a_token_can_need_it() -> None:
    deny = DenySet(KEEP)
    deny.apply(Revocation(session_ids=("s1",)), at=T0)
    deny.apply(Revocation(user_id="u", valid_after=int(T0) + 5), at=T0)
    deny.prune(T0 + KEEP)
    assert deny.is_revoked("j", "x", "s1", 0)
    assert deny.is_revoked("j", "u", "s", int(T0))
    deny.prune(T0 + KEEP + 1)
    assert not deny.is_revoked("j", "x", "s1", 0)
    assert deny.is_revoked("j", "u", "s", int(T0))  # kept from its cut-off on, 5 s more
    deny.prune(T0 + KEEP + 6)
    assert len(deny) == 0


def test_an_event_read_again_extends_an_entry_never_shortens_it() -> None:
    deny = DenySet(KEEP)
    deny.apply(Revocation(session_ids=("s1",)), at=T0 + 100)
    deny.apply(Revocation(session_ids=("s1",)), at=T0)
    deny.prune(T0 + KEEP + 50)
    assert deny.is_revoked("j", "u", "s1", 0)


def test_the_window_covers_the_token_lifetime_leeway_and_skew() -> None:
    settings = EventsModeSettings("k:9092", "p.", token_lifetime_seconds=900)
    assert settings.keep_seconds == 900 + 10 + 60
    assert settings.topics == ["p.user.logged_out", "p.session.revoked", "p.user.tokens_revoked"]
    # By default it covers the longest access token the auth service can issue.
    assert EventsModeSettings("k:9092").token_lifetime_seconds == 3600


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def test_freshness_waits_for_every_partition_then_ages() -> None:
    clock = Clock()
    fresh = Freshness(clock)
    one, two = TopicPartition("t", 0), TopicPartition("t", 1)
    assert fresh.lag_seconds() == math.inf  # nothing assigned: nothing known
    fresh.assign([one, two])
    fresh.confirm(one, T0)
    assert fresh.lag_seconds() == math.inf
    fresh.confirm(two, T0 - 2)
    assert fresh.lag_seconds() == 2
    clock.now += 3
    assert fresh.lag_seconds() == 5
    fresh.confirm(two, T0 - 10)  # an older answer does not move it back
    assert fresh.lag_seconds() == 5


def test_freshness_counts_a_partition_added_later_as_behind() -> None:
    fresh = Freshness(Clock())
    one, two = TopicPartition("t", 0), TopicPartition("t", 1)
    fresh.assign([one])
    fresh.confirm(one, T0)
    assert fresh.lag_seconds() == 0
    fresh.assign([one, two])
    assert fresh.lag_seconds() == math.inf


def test_the_events_mode_needs_no_redis() -> None:
    """A quiz service with no Redis client installed verifies on events mode."""
    program = (
        "import sys; sys.modules['redis'] = None\n"  # any import of redis now fails
        "import httpx\n"
        "from quizauth_client import EventsDenylist, EventsModeSettings, JwksCache, "
        "TokenVerifier\n"
        "async def main():\n"
        "    denylist = EventsDenylist(EventsModeSettings('127.0.0.1:1'))\n"
        "    async with httpx.AsyncClient() as http:\n"
        "        TokenVerifier(JwksCache('http://a/jwks', http), denylist, 'i', 'a')\n"
        "import asyncio; asyncio.run(main())\n"
        "try:\n"
        "    from quizauth_client import RedisDenylist\n"
        "except ImportError:\n"
        "    print('no redis')\n"
    )
    run = subprocess.run(  # noqa: S603 - this interpreter, a fixed program
        [sys.executable, "-c", program],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "no redis"
