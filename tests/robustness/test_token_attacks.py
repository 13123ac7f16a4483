"""Token attacks over HTTP. tests/unit/test_tokens.py attacks the codec; here the whole
stack (bearer parsing, revocation lookup, error rendering) must turn every forged,
expired, mistyped or malformed token into the same 401 a missing token gets."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from auth_api.http.refresh_cookie import COOKIE_NAME
from tests.conftest import TEST_SECRET
from tests.robustness.conftest import Victim
from tests.support.api import assert_problem, bearer
from tests.support.forgery import b64, flip_first_signature_char, hs256, parts, unsigned

SECRET = TEST_SECRET.encode()
Forge = Callable[[dict[str, Any], dict[str, Any]], str]


async def assert_refused(victim: Victim, token: str) -> None:
    """The generic 401, byte for byte the answer to a request without any token."""
    # Bytes, so that a token which is not ASCII reaches the server as sent (UTF-8).
    response = await victim.api.get(
        "/auth/me", headers={b"Authorization": f"Bearer {token}".encode()}
    )
    anonymous = await victim.api.get("/auth/me")
    assert_problem(response, 401, "NOT_AUTHENTICATED")
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.content == anonymous.content


async def test_the_genuine_tokens_work(victim: Victim, rs_victim: Victim) -> None:
    """The control: what the attacks start from is accepted."""
    for target in (victim, rs_victim):
        response = await target.api.get("/auth/me", headers=bearer(target.access_token))
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("keep_signature", [False, True])
async def test_alg_none_in_any_casing_is_refused(
    victim: Victim, rs_victim: Victim, alg: str, keep_signature: bool
) -> None:
    for target in (victim, rs_victim):
        header, claims = parts(target.access_token)
        signature = target.access_token.rsplit(".", 1)[1] if keep_signature else ""
        await assert_refused(target, unsigned({**header, "alg": alg}, claims, signature))


def now() -> int:
    return int(time.time())


# Each is signed with the service's real key: only the claim is wrong.
BAD_CLAIMS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "exp missing": lambda c: {k: v for k, v in c.items() if k != "exp"},
    "exp expired": lambda c: {**c, "iat": now() - 7200, "exp": now() - 3600},
    "exp not a number": lambda c: {**c, "exp": "tomorrow"},
    "iss of another issuer": lambda c: {**c, "iss": "evil-issuer"},
    "iss missing": lambda c: {k: v for k, v in c.items() if k != "iss"},
    "aud of another audience": lambda c: {**c, "aud": "another-service"},
    "aud list without ours": lambda c: {**c, "aud": ["another-service"]},
    "nbf in the future": lambda c: {**c, "nbf": now() + 3600},
    "token_type refresh": lambda c: {**c, "token_type": "refresh"},
    "token_type missing": lambda c: {k: v for k, v in c.items() if k != "token_type"},
    "sid missing": lambda c: {k: v for k, v in c.items() if k != "sid"},
    "sub not a string": lambda c: {**c, "sub": 12345},
}


@pytest.mark.parametrize("change", BAD_CLAIMS.values(), ids=BAD_CLAIMS.keys())
async def test_bad_claims_are_refused_even_when_signed(
    victim: Victim, change: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    header, claims = parts(victim.access_token)
    await assert_refused(victim, hs256(header, change(claims), SECRET))


def tampered_payload(token: str) -> str:
    header, claims = parts(token)
    signature = token.rsplit(".", 1)[1]
    return unsigned(header, {**claims, "sub": "admin", "exp": now() + 86400}, signature)


TAMPERING: dict[str, Callable[[str], str]] = {
    "payload changed, signature kept": tampered_payload,
    "signature altered": flip_first_signature_char,
    "signature removed": lambda t: t.rsplit(".", 1)[0] + ".",
    "signature of another token": lambda t: t.rsplit(".", 1)[0] + "." + b64(b"x" * 32),
}


@pytest.mark.parametrize("tamper", TAMPERING.values(), ids=TAMPERING.keys())
async def test_tampered_tokens_are_refused(
    victim: Victim, rs_victim: Victim, tamper: Callable[[str], str]
) -> None:
    for target in (victim, rs_victim):
        await assert_refused(target, tamper(target.access_token))


KEY_TRICKS: dict[str, Callable[[dict[str, Any], dict[str, Any]], str]] = {
    "unknown kid": lambda h, c: hs256({**h, "kid": "hs-000000000000"}, c, SECRET),
    "kid missing": lambda h, c: hs256({k: v for k, v in h.items() if k != "kid"}, c, SECRET),
    "kid not a string": lambda h, c: hs256({**h, "kid": 7}, c, SECRET),
    "kid path traversal": lambda h, c: hs256({**h, "kid": "../../../dev/null"}, c, b""),
    "another secret": lambda h, c: hs256(h, c, b"an attacker's secret, 32+ bytes long"),
    "HS512 with the real secret": lambda h, c: jwt.encode(
        c, SECRET, algorithm="HS512", headers={"kid": h["kid"], "typ": h["typ"]}
    ),
}


@pytest.mark.parametrize("trick", KEY_TRICKS.values(), ids=KEY_TRICKS.keys())
async def test_key_and_algorithm_tricks_are_refused(victim: Victim, trick: Forge) -> None:
    header, claims = parts(victim.access_token)
    await assert_refused(victim, trick(header, claims))


async def rsa_public_key(victim: Victim) -> rsa.RSAPublicKey:
    (jwk,) = (await victim.api.get("/.well-known/jwks.json")).json()["keys"]
    key = RSAAlgorithm.from_jwk(jwk)
    assert isinstance(key, rsa.RSAPublicKey)
    return key


PUBLIC_FORMATS = {
    "SPKI PEM": (serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    "PKCS1 PEM": (serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
    "SPKI DER": (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
}


@pytest.mark.parametrize("encoding", PUBLIC_FORMATS.values(), ids=PUBLIC_FORMATS.keys())
async def test_hs_rs_key_confusion_is_refused(rs_victim: Victim, encoding: Any) -> None:
    """The classic: HMAC-sign with the published RSA key, claiming HS256 under its kid."""
    public = (await rsa_public_key(rs_victim)).public_bytes(*encoding)
    header, claims = parts(rs_victim.access_token)
    await assert_refused(rs_victim, hs256({**header, "alg": "HS256"}, claims, public))


async def test_a_key_carried_in_the_token_is_not_trusted(rs_victim: Victim) -> None:
    """Signed by the attacker's own RSA key, which the header offers as `jwk`."""
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    header, claims = parts(rs_victim.access_token)
    offered = RSAAlgorithm.to_jwk(attacker.public_key(), as_dict=True)
    token = jwt.encode(claims, attacker, algorithm="RS256", headers={**header, "jwk": offered})
    await assert_refused(rs_victim, token)


