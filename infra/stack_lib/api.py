"""infra/stack for Python tools and tests: the shared stack, private servers on free ports
in a state directory of their own, and processes stopped by their pid.

Servers start and stop through the infra/stack command, so they belong to no tool or
test process (an interrupted run leaves no half-owned child) and the command's pid
files stay the only bookkeeping. What can be read without starting anything (ports,
URLs, pids) is read here directly, from the same settings the command uses.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from .lifecycle import running
from .proc import wait_until
from .servers import all_servers
from .spec import CLIENT_VARIABLES, MAIL_API_VARIABLE, NAMES, Server, Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "infra" / "stack"
# Long enough for a first run, which fetches Kafka's and the mongo server's jars.
COMMAND_TIMEOUT = 900.0
START_ATTEMPTS = 3


class StackCommandError(RuntimeError):
    """infra/stack failed; the message carries the end of what it printed."""


def free_port(taken: set[int] | None = None) -> int:
    """A port on 127.0.0.1 that is free now and not in `taken`, which it then joins."""
    taken = set() if taken is None else taken
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in taken:
            taken.add(port)
            return port


def parse_env_line(line: str) -> dict[str, str]:
    """`export A=1 B=2`, as infra/stack env prints it, as a mapping."""
    assignments = line.strip().removeprefix("export ").split()
    return dict(item.split("=", 1) for item in assignments)


class Stack:
    """One set of servers: the state directory and ports that the AUTH_STACK_* variables
    in `overrides`, else in this process's environment, name. Without overrides it is
    the shared stack of this checkout, the one `infra/stack up` runs."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        self.environ = {**os.environ, **(overrides or {})}

    @property
    def settings(self) -> Settings:
        return load_settings(REPO, self.environ)

    def server(self, name: str) -> Server:
        (found,) = (srv for srv in all_servers(self.settings) if srv.name == name)
        return found

    def run(self, *args: str) -> str:
        """Run infra/stack with this stack's variables; its standard output."""
        result = subprocess.run(  # noqa: S603 - this repository's own launcher
            [str(STACK), *args], env=self.environ, capture_output=True, text=True,
            timeout=COMMAND_TIMEOUT, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise StackCommandError(f"infra/stack {' '.join(args)}:\n{result.stderr[-4000:]}")
        return result.stdout

    def stopped(self) -> list[str]:
        """The servers that are not running now."""
        return [srv.name for srv in all_servers(self.settings) if running(srv) is None]

    def up(self) -> list[str]:
        """Start what is not running and wait until all are healthy; the names this
        call started, which are the ones its caller may stop again."""
        was_stopped = self.stopped()
        self.run("up")
        return was_stopped

    def start(self, *names: str) -> None:
        self.run("start", *(names or NAMES))

    def stop(self, *names: str) -> None:
        self.run("stop", *(names or NAMES))

    def client_env(self, names: Sequence[str] = NAMES) -> dict[str, str]:
        """AUTH_MONGO_URL, AUTH_REDIS_URL, AUTH_KAFKA_BOOTSTRAP for `names`."""
        everything = self.settings.client_env()
        env = {CLIENT_VARIABLES[name]: everything[CLIENT_VARIABLES[name]] for name in names}
        if "mail" in names:
            env[MAIL_API_VARIABLE] = everything[MAIL_API_VARIABLE]
        return env

    def pid(self, name: str) -> int | None:
        record = running(self.server(name))
        return record.pid if record else None


class PrivateServer:
    """A server of the caller's own on free ports, in `state_dir`, for runs that stop
    and restart it without disturbing the shared stack. Ports in `taken` are avoided;
    the ones picked join it, so servers sharing the set never pick the same port.
    `settings` are further AUTH_STACK_* variables, e.g. AUTH_STACK_MONGO_BACKEND.
    Read `port` and `url` after start(): a failed first start retries on other ports."""

    def __init__(
        self,
        name: str,
        state_dir: Path,
        taken: set[int] | None = None,
        settings: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self._state_dir = state_dir
        self._taken = set() if taken is None else taken
        self._settings = dict(settings or {})
        self._started_once = False
        self.stack = self._with_free_ports()

    def _with_free_ports(self) -> Stack:
        variables = [var for var, _ in Stack().server(self.name).ports]
        ports = {var: str(free_port(self._taken)) for var in variables}
        return Stack({**self._settings, "AUTH_STACK_DIR": str(self._state_dir), **ports})

    @property
    def port(self) -> int:
        return self.stack.server(self.name).port

    @property
    def url(self) -> str:
        """What the service's setting for this server should say."""
        return self.stack.client_env([self.name])[CLIENT_VARIABLES[self.name]]

    @property
    def mail_api(self) -> str:
        """The mail catcher's HTTP API, for a private "mail" server."""
        return self.stack.settings.mail_api_url

    @property
    def pid(self) -> int | None:
        return self.stack.pid(self.name)

    def start(self) -> None:
        """Start and wait until healthy. A failed start is retried: a port picked free
        can be taken by another process before the server binds it. Until the first
        start succeeds the ports may change; after it a restart keeps them, since
        clients already use them."""
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                self.stack.start(self.name)
                self._started_once = True
                return
            except StackCommandError:
                self.stack.stop(self.name)  # whatever half-started
                if attempt == START_ATTEMPTS:
                    raise
                if not self._started_once:
                    self.stack = self._with_free_ports()

    def stop(self) -> None:
        self.stack.stop(self.name)


class PrivateServers:
    """Several private servers sharing one state directory."""

    def __init__(self, names: Sequence[str], state_dir: Path) -> None:
        taken: set[int] = set()
        self.servers = {name: PrivateServer(name, state_dir, taken) for name in names}

    def __getitem__(self, name: str) -> PrivateServer:
        return self.servers[name]

    def start(self, *names: str) -> None:
        for name in names or self.servers:
            self.servers[name].start()

    def stop(self, *names: str) -> None:
        for name in reversed(names or list(self.servers)):
            self.servers[name].stop()

    def client_env(self) -> dict[str, str]:
        env = {CLIENT_VARIABLES[name]: srv.url for name, srv in self.servers.items()}
        if "mail" in self.servers:
            env[MAIL_API_VARIABLE] = self.servers["mail"].mail_api
        return env


def wait_until_answering(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Poll `url` until it answers 200 (True), or `process` exits or `timeout` passes."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only

    def answers() -> bool:
        try:
            with direct.open(url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:  # refused, reset, timed out, or an HTTP error status
            return False

    settled = wait_until(lambda: process.poll() is not None or answers(), timeout, interval=0.2)
    return settled and process.poll() is None


def stop_process(process: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """Stop a process this run started, by its pid: SIGINT (a graceful shutdown, for
    uvicorn its workers' too), then after `grace` seconds SIGKILL to its process group
    when it leads one (started with start_new_session), else to it alone."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        pass
    if os.getpgid(process.pid) == process.pid:
        os.killpg(process.pid, signal.SIGKILL)
    else:
        process.kill()
    process.wait(timeout=10)
