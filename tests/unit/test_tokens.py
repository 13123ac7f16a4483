"""Token attacks: each must end in the same NotAuthenticated, never another error."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from auth_api.errors import NotAuthenticated
from auth_api.tokens.access import AccessTokenCodec

SECRET = b"k" * 48
ISS, AUD = "quizauth", "quiz-services"


@pytest.fixture
def codec() -> AccessTokenCodec:
    return AccessTokenCodec(SECRET, ISS, AUD, ttl_seconds=900, leeway_seconds=5)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "sub": "u1",
        "jti": "j" * 22,
        "iat": now,
        "exp": now + 600,
        "iss": ISS,
        "aud": AUD,
        "token_type": "access",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], payload: dict[str, Any], signature: str = "") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{signature}"


def test_issued_token_verifies(codec: AccessTokenCodec) -> None:
    issued = codec.issue("user-1")
    verified = codec.verify(issued.token)
    assert verified.user_id == "user-1"
    assert verified.jti == issued.jti
    assert len(base64.urlsafe_b64decode(issued.jti + "==")) >= 16
    assert verified.expires_at - verified.issued_at == 900


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_rejected(codec: AccessTokenCodec, alg: str) -> None:
    with pytest.raises(NotAuthenticated):
        codec.verify(forge({"alg": alg, "typ": "JWT"}, claims()))


def test_rs_hs_key_confusion_is_rejected(codec: AccessTokenCodec) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(), key, algorithm="RS256")
    with pytest.raises(NotAuthenticated):
        codec.verify(token)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    with pytest.raises(NotAuthenticated):
        codec.verify(f"{signing_input}.{b64(signature)}")


def test_other_hmac_algorithms_are_rejected(codec: AccessTokenCodec) -> None:
    with pytest.raises(NotAuthenticated):
        codec.verify(jwt.encode(claims(), SECRET * 2, algorithm="HS512"))


def test_tampered_payload_and_signature_are_rejected(codec: AccessTokenCodec) -> None:
    header, _, signature = codec.issue("u1").token.split(".")
    tampered = f"{header}.{b64(json.dumps(claims(sub='admin')).encode())}.{signature}"
    with pytest.raises(NotAuthenticated):
        codec.verify(tampered)
    good = codec.issue("u1").token
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
        {"iss": "someone-else"},
        {"aud": "another-audience"},
        {"token_type": None},
        {"token_type": "refresh"},
        {"sub": 12345},
    ],
)
def test_bad_claims_are_rejected(codec: AccessTokenCodec, bad: dict[str, Any]) -> None:
    with pytest.raises(NotAuthenticated):
        codec.verify(jwt.encode(claims(**bad), SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    "token",
    ["", "abc", "a.b", "a.b.c", "...", "e30.e30.", "!!!.@@@.###", "x" * 5000],
)
def test_malformed_tokens_are_rejected(codec: AccessTokenCodec, token: str) -> None:
    with pytest.raises(NotAuthenticated):
        codec.verify(token)


def test_unknown_kid_and_oversized_header_are_rejected(codec: AccessTokenCodec) -> None:
    with pytest.raises(NotAuthenticated):
        codec.verify(jwt.encode(claims(), b"x" * 48, algorithm="HS256", headers={"kid": "nope"}))
    huge = jwt.encode(claims(), SECRET, algorithm="HS256", headers={"pad": "p" * 5000})
    with pytest.raises(NotAuthenticated):
        codec.verify(huge)