MALFORMED = [
    "",
    "abc",
    "a.b",
    "a.b.c",
    "a.b.c.d",
    "...",
    "!!!.@@@.###",
    b64(b"not json") + "." + b64(b"{}") + ".",
    b64(b"[1, 2]") + "." + b64(b"{}") + ".",
    b64(b'{"alg": "HS256"}') + "." + b64(b"[]") + ".",
    "é.è.à",
]


@pytest.mark.parametrize("token", MALFORMED)
async def test_malformed_tokens_are_refused(victim: Victim, token: str) -> None:
    await assert_refused(victim, token)


async def test_a_deeply_nested_token_header_is_a_401(victim: Victim, rs_victim: Victim) -> None:
    """Thousands of nested `[` in 3.9 KB: under the length limit, deep enough to exhaust
    the JSON parser's recursion. A refusal like any other, not a 500."""
    header, _ = parts(victim.access_token)
    nested = b64(b"[" * 2900) + "." + b64(b"{}") + "." + b64(b"x" * 32)
    assert 3800 < len(nested) < 4096
    inside = json.dumps({"kid": header["kid"], "typ": "at+jwt"})[:-1] + ', "x": ' + "[" * 2500
    for target in (victim, rs_victim):
        await assert_refused(target, nested)
        await assert_refused(target, b64(inside.encode()) + "." + b64(b"{}") + ".")


TYP_TRICKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "typ missing": lambda h: {k: v for k, v in h.items() if k != "typ"},
    "typ JWT": lambda h: {**h, "typ": "JWT"},
    "typ of an ID token": lambda h: {**h, "typ": "id_token+jwt"},
    "typ not a string": lambda h: {**h, "typ": ["at+jwt"]},
}


@pytest.mark.parametrize("trick", TYP_TRICKS.values(), ids=TYP_TRICKS.keys())
async def test_a_token_not_typed_at_jwt_is_refused_even_when_signed(
    victim: Victim, trick: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    header, claims = parts(victim.access_token)
    assert header["typ"] == "at+jwt"
    await assert_refused(victim, hs256(trick(header), claims, SECRET))


async def test_an_oversized_token_header_is_refused(victim: Victim) -> None:
    header, claims = parts(victim.access_token)
    await assert_refused(victim, hs256({**header, "pad": "p" * 5000}, claims, SECRET))


@pytest.mark.parametrize("size", [9 * 1024, 64 * 1024])
async def test_a_huge_authorization_header_is_a_401(victim: Victim, size: int) -> None:
    await assert_refused(victim, "x" * size)


async def test_a_refresh_token_is_not_an_access_token(victim: Victim) -> None:
    await assert_refused(victim, victim.refresh_token)


async def test_an_access_token_is_not_a_refresh_token_in_the_cookie(victim: Victim) -> None:
    response = await victim.api.post(
        "/auth/refresh",
        headers={
            "Cookie": f"{COOKIE_NAME}={victim.access_token}",
            "X-Requested-With": "quizauth-web",
        },
    )
    assert_problem(response, 401, "INVALID_REFRESH_TOKEN")


async def test_an_access_token_is_not_a_refresh_token_in_the_body(victim: Victim) -> None:
    response = await victim.api.post("/auth/refresh", json={"refresh_token": victim.access_token})
    assert_problem(response, 401, "INVALID_REFRESH_TOKEN")


async def test_the_victims_session_survives_the_attacks(victim: Victim) -> None:
    """Refused forgeries end nothing: the genuine refresh token still rotates."""
    response = await victim.api.post("/auth/refresh", json={"refresh_token": victim.refresh_token})
    assert response.status_code == 200, response.text
