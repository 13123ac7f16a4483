"""Token attacks: each must end in the same NotAuthenticated, never another error."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from auth_api.errors import NotAuthenticated
from auth_api.tokens.access import MAX_TOKEN_LENGTH, AccessTokenCodec
from auth_api.tokens.keys import (
    KeySet,
    SigningKey,
    asymmetric_key,
    generate_private_key,
    hmac_key,
)
from tests.support.forgery import b64, hs256, unsigned

SECRET = b"k" * 48
ISS, AUD = "quizauth", "quiz-services"
HS_KEY = hmac_key(SECRET)


def codec_for(keys: KeySet) -> AccessTokenCodec:
    return AccessTokenCodec(keys, ISS, AUD, ttl_seconds=900, leeway_seconds=5)


@pytest.fixture
def codec() -> AccessTokenCodec:
    return codec_for(KeySet(HS_KEY))


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "u1",
        "jti": "j" * 22,
        "sid": "s1",
        "iat": now,
        "exp": now + 600,
        "iss": ISS,
        "aud": AUD,
        "token_type": "access",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload: dict[str, Any], key: SigningKey = HS_KEY, **headers: Any) -> str:
    """Signed with the real key and typed as an access token: only what a test changes
    is wrong."""
    headers = {"kid": key.kid, "typ": "at+jwt", **headers}
    return jwt.encode(payload, key.signing, algorithm=key.algorithm, headers=headers)


def nested_header_token(depth: int) -> str:
    """A token whose header is `depth` nested JSON arrays: under the length limit, deep
    enough to exhaust the JSON parser's recursion."""
    return f"{b64(b'[' * depth)}.{b64(json.dumps(claims()).encode())}.{b64(b'signature')}"


@pytest.mark.parametrize("algorithm", ["HS256", "ES256", "EdDSA", "RS256"])
def test_issued_token_verifies_for_every_algorithm(algorithm: str) -> None:
    key = (
        HS_KEY
        if algorithm == "HS256"
        else asymmetric_key(f"k-{algorithm}", algorithm, generate_private_key(algorithm))
    )
    codec = codec_for(KeySet(key))
    issued = codec.issue("user-1", "session-1")
    verified = codec.verify(issued.token)
    assert (verified.user_id, verified.session_id, verified.jti) == (
        "user-1",
        "session-1",
        issued.jti,
    )
    assert len(base64.urlsafe_b64decode(issued.jti + "==")) >= 16
    assert verified.expires_at - verified.issued_at == 900
    assert jwt.get_unverified_header(issued.token)["kid"] == key.kid


def test_rotated_out_key_still_verifies_and_unknown_key_does_not() -> None:
    old = asymmetric_key("old", "ES256", generate_private_key("ES256"))
    new = asymmetric_key("new", "ES256", generate_private_key("ES256"))
    old_token = codec_for(KeySet(old)).issue("u", "s").token
    rotated = codec_for(KeySet(new, [old]))
    assert rotated.verify(old_token).user_id == "u"
    assert jwt.get_unverified_header(rotated.issue("u", "s").token)["kid"] == "new"
    with pytest.raises(NotAuthenticated):
        codec_for(KeySet(new)).verify(old_token)


def test_jwks_publishes_public_keys_only() -> None:
    es = asymmetric_key("es", "ES256", generate_private_key("ES256"))
    jwks = KeySet(es, [HS_KEY]).jwks()
    assert [k["kid"] for k in jwks["keys"]] == ["es"]
    assert "d" not in jwks["keys"][0]
    assert jwks["keys"][0]["alg"] == "ES256"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_rejected(codec: AccessTokenCodec, alg: str) -> None:
    with pytest.raises(NotAuthenticated):
        codec.verify(unsigned({"alg": alg, "typ": "JWT", "kid": HS_KEY.kid}, claims()))


def test_rs_hs_key_confusion_is_rejected() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rs_key = asymmetric_key("rs", "RS256", private)
    codec = codec_for(KeySet(rs_key))
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The classic attack: HMAC-sign with the public key, claiming HS256 under the RSA kid.
    header = {"alg": "HS256", "typ": "JWT", "kid": "rs"}
    with pytest.raises(NotAuthenticated):
        codec.verify(hs256(header, claims(), public_pem))


def test_other_hmac_algorithms_are_rejected(codec: AccessTokenCodec) -> None:
    token = jwt.encode(claims(), SECRET * 2, algorithm="HS512", headers={"kid": HS_KEY.kid})
    with pytest.raises(NotAuthenticated):
        codec.verify(token)


