"""The mail catcher: Mailpit, built from this project's small Go module (infra/mailpit)
into .cache/bin. It takes the service's mails over SMTP and shows them through its HTTP
API (and a web UI without its built scripts: the module archive lacks them)."""

from __future__ import annotations

import os
from pathlib import Path

from . import probes
from .proc import log, run_tool
from .spec import Server, Settings, missing_tool

BINARY = "mailpit-auth"


def _stale(src: Path, binary: Path) -> bool:
    if not binary.exists():
        return True
    built = binary.stat().st_mtime
    sources = [*src.glob("*.go"), src / "go.mod", src / "go.sum"]
    return any(path.stat().st_mtime > built for path in sources)


def mail(s: Settings) -> Server:
    workdir = s.state / "mail"
    src = s.repo / "infra" / "mailpit"
    binary = s.cache / "bin" / BINARY

    def preflight() -> list[str]:
        return missing_tool("go", "to build Mailpit") if _stale(src, binary) else []

    def provision() -> None:
        if not _stale(src, binary):
            return
        log("mail: building Mailpit (the first build takes a few minutes)...")
        env = dict(
            os.environ,
            GOMODCACHE=str(s.cache / "go" / "mod"),
            GOCACHE=str(s.cache / "go" / "build"),
            # No VCS stamping: the build must not depend on the state of the checkout.
            GOFLAGS="-mod=mod -buildvcs=false",
        )
        run_tool(["go", "build", "-trimpath", "-o", str(binary), "./"], env=env, cwd=src)

    def command() -> list[str]:
        workdir.mkdir(parents=True, exist_ok=True)
        return [
            str(binary),
            "--smtp", f"127.0.0.1:{s.mail_smtp_port}",
            "--listen", f"127.0.0.1:{s.mail_http_port}",
            "--database", str(workdir / "mailpit.db"),
            "--max", "10000",  # the suite sends a few thousand; older ones are dropped
            "--disable-version-check",
        ]  # fmt: skip

    return Server(
        name="mail",
        label="Mailpit",
        ports=(
            ("AUTH_STACK_MAIL_SMTP_PORT", s.mail_smtp_port),
            ("AUTH_STACK_MAIL_HTTP_PORT", s.mail_http_port),
        ),
        marker=BINARY,
        ready_timeout=20,
        workdir=workdir,
        preflight=preflight,
        provision=provision,
        command=command,
        probe=lambda port: probes.smtp_greets(port) and probes.http_ok(s.mail_http_port, "/readyz"),
    )
