"""Builds every client and service from the settings, and closes them. The app's
lifespan owns one Container; nothing connects at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from pymongo import AsyncMongoClient

from auth_api.accounts.lifecycle import LifecycleService
from auth_api.accounts.lifecycle_base import LifecycleDeps, LifecycleLimits
from auth_api.accounts.profile_cache import ProfileCache
from auth_api.accounts.service import AccountService, RateLimits, Slowdown
from auth_api.admin.service import AdminService, AdminStores
from auth_api.errors import DependencyUnavailable
from auth_api.events.publisher import (
    EventPublisher,
    KafkaPublisher,
    MemoryPublisher,
    UnreachablePublisher,
)
from auth_api.events.relay import OutboxRelay, RelayTuning
from auth_api.health.service import BacklogGauge
from auth_api.mail.mailer import Mailer
from auth_api.mail.relay import MailRelay
from auth_api.mail.wiring import build_mail_relay, build_mailer, mail_tokens
from auth_api.model.clock import SYSTEM_CLOCK, Clock
from auth_api.model.roles import RoleCatalog
from auth_api.model.session import SessionPolicy
from auth_api.passwords.hasher import HashParameters, PasswordHasher
from auth_api.passwords.strength import StrengthChecker
from auth_api.security.fallback import FallbackRateLimiter
from auth_api.security.memory_stores import MemoryRateLimiter, MemoryRevocationStore
from auth_api.security.redis_stores import (
    RedisRateLimiter,
    RedisRevocationStore,
    connect_redis,
    near_cache_prefixes,
)
from auth_api.security.stores import RateLimiter, RevocationStore
from auth_api.sessions.revocation import TokenRevocation
from auth_api.sessions.service import SessionService
from auth_api.settings import RedisMode, Settings, SigningAlgorithm
from auth_api.store.account_ports import AccountStore, MailOutbox
from auth_api.store.admin_ports import AdminStore
from auth_api.store.key_store import MemoryKeyStore, MongoKeyStore
from auth_api.store.memory import MemoryUserStore
from auth_api.store.memory_admin import MemoryAdminStore
from auth_api.store.mongo import MongoUserStore
from auth_api.store.mongo_admin import MongoAdminStore
from auth_api.store.mongo_concerns import concerns_for
from auth_api.store.ports import KeyStore, Outbox, SessionStore, UserStore
from auth_api.tokens.access import AccessTokenCodec
from auth_api.tokens.authenticator import Authenticator
from auth_api.tokens.introspection import IntrospectionGate, parse_clients
from auth_api.tokens.key_reload import KeyReloader
from auth_api.tokens.keys import KeySet
from auth_api.tokens.signing import load_signing
from quizauth_client.near_cache import NearCache

log = logging.getLogger(__name__)


@dataclass
class Backends:
    users: UserStore
    sessions: SessionStore
    outbox: Outbox
    revocations: RevocationStore
    limiter: RateLimiter
    publisher: EventPublisher
    admin: AdminStore
    keys: KeyStore
    accounts: AccountStore
    mail_outbox: MailOutbox
    starters: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def close_connections(self) -> None:
        for close in reversed(self.closers):
            await close()


@dataclass(frozen=True)
class Services:
    accounts: AccountService
    sessions: SessionService
    authenticator: Authenticator
    codec: AccessTokenCodec
    introspection: IntrospectionGate
    admin: AdminService
    lifecycle: LifecycleService
    revocation: TokenRevocation


@dataclass
class Container:
    settings: Settings
    backends: Backends
    hasher: PasswordHasher
    strength: StrengthChecker
    services: Services
    relay: OutboxRelay
    backlog: BacklogGauge
    mail_relay: MailRelay
    mailer: Mailer
    key_reloader: KeyReloader | None = None
    _relay_task: asyncio.Task[None] | None = None
    _mail_task: asyncio.Task[None] | None = None
    _keys_task: asyncio.Task[None] | None = None
    _on_sighup: bool = False
    # Startup done and not yet closing: what /health/ready reports as "startup".
    started: bool = False

    @property
    def topics_status(self) -> str:
        """The relay's event topics (see OutboxRelay.topics), when this process runs it."""
        return self.relay.topics if self.settings.outbox_relay else "disabled"

    async def start(self) -> None:
        await self.backends.users.setup()
        if self.settings.redis_url and self.settings.redis_mode is RedisMode.CLUSTER:
            await self._learn_cluster_layout()
        for start in self.backends.starters:
            await start()
        if self.settings.outbox_relay:
            self._relay_task = asyncio.create_task(self.relay.run(), name="outbox-relay")
            self._mail_task = asyncio.create_task(self.mail_relay.run(), name="mail-relay")
        if self.key_reloader is not None:
            self._watch_keys(self.key_reloader)
        self.started = True

    async def _learn_cluster_layout(self) -> None:
        """Ask the cluster for its slots once, before the first requests: the first
        commands of many concurrent requests on a client that has not yet learned them
        can trip over each other in redis-py. A cluster out of reach does not stop the
        start: requests answer 503 until it is back, as with a down server."""
        with contextlib.suppress(DependencyUnavailable, TimeoutError):
            async with asyncio.timeout(self.settings.io_timeout_seconds * 2):
                await self.backends.revocations.ping()

    def _watch_keys(self, reloader: KeyReloader) -> None:
        watch = reloader.watch(self.install_keys, self.settings.jwt_keys_reload_seconds)
        self._keys_task = asyncio.create_task(watch, name="signing-keys")
        # SIGHUP reads the keys at once. Only the main thread may set a handler, and a
        # test running apps elsewhere does without it.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reloader.request)
            self._on_sighup = True

    def install_keys(self, keys: KeySet) -> None:
        """The new set, for the next token signed or verified: one assignment."""
        self.services.codec.keys = keys

    async def close(self) -> None:
        self.started = False
        if self._on_sighup:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        if self._keys_task is not None:
            self._keys_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keys_task
        if self._relay_task is not None:
            await self._stop_relay(self._relay_task)
        if self._mail_task is not None:
            await self._stop_mail_relay(self._mail_task)
        await self.mailer.close()
        await self.backends.publisher.close()
        await self.backends.close_connections()
        self.hasher.close()
        self.strength.close()

    async def _stop_mail_relay(self, task: asyncio.Task[None]) -> None:
        self.mail_relay.stop()
        try:
            async with asyncio.timeout(self.settings.smtp_timeout_seconds):
                await asyncio.shield(task)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _stop_relay(self, task: asyncio.Task[None]) -> None:
        # Cancelling mid-publish would leak Kafka connections; ask first, cancel if stuck.
        self.relay.stop()
        try:
            async with asyncio.timeout(self.settings.io_timeout_seconds * 2):
                await asyncio.shield(task)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def embedded_backends(clock: Clock = SYSTEM_CLOCK) -> Backends:
    log.warning(
        "EMBEDDED MODE: users, revocations and events live in this process only and are "
        "lost on restart. Not for production: set AUTH_MONGO_URL and AUTH_REDIS_URL."
    )
    store = MemoryUserStore()
    return Backends(
        users=store,
        sessions=store,
        outbox=store,
        revocations=MemoryRevocationStore(clock.monotonic),
        limiter=MemoryRateLimiter(clock.monotonic),
        publisher=MemoryPublisher(),
        admin=MemoryAdminStore(store),
        keys=MemoryKeyStore(),
        accounts=store,
        mail_outbox=store,
    )


