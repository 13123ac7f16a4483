"""The three servers of the local stack: how to provision, configure and probe each."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import probes
from .proc import StackError, log, run_tool

NAMES = ("redis", "mongo", "kafka")
# What the service reads to find each server.
CLIENT_VARIABLES = {
    "mongo": "AUTH_MONGO_URL",
    "redis": "AUTH_REDIS_URL",
    "kafka": "AUTH_KAFKA_BOOTSTRAP",
}


@dataclass(frozen=True)
class Settings:
    repo: Path
    cache: Path  # everything downloaded or built lives here
    state: Path  # per-server data, logs and pid files
    mongo_port: int
    redis_port: int
    kafka_port: int
    kafka_controller_port: int

    def client_env(self) -> dict[str, str]:
        """The service's settings for these servers, by variable name."""
        urls = {
            "mongo": f"mongodb://127.0.0.1:{self.mongo_port}",
            "redis": f"redis://127.0.0.1:{self.redis_port}/0",
            "kafka": f"127.0.0.1:{self.kafka_port}",
        }
        return {CLIENT_VARIABLES[name]: url for name, url in urls.items()}

    def env_line(self) -> str:
        return "export " + " ".join(f"{var}={url}" for var, url in self.client_env().items())


def _port_from_env(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "")
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise StackError(f"{name}={raw!r} is not a TCP port number")
    return int(raw)


def load_settings(repo: Path, environ: Mapping[str, str] = os.environ) -> Settings:
    cache = repo / ".cache"
    kafka_port = _port_from_env(environ, "AUTH_STACK_KAFKA_PORT", 9092)
    return Settings(
        repo=repo,
        cache=cache,
        state=Path(environ.get("AUTH_STACK_DIR") or cache / "stack").resolve(),
        mongo_port=_port_from_env(environ, "AUTH_STACK_MONGO_PORT", 27017),
        redis_port=_port_from_env(environ, "AUTH_STACK_REDIS_PORT", 6379),
        kafka_port=kafka_port,
        kafka_controller_port=_port_from_env(
            environ, "AUTH_STACK_KAFKA_CONTROLLER_PORT", kafka_port + 1
        ),
    )


@dataclass(frozen=True)
class Server:
    name: str  # CLI name, also the state sub-directory
    label: str
    ports: tuple[tuple[str, int], ...]  # (env var, port); the first one is the client port
    marker: str  # substring of the command line that identifies the binary
    ready_timeout: float
    workdir: Path
    preflight: Callable[[], list[str]]  # problems that would stop provisioning/running
    provision: Callable[[], None]  # download or build what is missing
    command: Callable[[], list[str]]  # write config, return the server argv
    probe: Callable[[int], bool]

    @property
    def port(self) -> int:
        return self.ports[0][1]

    @property
    def pidfile(self) -> Path:
        return self.workdir / f"{self.name}.pid"

    @property
    def logfile(self) -> Path:
        return self.workdir / f"{self.name}.log"


def _missing(tool: str, purpose: str) -> list[str]:
    return [] if shutil.which(tool) else [f"'{tool}' is not on PATH (needed {purpose})"]


# --- Redis -------------------------------------------------------------------


def _redis_preflight() -> list[str]:
    if shutil.which("redis-server") or (os.geteuid() == 0 and shutil.which("apt-get")):
        return []
    return [
        "'redis-server' is not on PATH; install Debian's redis-server package"
        " (the stack can do it only as root with apt-get)"
    ]


