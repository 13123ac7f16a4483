"""The container engine `make image-test` runs the image with, chosen like
infra/image/build chooses the one that builds it: IMAGE_ENGINE when set, else Docker
when its daemon answers, else podman with infra/image/containers.conf."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from tests.support.servers import REPO

CONTAINERS_CONF = REPO / "infra" / "image" / "containers.conf"


class EngineError(AssertionError):
    """A command of the engine failed; the message holds the command and its output."""


@dataclass(frozen=True)
class Engine:
    name: str  # "docker" or "podman"
    env: dict[str, str]

    def run(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(  # noqa: S603 - the engine, with arguments of this module
            [self.name, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise EngineError(
                f"`{self.name} {' '.join(args)}` exited {result.returncode}:\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        return result

    def has_image(self, image: str) -> bool:
        return self.run("image", "inspect", image, check=False).returncode == 0

    def isolation_options(self) -> list[str]:
        """Options that make podman run a container as Docker does: nothing writable on
        a read-only root (podman would add tmpfs mounts), and no health-check timer (it
        needs systemd; the tests run the check themselves)."""
        if self.name == "podman":
            return ["--read-only-tmpfs=false", "--health-interval=disable"]
        return []


def find_engine() -> Engine:
    env = dict(os.environ)
    name = env.get("IMAGE_ENGINE") or ("docker" if docker_answers(env) else "podman")
    if shutil.which(name) is None:
        raise EngineError(f"{name} is not installed (apt-get install podman runc mmdebstrap)")
    if name == "podman":
        env.setdefault("CONTAINERS_CONF", str(CONTAINERS_CONF))
    return Engine(name, env)


def docker_answers(env: dict[str, str]) -> bool:
    if shutil.which("docker") is None:
        return False
    # On PATH, as infra/image/build finds it.
    info = ["docker", "info"]
    probe = subprocess.run(info, env=env, capture_output=True, timeout=30, check=False)  # noqa: S603
    return probe.returncode == 0


@dataclass
class Container:
    engine: Engine
    name: str

    @classmethod
    def start(
        cls,
        engine: Engine,
        image: str,
        name: str,
        env: dict[str, str],
        options: list[str],
        command: list[str] | None = None,
    ) -> Container:
        assignments = [f"--env={key}={value}" for key, value in env.items()]
        engine.run(
            "run", "--detach", "--name", name, *options, *assignments, image, *(command or [])
        )
        return cls(engine, name)

    def exec(
        self, *command: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        assignments = [f"--env={key}={value}" for key, value in (env or {}).items()]
        return self.engine.run("exec", *assignments, self.name, *command, check=False)

    def inspect(self) -> dict[str, Any]:
        found: list[dict[str, Any]] = json.loads(self.engine.run("inspect", self.name).stdout)
        return found[0]

    def running(self) -> bool:
        return bool(self.inspect()["State"]["Running"])

    def logs(self) -> str:
        result = self.engine.run("logs", self.name, check=False)
        return result.stdout + result.stderr

    def logs_tail(self, lines: int = 40) -> str:
        return f"--- last lines of {self.name}'s log:\n" + "\n".join(
            self.logs().splitlines()[-lines:]
        )

    def stop(self, grace_seconds: int) -> float:
        """SIGTERM, then SIGKILL after the grace period; returns the seconds it took."""
        started = time.monotonic()
        self.engine.run("stop", "--time", str(grace_seconds), self.name, timeout=grace_seconds + 60)
        return time.monotonic() - started

    def exit_code(self) -> int:
        return int(self.inspect()["State"]["ExitCode"])

    def remove(self) -> None:
        self.engine.run("rm", "--force", self.name, check=False)
