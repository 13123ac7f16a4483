"""The wire contract's pure functions: the header parse both verifiers trust, and the
denylist decision with the logout-all cut-off. tests/contract/test_wire.py checks the
same contract between the service's Redis writes and the client's reads."""

from __future__ import annotations

import base64
import json

import pytest

from quizauth_wire import (
    DenylistLayout,
    access_token_kid,
    is_denied,
    read_access_claims,
    token_header,
    valid_after_value,
)


def segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def header_of(value: object) -> str:
    return segment(json.dumps(value).encode()) + ".e30.sig"


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "!!!.x.y",
        "é.è.à",
        segment(b"[" * 3000) + ".e30.",
        segment(b'{"a": ' + b"[" * 3000) + ".e30.",
        segment(b"\xff\xfe") + ".e30.",
        segment(b"1" * 5000) + ".e30.",  # beyond int()'s digit limit
        header_of([1, 2]),
        header_of("at+jwt"),
    ],
    ids=[
        "empty",
        "dots",
        "not base64",
        "not ascii",
        "nested arrays",
        "nested in an object",
        "not utf-8",
        "huge number",
        "array",
        "string",
    ],
)
def test_a_header_that_is_not_a_json_object_is_none_never_an_exception(token: str) -> None:
    assert token_header(token) is None
    assert access_token_kid(token) is None


def test_the_kid_is_given_only_for_a_header_typed_at_jwt() -> None:
    assert access_token_kid(header_of({"typ": "at+jwt", "kid": "k1"})) == "k1"
    assert access_token_kid(header_of({"typ": "application/at+jwt", "kid": "k1"})) == "k1"
    assert access_token_kid(header_of({"typ": "JWT", "kid": "k1"})) is None
    assert access_token_kid(header_of({"kid": "k1"})) is None
    assert access_token_kid(header_of({"typ": "at+jwt", "kid": 7})) is None
    assert access_token_kid(header_of({"typ": "at+jwt"})) is None


@pytest.mark.parametrize("revoked_at", [1000.0, 1000.001, 1000.5, 1000.999])
def test_logout_all_denies_every_token_of_its_own_second(revoked_at: float) -> None:
    value = str(valid_after_value(revoked_at))
    assert is_denied([None, None, value], issued_at=999)
    assert is_denied([None, None, value], issued_at=1000)
    assert not is_denied([None, None, value], issued_at=1001)


def test_the_valid_after_value_keeps_the_format_earlier_readers_parse() -> None:
    """Readers of earlier releases run `issued_at < int(value)`: whole seconds still,
    and with the boundary second included, they decide as this release does."""
    value = str(valid_after_value(1000.4)).encode()
    assert value.isdigit()
    for issued_at in (999, 1000, 1001):
        assert (issued_at < int(value)) == is_denied([None, None, value], issued_at)


def test_the_reader_accepts_fractional_cut_offs_and_fails_closed_on_garbage() -> None:
    assert is_denied([None, None, b"1000.5"], issued_at=1000)
    assert not is_denied([None, None, b"1000.5"], issued_at=1001)
    for garbage in (b"soon", b"", b"NaN", b"\xff"):
        assert is_denied([None, None, garbage], issued_at=1)
    assert is_denied([b"1", None, None], issued_at=1)
    assert is_denied([None, b"1", None], issued_at=1)
    assert not is_denied([None, None, None], issued_at=1)


@pytest.mark.parametrize("prefix", ["auth:", "", "test:abc:"])
def test_each_denylist_key_falls_under_exactly_one_tracked_prefix(prefix: str) -> None:
    layout = DenylistLayout(prefix)
    prefixes = layout.key_prefixes()
    keys = layout.keys_for("jti", "user", "session")
    for key in keys + layout.legacy_keys_for("jti", "user", "session"):
        assert sum(key.startswith(p) for p in prefixes) == 1
    # Redis refuses BCAST prefixes of which one starts another.
    assert not [(a, b) for a in prefixes for b in prefixes if a != b and b.startswith(a)]
    assert not any(f"{prefix}rl:login:ip:1.2.3.4".startswith(p) for p in prefixes)


ISSUED = {
    "token_type": "access",
    "sub": "user-1",
    "jti": "jti-1",
    "sid": "session-1",
    "iat": 1_800_000_000,
    "exp": 1_800_000_900,
    "roles": ["user", "admin"],
    "scope": "quiz.write",
}


def test_the_claims_the_service_issues_are_read_whole() -> None:
    read = read_access_claims(dict(ISSUED))
    assert read is not None
    assert (read.user_id, read.jti, read.session_id) == ("user-1", "jti-1", "session-1")
    assert (read.issued_at, read.expires_at) == (1_800_000_000, 1_800_000_900)
    assert (read.roles, read.scopes) == ({"user", "admin"}, {"quiz.write"})


@pytest.mark.parametrize(
    "change",
    [
        {"token_type": "refresh"},
        {"sub": 42},
        {"jti": None},
        {"sid": ["session-1"]},
        {"iat": True},  # Python's bool is an int; a JSON true is not a time
        {"exp": "1800000900"},
        {"exp": 1_800_000_900.5},
        {"roles": "admin"},
        {"scope": ["quiz.write"]},
    ],
    ids=repr,
)
def test_anything_the_service_would_not_issue_is_no_access_token(change: dict[str, object]) -> None:
    """The service's codec and quizauth_client read claims with this one function, so
    the two refuse the same tokens."""
    assert read_access_claims({**ISSUED, **change}) is None