def connected_backends(settings: Settings) -> Backends:
    if not (settings.mongo_url and settings.redis_configured):
        raise ValueError(
            "set both AUTH_MONGO_URL and AUTH_REDIS_URL (or AUTH_REDIS_SENTINELS), "
            "or neither (embedded)"
        )
    timeout_ms = int(settings.io_timeout_seconds * 1000)
    mongo: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(
        settings.mongo_url,
        tz_aware=True,
        timeoutMS=timeout_ms,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
    )
    cluster = settings.redis_mode is RedisMode.CLUSTER
    redis = connect_redis(settings)
    concerns = concerns_for(mongo, settings.mongo_write_concern, settings.mongo_relay_read_concern)
    store = MongoUserStore(mongo, settings.mongo_db, concerns)
    prefix = settings.redis_prefix
    # One near cache (one tracking connection) for the denylist and the counters that
    # introspection peeks at; None: every check reads Redis.
    near_cache = (
        NearCache(redis, near_cache_prefixes(prefix), settings.revocation_near_cache_keys)
        if settings.revocation_near_cache and near_cache_fits(settings.redis_mode)
        else None
    )
    revocations = RedisRevocationStore(
        redis, prefix, read_legacy_keys=not cluster, near_cache=near_cache
    )
    return Backends(
        users=store,
        sessions=store,
        outbox=store,
        revocations=revocations,
        limiter=FallbackRateLimiter(
            RedisRateLimiter(redis, prefix, cluster=cluster, near_cache=near_cache)
        ),
        publisher=kafka_publisher(settings),
        admin=MongoAdminStore(store, mongo, settings.mongo_db, concerns),
        keys=MongoKeyStore(mongo, settings.mongo_db, concerns),
        accounts=store,
        mail_outbox=store,
        starters=[revocations.start],
        closers=[mongo.close, redis.aclose, revocations.close],
    )