def test_tampered_payload_and_signature_are_rejected(codec: AccessTokenCodec) -> None:
    header, _, signature = codec.issue("u1", "s1").token.split(".")
    tampered = f"{header}.{b64(json.dumps(claims(sub='admin')).encode())}.{signature}"
    with pytest.raises(NotAuthenticated):
        codec.verify(tampered)
    good = codec.issue("u1", "s1").token
    flipped = good[:-2] + ("A" if good[-2] != "A" else "B") + good[-1]
    with pytest.raises(NotAuthenticated):
        codec.verify(flipped)


@pytest.mark.parametrize(
    "bad",
    [
        {"exp": None},
        {"exp": int(time.time()) - 60},
        {"iat": None},
        {"jti": None},
        {"sub": None},
        {"sid": None},
        {"iss": "someone-else"},
        {"aud": "another-audience"},
        {"token_type": None},
        {"token_type": "refresh"},
        {"sub": 12345},
    ],
)
def test_bad_claims_are_rejected(codec: AccessTokenCodec, bad: dict[str, Any]) -> None:
    with pytest.raises(NotAuthenticated):
        codec.verify(sign(claims(**bad)))


@pytest.mark.parametrize(
    "token", ["", "abc", "a.b", "a.b.c", "...", "e30.e30.", "!!!.@@@.###", "x" * 5000]
)
def test_malformed_tokens_are_rejected(codec: AccessTokenCodec, token: str) -> None:
    with pytest.raises(NotAuthenticated):
        codec.verify(token)


def test_a_deeply_nested_header_is_a_refusal_not_a_crash(codec: AccessTokenCodec) -> None:
    token = nested_header_token(2500)
    assert len(token) < MAX_TOKEN_LENGTH
    with pytest.raises(NotAuthenticated):
        codec.verify(token)
    # Nested inside an object, next to a genuine kid: the parse fails just the same.
    deep = json.dumps({"kid": HS_KEY.kid, "typ": "at+jwt"})[:-1] + ', "x": ' + "[" * 2900
    with pytest.raises(NotAuthenticated):
        codec.verify(f"{b64(deep.encode())}.{b64(b'{}')}.")


def typed(typ: object) -> str:
    """A genuine HS256 token whose header carries `typ` (none at all for `...`)."""
    header: dict[str, Any] = {"alg": "HS256", "kid": HS_KEY.kid}
    if typ is not ...:
        header["typ"] = typ
    return hs256(header, claims(), SECRET)


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "AT+JWT"])
def test_a_token_typed_at_jwt_verifies(codec: AccessTokenCodec, typ: str) -> None:
    assert codec.verify(typed(typ)).user_id == "u1"


@pytest.mark.parametrize(
    "typ",
    [pytest.param(..., id="missing"), "JWT", "jwt", "at+jwt2", "application/jwt", "", None, 1],
)
def test_a_token_not_typed_at_jwt_is_rejected(codec: AccessTokenCodec, typ: object) -> None:
    with pytest.raises(NotAuthenticated):
        codec.verify(typed(typ))


def test_unknown_or_missing_kid_and_oversized_header_are_rejected(
    codec: AccessTokenCodec,
) -> None:
    with pytest.raises(NotAuthenticated):
        codec.verify(jwt.encode(claims(), SECRET, algorithm="HS256", headers={"kid": "nope"}))
    with pytest.raises(NotAuthenticated):
        codec.verify(jwt.encode(claims(), SECRET, algorithm="HS256"))
    with pytest.raises(NotAuthenticated):
        codec.verify(sign(claims(), pad="p" * 5000))


def test_a_cached_token_still_expires() -> None:
    codec = AccessTokenCodec(KeySet(HS_KEY), ISS, AUD, ttl_seconds=1, leeway_seconds=0)
    token = codec.issue("u1", "s1").token
    assert codec.verify(token).user_id == "u1"  # verified, now cached
    assert codec.verify(token).user_id == "u1"  # served from the cache
    time.sleep(1.1)
    with pytest.raises(NotAuthenticated):
        codec.verify(token)


def test_the_verified_cache_holds_only_genuine_tokens_and_is_bounded(
    codec: AccessTokenCodec,
) -> None:
    token = codec.issue("u1", "s1").token
    codec.verify(token)
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(NotAuthenticated):
        codec.verify(tampered)
    small = AccessTokenCodec(KeySet(HS_KEY), ISS, AUD, 900, 5, cache_entries=2)
    tokens = [small.issue(f"u{i}", "s").token for i in range(3)]
    for each in tokens:
        small.verify(each)
    assert small._verified.get(tokens[0]) is None
    assert small._verified.get(tokens[2]) is not None
