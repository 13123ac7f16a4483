"""`python -m auth_api serve` as a process: everything it writes to stderr is JSON,
uvicorn's own lines included, and uvicorn's access log is replaced by ours."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import httpx

from infra.stack_lib.api import free_port
from tests.events.processes import clean_environment
from tests.support.servers import REPO

START_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 15


def wait_until_live(base_url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited during startup"
        try:
            if httpx.get(f"{base_url}/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"the server did not answer in {START_TIMEOUT_SECONDS}s")


def serve_and_log(requests: list[tuple[str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    port = free_port()
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [sys.executable, "-m", "auth_api", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        # No AUTH_* from the caller: embedded mode, cheap hashing.
        env=clean_environment(AUTH_ENV="development", AUTH_ARGON2_MEMORY_KIB="64"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_live(base_url, server)
        with httpx.Client(base_url=base_url, timeout=10) as client:
            for method, path, options in requests:
                client.request(method, path, **options)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=STOP_TIMEOUT_SECONDS)
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def test_the_served_process_logs_json_only() -> None:
    login = {"json": {"email": "nobody@example.com", "password": "not the password"}}
    lines = serve_and_log(
        [("POST", "/auth/login", {**login, "headers": {"X-Request-ID": "serve-test-1"}})]
    )
    loggers = {line["logger"] for line in lines}
    assert "uvicorn.error" in loggers  # startup and shutdown lines, as JSON
    assert "uvicorn.access" not in loggers
    access = [line for line in lines if line["logger"] == "auth_api.access"]
    assert [(a["route"], a["status"], a["request_id"]) for a in access] == [
        ("/auth/login", 401, "serve-test-1")
    ]
    failures = [line for line in lines if line.get("audit") == "login_failure"]
    assert len(failures) == 1
    assert failures[0]["request_id"] == "serve-test-1"
    assert all(line["env"] == "development" for line in lines)
