"""Service configuration, read from AUTH_* environment variables."""

from __future__ import annotations

import hmac
import ipaddress
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from quizauth_client.sentinel import NodeAuth, parse_sentinels
from quizauth_wire import MAX_ROLE_LENGTH, is_role_name, is_scope_token
from quizauth_wire.topics import TopicShape

# Supplied in development only; refused everywhere else like any placeholder.
DEVELOPMENT_SECRET = "dev-only-insecure-secret-change-me-0000"  # noqa: S105

# Secrets that appear in tutorials and templates; a deployment using one is as good as unsigned.
KNOWN_PLACEHOLDER_SECRETS = frozenset(
    {
        "changethis",
        "change-me",
        "changeme",
        "secret",
        "your-secret-key",
        "your-256-bit-secret",
        "supersecret",
        DEVELOPMENT_SECRET,
    }
)
MIN_SECRET_BYTES = 32


class RedisMode(StrEnum):
    STANDALONE = "standalone"
    CLUSTER = "cluster"
    SENTINEL = "sentinel"


# scheme://host[:port] as browsers send it in Origin: lower case, no path, no wildcard.
EXACT_ORIGIN = re.compile(r"https?://([a-z0-9-]+(\.[a-z0-9-]+)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?")

# OWASP's argon2id minimums (Password Storage Cheat Sheet): equally strong pairs of memory
# (KiB) and iterations, each with one lane. Parameters meet the floor when they reach one.
ARGON2_FLOORS = ((47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5))
BCRYPT_MIN_ROUNDS = 10
# zxcvbn's 3: "safely unguessable", about 10^8 guesses or more, which holds against
# throttled online guessing and slows offline guessing of a slow hash.
PASSWORD_MIN_SCORE_FLOOR = 3


def parse_role_grants(text: str) -> dict[str, list[str]]:
    """`role:scope,scope;role` (semicolons or whitespace between roles) as a mapping."""
    grants: dict[str, list[str]] = {}
    for entry in re.split(r"[;\s]+", text.strip()):
        if not entry:
            continue
        role, _, scope_list = entry.partition(":")
        scopes = [s for s in scope_list.split(",") if s]
        if not is_role_name(role):
            raise ValueError(
                f"AUTH_ROLES: {role!r} is not a role name (a lower-case letter, then up to "
                f"{MAX_ROLE_LENGTH - 1} of a-z, 0-9, _ and -)"
            )
        if role in grants:
            raise ValueError(f"AUTH_ROLES: {role!r} is declared twice")
        if bad := [s for s in scopes if not is_scope_token(s)]:
            raise ValueError(f"AUTH_ROLES: {bad[0]!r} ({role}) is not a scope")
        grants[role] = scopes
    return grants


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class SigningAlgorithm(StrEnum):
    HS256 = "HS256"
    ES256 = "ES256"
    EDDSA = "EdDSA"
    RS256 = "RS256"