def _redis_provision() -> None:
    if shutil.which("redis-server"):
        return
    log("redis: installing Debian package redis-server...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "redis-server"]
    with _no_service_autostart():
        try:
            run_tool(install, env=env)
        except StackError:  # usually a stale or missing package index
            run_tool(["apt-get", "update", "-q"], env=env)
            run_tool(install, env=env)
    if not shutil.which("redis-server"):
        raise StackError("apt-get installed redis-server but it is still not on PATH")


@contextlib.contextmanager
def _no_service_autostart() -> Iterator[None]:
    """Keep the package's post-install script from starting a system redis.

    That daemon would hold port 6379 and outlive the stack. Debian's
    invoke-rc.d consults /usr/sbin/policy-rc.d, where exit code 101 means
    "deny". An existing policy is left untouched.
    """
    policy = Path("/usr/sbin/policy-rc.d")
    if policy.exists():
        yield
        return
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    try:
        yield
    finally:
        policy.unlink(missing_ok=True)


def redis(s: Settings) -> Server:
    workdir = s.state / "redis"

    def command() -> list[str]:
        return [
            "redis-server", "--port", str(s.redis_port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(workdir),
        ]  # fmt: skip

    return Server(
        name="redis",
        label="Redis",
        ports=(("AUTH_STACK_REDIS_PORT", s.redis_port),),
        marker="redis-server",  # redis rewrites its process title, keeping only this
        ready_timeout=15,
        workdir=workdir,
        preflight=_redis_preflight,
        provision=_redis_provision,
        command=command,
        probe=probes.redis_ping,
    )


# --- Kafka (KRaft, combined broker + controller) ---------------------------------


def _kafka_libs(s: Settings) -> Path:
    return s.cache / "kafka" / "libs"


def _pom(s: Settings) -> Path:
    return s.repo / "infra" / "kafka" / "pom.xml"


def _pom_digest(s: Settings) -> str:
    return hashlib.sha256(_pom(s).read_bytes()).hexdigest()


def _kafka_libs_current(s: Settings) -> bool:
    # The stamp ties the jar set to the POM, so a version bump re-resolves.
    stamp = _kafka_libs(s) / ".pom.sha256"
    return stamp.is_file() and stamp.read_text().strip() == _pom_digest(s)


def _kafka_provision(s: Settings) -> None:
    if _kafka_libs_current(s):
        return
    log("kafka: resolving jars from Maven (first run takes a few minutes)...")
    libs = _kafka_libs(s)
    shutil.rmtree(libs, ignore_errors=True)
    run_tool([
        "mvn", "-B", "-q", "-Dstyle.color=never", f"-Dmaven.repo.local={s.cache / 'm2'}",
        "-f", str(_pom(s)), "dependency:copy-dependencies",
        "-DincludeScope=runtime", f"-DoutputDirectory={libs}",
    ])  # fmt: skip
    (libs / ".pom.sha256").write_text(_pom_digest(s) + "\n")


def _cluster_id() -> str:
    # KRaft wants 16 random bytes as unpadded URL-safe base64; a leading '-'
    # would be parsed as a command-line option by the storage tool.
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _kafka_properties(s: Settings, data: Path) -> str:
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{s.kafka_controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port},CONTROLLER://127.0.0.1:{s.kafka_controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{s.kafka_port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(data),
        # A single broker cannot meet the default replication of 3 for internal
        # topics; consumer groups and transactions would never become available.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        # 50 offset partitions (the default) only slow down startup on a dev broker.
        "offsets.topic.num.partitions": "1",
        "group.initial.rebalance.delay.ms": "0",  # tests should not wait 3 s per group
        "log.cleaner.dedupe.buffer.size": "16777216",  # default 128 MiB is wasted here
        "num.partitions": "1",
        "auto.create.topics.enable": "true",
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def kafka(s: Settings) -> Server:
    workdir = s.state / "kafka"
    data = workdir / "data"
    props = workdir / "server.properties"
    log_config = s.repo / "infra" / "kafka" / "log4j2.properties"

    def preflight() -> list[str]:
        needs_jars = not _kafka_libs_current(s)
        return _missing("java", "to run Kafka") + (
            _missing("mvn", "to fetch the Kafka jars") if needs_jars else []
        )

    def java(main_class: str, *args: str) -> list[str]:
        return [
            "java", "-Xms256m", "-Xmx512m", f"-Dlog4j2.configurationFile={log_config}",
            "-cp", f"{_kafka_libs(s)}/*", main_class, *args,
        ]  # fmt: skip

    def command() -> list[str]:
        props.write_text(_kafka_properties(s, data))
        if not (data / "meta.properties").exists():  # format once; keeps topics across restarts
            log("kafka: formatting storage...")
            cluster_id = _cluster_id()
            run_tool(java("kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)))
        return java("kafka.Kafka", str(props))

    return Server(
        name="kafka",
        label="Kafka",
        ports=(
            ("AUTH_STACK_KAFKA_PORT", s.kafka_port),
            ("AUTH_STACK_KAFKA_CONTROLLER_PORT", s.kafka_controller_port),
        ),
        marker="kafka.Kafka",
        ready_timeout=90,
        workdir=workdir,
        preflight=preflight,
        provision=lambda: _kafka_provision(s),
        command=command,
        probe=probes.kafka_broker_listed,
    )


# --- FerretDB (MongoDB wire protocol, SQLite backend) -------------------------------


def _ferretdb_stale(src: Path, binary: Path) -> bool:
    if not binary.exists():
        return True
    built = binary.stat().st_mtime
    sources = [*src.glob("*.go"), src / "go.mod", src / "go.sum"]
    return any(path.stat().st_mtime > built for path in sources)


def mongo(s: Settings) -> Server:
    workdir = s.state / "mongo"
    src = s.repo / "infra" / "ferretdb"
    binary = s.cache / "bin" / "ferretdb-auth"

    def preflight() -> list[str]:
        return _missing("go", "to build FerretDB") if _ferretdb_stale(src, binary) else []

    def provision() -> None:
        if not _ferretdb_stale(src, binary):
            return
        log("ferretdb: building (first run takes a few minutes)...")
        env = dict(
            os.environ,
            GOMODCACHE=str(s.cache / "go" / "mod"),
            GOCACHE=str(s.cache / "go" / "build"),
            # No VCS stamping: the build must not depend on the state of the checkout.
            GOFLAGS="-mod=mod -buildvcs=false",
        )
        run_tool(["go", "build", "-o", str(binary), "./"], env=env, cwd=src)

    def command() -> list[str]:
        return [str(binary), "-listen", f"127.0.0.1:{s.mongo_port}", "-data", str(workdir / "data")]

    return Server(
        name="mongo",
        label="FerretDB",
        ports=(("AUTH_STACK_MONGO_PORT", s.mongo_port),),
        marker="ferretdb-auth",
        ready_timeout=30,
        workdir=workdir,
        preflight=preflight,
        provision=provision,
        command=command,
        probe=probes.mongo_hello,
    )


def all_servers(s: Settings) -> list[Server]:
    return [redis(s), mongo(s), kafka(s)]