def near_cache_fits(mode: RedisMode) -> bool:
    """A cluster refuses the channel itself (each node tracks its own keys). Over
    Sentinel the channel's connection could outlive a failover on the demoted master,
    which no longer sees the writes; until that is shown safe, every check reads the
    master, as without the cache."""
    if mode is RedisMode.SENTINEL:
        log.info("revocation near cache off: Redis Sentinel mode reads the master each time")
        return False
    return True


def kafka_publisher(settings: Settings) -> EventPublisher:
    if settings.kafka_bootstrap is None:
        log.warning("AUTH_KAFKA_BOOTSTRAP is unset: events are recorded but not delivered")
        return UnreachablePublisher()
    return KafkaPublisher(
        settings.kafka_bootstrap, settings.io_timeout_seconds, settings.topic_shape
    )


def build_hasher(settings: Settings) -> PasswordHasher:
    params = HashParameters(
        argon2_memory_kib=settings.argon2_memory_kib,
        argon2_time_cost=settings.argon2_time_cost,
        argon2_parallelism=settings.argon2_parallelism,
        bcrypt_rounds=settings.bcrypt_rounds,
    )
    return PasswordHasher(
        params, concurrency=settings.hash_concurrency, niceness=settings.hash_niceness
    )


def key_reloader(settings: Settings) -> KeyReloader | None:
    """A reloader of the key directory, when tokens are signed with its keys."""
    if settings.signing_algorithm is SigningAlgorithm.HS256 or settings.jwt_keys_dir is None:
        return None
    return KeyReloader(settings.jwt_keys_dir)


def build_codec(settings: Settings, keys: KeySet, clock: Clock = SYSTEM_CLOCK) -> AccessTokenCodec:
    return AccessTokenCodec(
        keys=keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        ttl_seconds=settings.access_token_ttl_seconds,
        leeway_seconds=settings.jwt_leeway_seconds,
        clock=clock,
        roles=RoleCatalog.of(settings.roles),
    )


def rate_limits(settings: Settings) -> RateLimits:
    return RateLimits(
        login_account_ip=settings.login_account_ip_limit,
        login_ip=settings.login_ip_limit,
        login_window_seconds=settings.login_window_seconds,
        register_ip=settings.register_ip_limit,
        register_global=settings.register_global_limit,
        register_window_seconds=settings.register_window_seconds,
        login_slowdown=Slowdown(
            after_failures=settings.login_delay_after_failures,
            step_seconds=settings.login_delay_step_seconds,
            max_seconds=settings.login_delay_max_seconds,
        ),
        require_verified_email=settings.require_verified_email,
    )


def session_policy(settings: Settings) -> SessionPolicy:
    return SessionPolicy(
        absolute_lifetime=timedelta(seconds=settings.session_lifetime_seconds),
        idle_timeout=timedelta(seconds=settings.session_idle_seconds),
        reuse_grace=timedelta(seconds=settings.refresh_grace_seconds),
    )


