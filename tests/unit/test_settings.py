from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from auth_api.settings import Settings

REAL_SECRET = secrets.token_hex(32)
SERVERS = {"mongo_url": "mongodb://mongo:27017", "redis_url": "redis://redis:6379/0"}


@pytest.mark.parametrize("secret", ["", "short-secret", "changethis", "secret"])
def test_production_refuses_empty_short_or_placeholder_secret(secret: str) -> None:
    with pytest.raises(ValidationError):
        Settings(env="production", jwt_secret=secret, mongo_url=None, redis_url=None)


def test_well_known_placeholder_of_full_length_is_refused() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(env="production", jwt_secret="dev-only-insecure-secret-change-me-0000")


def test_production_refuses_hs256_without_a_secret() -> None:
    with pytest.raises(ValidationError, match="HS256 needs AUTH_JWT_SECRET"):
        Settings(env="production", jwt_algorithm="HS256", jwt_secret=None, **SERVERS)


def test_no_key_setting_means_a_generated_es256_key() -> None:
    for env in ("development", "test", "production"):
        settings = Settings(env=env, jwt_secret=None, jwt_algorithm=None, **SERVERS)
        assert settings.signing_algorithm == "ES256"
        assert settings.jwt_secret is None
        assert settings.refresh_rotation_key is None  # generated and kept in the store


def test_a_secret_alone_selects_hs256() -> None:
    settings = Settings(env="production", jwt_secret=REAL_SECRET, **SERVERS)
    assert settings.signing_algorithm == "HS256"
    assert settings.refresh_rotation_key is not None


def test_a_key_directory_signs_even_with_a_secret(tmp_path: Path) -> None:
    # The secret then only derives refresh tokens, as it did before keys were generated.
    settings = Settings(env="production", jwt_secret=REAL_SECRET, jwt_keys_dir=tmp_path, **SERVERS)
    assert settings.signing_algorithm == "ES256"


def test_development_supplies_a_secret_for_hs256() -> None:
    settings = Settings(env="development", jwt_algorithm="HS256", jwt_secret=None)
    assert len(settings.signing_secret) >= 32


@pytest.mark.parametrize(
    "url",
    ["auth.example", "ftp://auth.example", "https://", "https://auth.example/?a=1", "https://a#b"],
)
def test_public_url_must_be_a_base_url(url: str) -> None:
    with pytest.raises(ValidationError, match="AUTH_PUBLIC_URL"):
        Settings(env="development", public_url=url)


def test_public_url_loses_its_trailing_slash() -> None:
    settings = Settings(env="development", public_url="https://auth.example/quiz/")
    assert settings.public_url == "https://auth.example/quiz"


def test_trusted_proxies_parse_from_a_comma_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    monkeypatch.setenv("AUTH_ENV", "development")
    assert Settings().trusted_proxies == ["10.0.0.0/8", "192.0.2.1"]


def test_invalid_proxy_is_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(env="development", trusted_proxies=["not-a-network"])


def test_the_readme_documents_every_setting() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [n for n in Settings.model_fields if f"`AUTH_{n.upper()}`" not in readme]
    assert missing == []


@pytest.mark.parametrize(
    "servers",
    [
        {},
        {"mongo_url": "mongodb://mongo:27017"},
        {"redis_url": "redis://redis:6379/0"},
    ],
)
def test_production_refuses_embedded_mode(servers: dict[str, str]) -> None:
    # Explicit None: AUTH_* variables in the environment must not fill the gaps.
    unset: dict[str, str | None] = {"mongo_url": None, "redis_url": None}
    with pytest.raises(ValidationError, match="AUTH_MONGO_URL and AUTH_REDIS_URL"):
        Settings(env="production", jwt_secret=REAL_SECRET, **(unset | servers))


def test_production_starts_with_both_servers() -> None:
    settings = Settings(
        env="production",
        jwt_secret=REAL_SECRET,
        mongo_url="mongodb://mongo:27017",
        redis_url="redis://redis:6379/0",
    )
    assert not settings.embedded


def test_embedded_mode_is_for_development_and_tests() -> None:
    for env in ("development", "test"):
        settings = Settings(env=env, jwt_secret=REAL_SECRET, mongo_url=None, redis_url=None)
        assert settings.embedded


SECRET = "a-real-secret-of-more-than-32-bytes-0123456789"


@pytest.mark.parametrize(
    ("weakened", "names"),
    [
        ({"argon2_memory_kib": 19455}, "AUTH_ARGON2_MEMORY_KIB=19455"),
        ({"argon2_time_cost": 1}, "AUTH_ARGON2_TIME_COST=1"),
        ({"argon2_memory_kib": 7167, "argon2_time_cost": 5}, "AUTH_ARGON2_MEMORY_KIB=7167"),
        ({"bcrypt_rounds": 9}, "AUTH_BCRYPT_ROUNDS"),
        ({"password_min_score": 2}, "AUTH_PASSWORD_MIN_SCORE"),
    ],
)
def test_production_refuses_to_start_below_the_strength_floors(
    weakened: dict[str, int], names: str
) -> None:
    with pytest.raises(ValidationError, match=names):
        Settings(env="production", jwt_secret=SECRET, **weakened)


@pytest.mark.parametrize(
    ("memory_kib", "time_cost"), [(19456, 2), (47104, 1), (12288, 3), (9216, 4), (7168, 5)]
)
def test_every_owasp_argon2id_minimum_is_accepted(memory_kib: int, time_cost: int) -> None:
    settings = Settings(
        env="production",
        jwt_secret=SECRET,
        mongo_url="mongodb://mongo:27017",
        redis_url="redis://redis:6379/0",
        argon2_memory_kib=memory_kib,
        argon2_time_cost=time_cost,
        bcrypt_rounds=10,
    )
    assert settings.argon2_memory_kib == memory_kib


@pytest.mark.parametrize("env", ["development", "test"])
def test_development_and_test_may_hash_cheaply(env: str) -> None:
    cheap = {"argon2_memory_kib": 64, "argon2_time_cost": 1, "bcrypt_rounds": 4}
    settings = Settings(env=env, jwt_secret=SECRET, password_min_score=0, **cheap)
    assert (settings.argon2_memory_kib, settings.password_min_score) == (64, 0)
