"""The service imports the client library's near cache, and must not pull in through
it what the service does not install (httpx) or must not import (the web framework)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.servers import REPO


@pytest.mark.parametrize("module", ["quizauth_client.near_cache", "auth_api.security.redis_stores"])
def test_the_near_cache_imports_no_web_framework_and_no_http_client(module: str) -> None:
    probe = (
        f"import sys, {module}; "
        "print(sorted(m for m in ('fastapi', 'starlette', 'httpx') if m in sys.modules))"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed probe
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_client_librarys_names_still_import_from_the_package() -> None:
    import quizauth_client  # noqa: PLC0415

    for name in quizauth_client.__all__:
        assert getattr(quizauth_client, name) is not None
    with pytest.raises(AttributeError):
        _ = quizauth_client.NoSuchName  # type: ignore[attr-defined]