async def build_container(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> Container:
    """`clock` drives every time rule: the services, token issue times, the relay and
    the in-process stores' windows. Tests pass a clock they move by hand. Awaited for
    the signing keys, which may have to be read from (or first written to) the store."""
    backends = embedded_backends(clock) if settings.embedded else connected_backends(settings)
    reloader = key_reloader(settings)
    if reloader is not None:
        reloader.note_loaded()  # before the load: a change during it is seen next check
    try:
        signing = await load_signing(settings, backends.keys, clock.now())
    except BaseException:
        await backends.close_connections()
        raise
    hasher = build_hasher(settings)
    strength = StrengthChecker(settings.password_min_score)
    codec = build_codec(settings, signing.keys, clock)
    tuning = RelayTuning(backstop_seconds=settings.outbox_backstop_seconds)
    relay = OutboxRelay(
        backends.outbox, backends.publisher, settings.kafka_topic_prefix, tuning, clock=clock
    )
    backlog = BacklogGauge(backends.outbox)

    def event_recorded(user_id: str) -> None:
        relay.notify(user_id)
        backlog.invalidate()  # this process's next reading shows the event

    sessions = SessionService(
        backends.sessions,
        codec,
        backends.revocations,
        session_policy(settings),
        signing.rotation_key,
        on_event_recorded=event_recorded,
        clock=clock,
    )
    mailer = build_mailer(settings)
    one_time = mail_tokens(signing.rotation_key)
    mail_relay = build_mail_relay(settings, backends.mail_outbox, mailer, one_time, clock)
    profiles = ProfileCache(settings.profile_cache_seconds)
    accounts = AccountService(
        backends.users,
        hasher,
        sessions,
        backends.limiter,
        rate_limits(settings),
        on_event_recorded=event_recorded,
        profiles=profiles,
        clock=clock,
        strength=strength,
        mail_tokens=one_time,
        on_mail_recorded=mail_relay.notify,
    )
    lifecycle = LifecycleService(
        LifecycleDeps(
            accounts=accounts,
            users=backends.users,
            store=backends.accounts,
            admins=backends.admin,
            hasher=hasher,
            limiter=backends.limiter,
            limits=lifecycle_limits(settings),
            revocations=backends.revocations,
            codec=codec,
            tokens=one_time,
            profiles=profiles,
            on_event_recorded=event_recorded,
            on_mail_recorded=mail_relay.notify,
            clock=clock,
        )
    )
    authenticator = Authenticator(codec, backends.revocations)
    services = Services(
        accounts=accounts,
        sessions=sessions,
        authenticator=authenticator,
        codec=codec,
        introspection=IntrospectionGate(
            parse_clients(settings.introspection_clients),
            backends.limiter,
            settings.introspection_failure_limit,
            settings.introspection_failure_window_seconds,
        ),
        admin=build_admin(settings, backends, sessions, codec, profiles, event_recorded, clock),
        revocation=TokenRevocation(sessions, authenticator),
        lifecycle=lifecycle,
    )
    return Container(
        settings,
        backends,
        hasher,
        strength,
        services,
        relay,
        backlog,
        mail_relay,
        mailer,
        key_reloader=reloader,
    )


def lifecycle_limits(settings: Settings) -> LifecycleLimits:
    return LifecycleLimits(
        account=settings.account_action_limit,
        ip=settings.account_action_ip_limit,
        mail=settings.account_mail_limit,
        window_seconds=settings.account_action_window_seconds,
    )


def build_admin(
    settings: Settings,
    backends: Backends,
    sessions: SessionService,
    codec: AccessTokenCodec,
    profiles: ProfileCache,
    event_recorded: Callable[[str], None],
    clock: Clock,
) -> AdminService:
    return AdminService(
        AdminStores(backends.users, backends.sessions, backends.admin),
        sessions,
        backends.revocations,
        backends.limiter,
        codec.roles,
        session_policy(settings),
        # A denial must outlive every token it denies, leeway included.
        denial_seconds=codec.denial_seconds(),
        on_event_recorded=event_recorded,
        on_user_changed=profiles.discard,
        clock=clock,
    )
