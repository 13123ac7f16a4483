"""What every server of the stack is described by, and the settings they share."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .proc import StackError

NAMES = ("redis", "mongo", "kafka", "mail")
# What the service reads to find each server.
CLIENT_VARIABLES = {
    "mongo": "AUTH_MONGO_URL",
    "redis": "AUTH_REDIS_URL",
    "kafka": "AUTH_KAFKA_BOOTSTRAP",
    "mail": "AUTH_SMTP_URL",
}
# Where tests read the mails: the mail catcher's HTTP API (not a setting of the service).
MAIL_API_VARIABLE = "AUTH_STACK_MAIL_API"
MONGO_BACKENDS = ("memory", "h2")  # the first is the default


@dataclass(frozen=True)
class Settings:
    repo: Path
    cache: Path  # everything downloaded or built lives here
    state: Path  # per-server data, logs and pid files
    mongo_port: int
    redis_port: int
    kafka_port: int
    kafka_controller_port: int
    mail_smtp_port: int
    mail_http_port: int
    mongo_heap: str  # the mongo server's maximum Java heap, as -Xmx takes it
    mongo_backend: str  # "memory" or "h2"

    def client_env(self) -> dict[str, str]:
        """The service's settings for these servers, by variable name."""
        urls = {
            "mongo": f"mongodb://127.0.0.1:{self.mongo_port}",
            "redis": f"redis://127.0.0.1:{self.redis_port}/0",
            "kafka": f"127.0.0.1:{self.kafka_port}",
            "mail": f"smtp://127.0.0.1:{self.mail_smtp_port}",
        }
        env = {CLIENT_VARIABLES[name]: url for name, url in urls.items()}
        return {**env, MAIL_API_VARIABLE: self.mail_api_url}

    @property
    def mail_api_url(self) -> str:
        return f"http://127.0.0.1:{self.mail_http_port}"

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
        mail_smtp_port=_port_from_env(environ, "AUTH_STACK_MAIL_SMTP_PORT", 1025),
        mail_http_port=_port_from_env(environ, "AUTH_STACK_MAIL_HTTP_PORT", 8025),
        mongo_heap=_heap_from_env(environ, "AUTH_STACK_MONGO_HEAP", "512m"),
        mongo_backend=_choice_from_env(environ, "AUTH_STACK_MONGO_BACKEND", MONGO_BACKENDS),
    )


def _heap_from_env(environ: Mapping[str, str], name: str, default: str) -> str:
    raw = environ.get(name) or default
    if not re.fullmatch(r"[1-9][0-9]*[mMgG]", raw):
        raise StackError(f"{name}={raw!r} is not a heap size such as 512m or 2g")
    return raw


def _choice_from_env(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = environ.get(name) or choices[0]
    if raw not in choices:
        raise StackError(f"{name}={raw!r} is not one of {', '.join(choices)}")
    return raw


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


def missing_tool(tool: str, purpose: str) -> list[str]:
    return [] if shutil.which(tool) else [f"'{tool}' is not on PATH (needed {purpose})"]