class Settings(BaseSettings):
    """Every knob of the service. Field docs double as the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    env: Environment = Field(Environment.PRODUCTION, description="development, test or production")

    mongo_url: str | None = Field(None, description="MongoDB URL; unset means embedded mode")
    mongo_db: str = Field("auth", description="MongoDB database name")
    mongo_write_concern: str | None = Field(
        None,
        pattern=r"^([1-9][0-9]*|[A-Za-z][A-Za-z0-9_-]*)$",
        description="w of every write: a number of members, `majority` or a tag set's name; "
        "unset: the URL's w=, else majority (0, unacknowledged, is refused)",
    )
    mongo_relay_read_concern: Literal["majority", "local", "available", ""] = Field(
        "majority",
        description="readConcern of the relay's reads of pending events: majority never "
        "publishes a write a failover could roll back; empty: the URL's or the server's",
    )
    redis_url: str | None = Field(
        None,
        description="Redis URL; unset means embedded mode (in sentinel mode optional, and"
        " without a host: the master's credentials, database and TLS)",
    )
    redis_prefix: str = Field("auth:", description="Prefix of every Redis key")
    redis_mode: RedisMode = Field(
        RedisMode.STANDALONE,
        description="standalone (one server), cluster (AUTH_REDIS_URL lists seed nodes,"
        " comma-separated) or sentinel (AUTH_REDIS_SENTINELS and AUTH_REDIS_SENTINEL_MASTER)",
    )
    redis_sentinels: str | None = Field(
        None, description="Sentinel mode: the sentinels, host:port,host:port"
    )
    redis_sentinel_master: str | None = Field(
        None, description="Sentinel mode: the master's name, as the sentinels monitor it"
    )
    redis_sentinel_username: str | None = Field(
        None, description="Sentinel mode: the sentinels' own user, when they require one"
    )
    redis_sentinel_password: SecretStr | None = Field(
        None, description="Sentinel mode: the sentinels' own password (their requirepass)"
    )
    kafka_bootstrap: str | None = Field(None, description="Kafka bootstrap servers (host:port,...)")
    kafka_topic_prefix: str = Field("", description="Prefix of the event topic names")
    kafka_topic_partitions: int = Field(
        3, ge=1, description="Partitions of the event topics the relay creates when missing"
    )
    kafka_replication_factor: int = Field(
        1, ge=1, description="Replicas of each partition of the topics it creates (3 in production)"
    )
    kafka_min_insync_replicas: int = Field(
        1, ge=1, description="Their min.insync.replicas: copies an event needs before its ack"
    )
    outbox_relay: bool = Field(True, description="Run the outbox relay in this process")
    outbox_max_age_seconds: int = Field(
        300,
        ge=1,
        description="/health/ready shows the outbox `stale` past this age (shown, not a "
        "reason to be unready: alert on auth_outbox_oldest_event_age_seconds)",
    )
    outbox_backstop_seconds: float = Field(
        600,
        gt=0,
        description="How often the relay searches the users for events without a marker",
    )
    io_timeout_seconds: float = Field(2.0, gt=0, description="Timeout of every outbound call")

    # --- Near cache of the revocation denylist (README, "Sessions and revocation") ----
    revocation_near_cache: bool = Field(
        True,
        description="Keep this process's own copy of the denylist entries it read, kept "
        "coherent by Redis (CLIENT TRACKING, broadcast mode): checking a token seen before "
        "makes no Redis round trip. While Redis's invalidations cannot be received, every "
        "check reads Redis, as it does on a Redis Cluster (no tracking across nodes) and in "
        "Sentinel mode (a channel could outlive a failover on the demoted master). "
        "Connected mode only; false: one MGET per authenticated request",
    )
    revocation_near_cache_keys: int = Field(
        100_000,
        ge=1,
        description="Most denylist keys that copy holds (six per token on one server, three "
        "on a cluster), least recently used dropped first",
    )

    jwt_secret: SecretStr | None = Field(
        None,
        description="HS256 signing secret, >= 32 bytes; setting it selects HS256 (unless "
        "AUTH_JWT_KEYS_DIR is set, which signs: then it only derives refresh tokens)",
    )
    jwt_issuer: str = Field("quizauth", description="iss claim of issued tokens")
    jwt_audience: str = Field("quiz-services", description="aud claim of issued tokens")
    jwt_algorithm: SigningAlgorithm | None = Field(
        None,
        description="Unset: HS256 when AUTH_JWT_SECRET is set, else ES256. An asymmetric "
        "one signs with AUTH_JWT_KEYS_DIR's keys, or without it a key generated on first "
        "start and kept in MongoDB",
    )
    jwt_keys_dir: Path | None = Field(
        None, description="Directory of private keys and keys.json (python -m auth_api keys)"
    )
    public_url: str | None = Field(
        None,
        description="Where clients reach the service (https://auth.example): the base of "
        "the discovery document's URLs and of the links in mails. Unset: each request's "
        "own scheme and host, and http://127.0.0.1:8000 in mails",
    )
    jwt_keys_reload_seconds: float = Field(
        30,
        ge=0,
        description="How often AUTH_JWT_KEYS_DIR's keys.json is checked for changes and the "
        "keys reloaded without a restart (0: only on SIGHUP)",
    )
    access_token_ttl_seconds: int = Field(900, gt=0, le=3600, description="Access token lifetime")
    jwt_leeway_seconds: int = Field(10, ge=0, le=60, description="Clock skew tolerated on decode")

    session_lifetime_seconds: int = Field(
        30 * 86400, ge=1, description="Absolute session lifetime (refresh tokens end with it)"
    )
    session_idle_seconds: int = Field(
        7 * 86400, ge=1, description="A session unused for this long ends"
    )
    refresh_grace_seconds: int = Field(
        5, ge=0, le=60, description="A spent refresh token retried within this gets the same reply"
    )
    profile_cache_seconds: float = Field(
        5, ge=0, le=300, description="How long /auth/me may serve a cached profile (0: never)"
    )
    roles: Annotated[dict[str, list[str]], NoDecode] = Field(
        default_factory=dict,
        description="Roles beyond the built-in user and admin, with the scopes each "
        "grants: `quizmaster:quiz.write,quiz.grade;reviewer:quiz.read` (a built-in role "
        "may be given scopes too)",
    )
    introspection_clients: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated client_id:secret pairs for introspection"
    )
    web_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Extra origins allowed to use the refresh cookie (same origin always is)",
    )
    # Password and hash strength. Below the floors (ARGON2_FLOORS, BCRYPT_MIN_ROUNDS,
    # PASSWORD_MIN_SCORE_FLOOR) production refuses to start; development and test (the
    # suites' environment) may go lower, for speed.
    password_min_score: int = Field(
        3, ge=0, le=4, description="Least zxcvbn score (0-4) of a new password; floor 3"
    )
    argon2_memory_kib: int = Field(
        19456, ge=8, description="argon2id memory cost (KiB); with the time cost, an OWASP minimum"
    )
    argon2_time_cost: int = Field(2, ge=1, description="argon2id iterations")
    argon2_parallelism: int = Field(1, ge=1, description="argon2id lanes")
    bcrypt_rounds: int = Field(
        12, ge=4, le=31, description="bcrypt cost accepted for stored hashes; floor 10"
    )
    hash_concurrency: int = Field(
        0,
        ge=0,
        description="Hashes in flight; 0 means one per CPU the process may use (its "
        "affinity, capped by its cgroup's CPU quota)",
    )
    hash_niceness: int = Field(
        10, ge=0, le=19, description="Nice value added to the hashing threads (Linux); 0 = none"
    )

    # --- Abuse limits, client addresses, cross-origin access, metrics exposure ---------
    # Sizing. A class of 30 to 60 pupils behind one school NAT registers and logs in
    # within a few minutes, all from one IPv4 address, so the per-address limits leave
    # room for two such classes at once (typos and retries included). They are not what
    # stops abuse; that is done per account (the per-(account, address) limit, and the
    # account-wide delay that slows guessing spread over many addresses without ever
    # refusing the owner), by counting IPv6 per /64 (one subscriber's allocation), and by
    # the global registration budget, which bounds what rotating addresses can create.
    login_account_ip_limit: int = Field(
        10,
        ge=1,
        description="Login attempts on one account from one client address (IPv6: its /64) "
        "per window; beyond it that address gets 429 for that account, others do not",
    )
    login_ip_limit: int = Field(
        300,
        ge=1,
        description="Login attempts per client address (IPv6: /64) per window, all accounts "
        "together (a class of 60 behind one NAT at 5 attempts each)",
    )
    login_window_seconds: int = Field(900, ge=1, description="Login rate-limit window")
    login_delay_after_failures: int = Field(
        5,
        ge=0,
        description="Failed logins on one account, from any address, before each further "
        "attempt on it waits (the count restarts after a success or a window)",
    )
    login_delay_step_seconds: float = Field(
        1.0, ge=0, le=60, description="Added wait per failed login beyond that count"
    )
    login_delay_max_seconds: float = Field(
        10.0,
        ge=0,
        le=60,
        description="Longest such wait: what an attacked account's owner waits at worst",
    )
    register_ip_limit: int = Field(
        120,
        ge=1,
        description="Registrations per client address (IPv6: /64) per window (two classes "
        "of 60 behind one NAT)",
    )
    register_global_limit: int = Field(
        1000,
        ge=1,
        description="Registrations per window from all clients together; bounds account "
        "creation by rotating addresses (raise it ahead of a planned rush)",
    )
    register_window_seconds: int = Field(3600, ge=1, description="Registration rate-limit window")
    introspection_failure_limit: int = Field(
        10,
        ge=1,
        description="Failed introspection credentials per client address (IPv6: /64) per "
        "window; beyond it that address gets 429",
    )
    introspection_failure_window_seconds: int = Field(
        300, ge=1, description="Window of the introspection failure limit"
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated proxy IPs/CIDRs trusted for X-Forwarded-For",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated exact origins (scheme://host[:port]) allowed "
        "cross-origin access, with credentials; empty: none. `*` is refused",
    )
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="Serve /metrics on this port instead of the API's (same process); "
        "0 picks a free port",
    )
    metrics_host: str = Field(
        "127.0.0.1", description="Address the metrics port binds (0.0.0.0 in a container)"
    )
    metrics_token: SecretStr | None = Field(
        None, description="When set, /metrics requires `Authorization: Bearer <token>`"
    )
    max_body_bytes: int = Field(16384, ge=1024, description="Largest accepted request body")
    max_header_bytes: int = Field(
        16384, ge=4096, description="Largest accepted request line and headers (431 beyond)"
    )

    # --- Mail and the account lifecycle (README, "Account lifecycle") -----------------
    smtp_url: SecretStr | None = Field(
        None,
        description="SMTP server for mails: smtp://[user:pass@]host[:port], smtp+starttls:// "
        "or smtps://; unset: mails wait (in development and embedded mode: kept in memory "
        "and logged)",
    )
    smtp_timeout_seconds: float = Field(10.0, gt=0, description="Timeout of one SMTP delivery")
    mail_from: str = Field(
        "quizauth <no-reply@localhost>", description="The From header of every mail"
    )
    mail_service_name: str = Field("quizauth", description="The name mails give the service")
    require_verified_email: bool = Field(
        False, description="Refuse login (403 EMAIL_NOT_VERIFIED) until the address is verified"
    )
    account_action_limit: int = Field(
        10,
        ge=1,
        description="Attempts per account per window at each lifecycle endpoint (verify, "
        "reset, change password or email, delete, export)",
    )
    account_action_ip_limit: int = Field(
        100, ge=1, description="Attempts per client address (IPv6: /64) per window at each"
    )
    account_mail_limit: int = Field(
        3,
        ge=1,
        description="Mails an account may ask for per window (verification resend, password "
        "reset, email change), each kind on its own",
    )
    account_action_window_seconds: int = Field(
        3600, ge=1, description="Window of the lifecycle endpoints' limits"
    )

    @field_validator(
        "trusted_proxies", "introspection_clients", "web_origins", "cors_origins", mode="before"
    )
    @classmethod
    def _split_comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("roles", mode="before")
    @classmethod
    def _parse_roles(cls, value: object) -> object:
        return parse_role_grants(value) if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for spec in value:  # raises ValueError on an invalid network
            ipaddress.ip_network(spec, strict=False)
        return value

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: list[str]) -> list[str]:
        # Credentials are allowed for these origins, so each must be one exact origin:
        # a wildcard would hand the user's session to any site.
        for origin in value:
            if not EXACT_ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"AUTH_CORS_ORIGINS: {origin!r} is not an exact origin such as "
                    "https://quiz.example (lower case, no path, no wildcard)"
                )
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = urlsplit(value)
        if url.scheme not in ("http", "https") or not url.netloc or url.query or url.fragment:
            raise ValueError(
                f"AUTH_PUBLIC_URL: {value!r} is not a base URL such as https://auth.example"
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _require_real_secret(self) -> Settings:
        # A weak secret means anyone can mint tokens (HS256) or predict refresh tokens:
        # refuse to start, outside development. No secret at all is fine unless HS256
        # is asked for: then an asymmetric key is generated.
        hs256 = self.signing_algorithm is SigningAlgorithm.HS256
        if self.env is Environment.DEVELOPMENT:
            if hs256 and self.jwt_secret is None:
                self.jwt_secret = SecretStr(DEVELOPMENT_SECRET)
            return self
        if self.jwt_secret is None:
            if hs256:
                raise ValueError(
                    "AUTH_JWT_ALGORITHM=HS256 needs AUTH_JWT_SECRET; leave both unset to sign "
                    "with a generated ES256 key"
                )
            return self
        secret = self.jwt_secret.get_secret_value()
        if not secret:
            raise ValueError(
                "AUTH_JWT_SECRET is empty: remove it to sign with a generated ES256 key, "
                "or set a random one for HS256"
            )
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"AUTH_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        if secret.lower() in KNOWN_PLACEHOLDER_SECRETS:
            raise ValueError("AUTH_JWT_SECRET is a well-known placeholder; generate a random one")
        return self

    @model_validator(mode="after")
    def _require_strength_floors(self) -> Settings:
        # A weakened hash or password rule would go unnoticed until the hashes leak.
        if self.env is not Environment.PRODUCTION:
            return self
        if problems := strength_floor_problems(self):
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _valid_topic_shape(self) -> Settings:
        # Refused here, at startup, rather than by every write once the topics exist.
        self.topic_shape  # noqa: B018 - built for its validation
        return self

    @model_validator(mode="after")
    def _consistent_redis_mode(self) -> Settings:
        # A half-configured Sentinel would otherwise surface as 503s on every request.
        if self.redis_mode is RedisMode.SENTINEL:
            if problems := sentinel_problems(self):
                raise ValueError("AUTH_REDIS_MODE=sentinel: " + "; ".join(problems))
            return self
        sentinel_fields = {
            "AUTH_REDIS_SENTINELS": self.redis_sentinels,
            "AUTH_REDIS_SENTINEL_MASTER": self.redis_sentinel_master,
            "AUTH_REDIS_SENTINEL_USERNAME": self.redis_sentinel_username,
            "AUTH_REDIS_SENTINEL_PASSWORD": self.redis_sentinel_password,
        }
        if given := [name for name, value in sentinel_fields.items() if value is not None]:
            raise ValueError(
                f"{', '.join(given)} apply only with AUTH_REDIS_MODE=sentinel "
                f"(it is {self.redis_mode.value})"
            )
        return self

    @model_validator(mode="after")
    def _production_needs_servers(self) -> Settings:
        # Embedded mode forgets every user, session and revocation on restart, and keeps
        # rate limits per process: never what production means.
        if self.env is Environment.PRODUCTION and not (self.mongo_url and self.redis_configured):
            raise ValueError(
                "AUTH_ENV=production needs AUTH_MONGO_URL and AUTH_REDIS_URL "
                "(embedded mode is for development and tests)"
            )
        return self

    @property
    def topic_shape(self) -> TopicShape:
        """How the relay creates a missing event topic; ValueError when impossible."""
        return TopicShape(
            partitions=self.kafka_topic_partitions,
            replication_factor=self.kafka_replication_factor,
            min_insync_replicas=self.kafka_min_insync_replicas,
        )

    @property
    def embedded(self) -> bool:
        """True when no server is configured: in-process backends, nothing persisted."""
        return self.mongo_url is None and not self.redis_configured

    @property
    def redis_configured(self) -> bool:
        """Whether a Redis is named: a URL, or the sentinels in sentinel mode."""
        return self.redis_url is not None or self.redis_sentinels is not None

    @property
    def signing_algorithm(self) -> SigningAlgorithm:
        """AUTH_JWT_ALGORITHM, or what the other settings imply: HS256 for a secret alone,
        else ES256 (a key directory's keys carry their own algorithms)."""
        if self.jwt_algorithm is not None:
            return self.jwt_algorithm
        if self.jwt_secret is not None and self.jwt_keys_dir is None:
            return SigningAlgorithm.HS256
        return SigningAlgorithm.ES256

    @property
    def refresh_rotation_key(self) -> bytes | None:
        """A key of its own for refresh-token derivation, derived from the secret; None
        without a secret (the container then uses one generated and kept in the store)."""
        if self.jwt_secret is None:
            return None
        return hmac.new(self.signing_secret, b"quizauth refresh rotation", "sha256").digest()

    @property
    def signing_secret(self) -> bytes:
        if self.jwt_secret is None:
            raise RuntimeError("no signing secret: AUTH_JWT_SECRET is unset")
        return self.jwt_secret.get_secret_value().encode()


def strength_floor_problems(settings: Settings) -> list[str]:
    """Each hash or password setting below its floor, with the value that would do."""
    problems = []
    memory, time_cost = settings.argon2_memory_kib, settings.argon2_time_cost
    if not any(memory >= m and time_cost >= t for m, t in ARGON2_FLOORS):
        pairs = ", ".join(f"{m} KiB with {t}" for m, t in ARGON2_FLOORS)
        problems.append(
            f"AUTH_ARGON2_MEMORY_KIB={memory} with AUTH_ARGON2_TIME_COST={time_cost} is "
            f"below OWASP's argon2id minimum; use at least one of: {pairs}"
        )
    if settings.bcrypt_rounds < BCRYPT_MIN_ROUNDS:
        problems.append(f"AUTH_BCRYPT_ROUNDS must be at least {BCRYPT_MIN_ROUNDS}")
    if settings.password_min_score < PASSWORD_MIN_SCORE_FLOOR:
        problems.append(f"AUTH_PASSWORD_MIN_SCORE must be at least {PASSWORD_MIN_SCORE_FLOOR}")
    return problems


def sentinel_problems(settings: Settings) -> list[str]:
    """What sentinel mode lacks or has wrong, as clear sentences (empty when usable)."""
    problems = []
    if settings.redis_sentinels is None:
        problems.append("set AUTH_REDIS_SENTINELS (host:port,host:port)")
    else:
        try:
            parse_sentinels(settings.redis_sentinels)
        except ValueError as exc:
            problems.append(f"AUTH_REDIS_SENTINELS: {exc}")
    if not settings.redis_sentinel_master:
        problems.append("set AUTH_REDIS_SENTINEL_MASTER (the name the sentinels monitor)")
    try:
        NodeAuth.from_url(settings.redis_url)
    except ValueError as exc:
        problems.append(f"AUTH_REDIS_URL: {exc}")
    return problems
