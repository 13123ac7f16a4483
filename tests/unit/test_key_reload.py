"""Signing keys reloaded from the key directory while the process runs: a new key
verifies, an activated one signs, and a broken directory leaves the keys in use."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from auth_api.tokens.key_directory import KeyDirectory
from auth_api.tokens.key_reload import KeyReloader
from auth_api.tokens.keys import MANIFEST, KeySet


class Installed:
    def __init__(self) -> None:
        self.sets: list[KeySet] = []

    def __call__(self, keys: KeySet) -> None:
        self.sets.append(keys)


def kids(keys: KeySet) -> set[str]:
    return {jwk["kid"] for jwk in keys.jwks()["keys"]}


def test_nothing_is_reloaded_while_keys_json_is_unchanged(tmp_path: Path) -> None:
    KeyDirectory(tmp_path).generate("ES256", activate=True)
    reloader, installed = KeyReloader(tmp_path), Installed()
    reloader.load()
    assert reloader.reload(installed) is False
    assert installed.sets == []
    assert reloader.reload(installed, force=True) is True  # SIGHUP reads it regardless


def test_a_new_key_verifies_then_signs_once_activated(tmp_path: Path) -> None:
    directory = KeyDirectory(tmp_path)
    first = directory.generate("ES256", activate=True)
    reloader, installed = KeyReloader(tmp_path), Installed()
    assert reloader.load().active.kid == first
    second = directory.generate("EdDSA", activate=False)
    assert reloader.reload(installed) is True
    assert kids(installed.sets[-1]) == {first, second}
    assert installed.sets[-1].active.kid == first
    directory.activate(second)
    assert reloader.reload(installed) is True
    assert installed.sets[-1].active.kid == second
    assert installed.sets[-1].for_kid(first) is not None  # its tokens still verify


@pytest.mark.parametrize(
    "breakage",
    ["not json", json.dumps({"active": "nope", "keys": []}), json.dumps({"keys": "x"})],
)
def test_a_broken_directory_keeps_the_keys_and_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, breakage: str
) -> None:
    KeyDirectory(tmp_path).generate("ES256", activate=True)
    reloader, installed = KeyReloader(tmp_path), Installed()
    reloader.load()
    (tmp_path / MANIFEST).write_text(breakage)
    with caplog.at_level(logging.ERROR, logger="auth_api.tokens.key_reload"):
        assert reloader.reload(installed) is False
        assert reloader.reload(installed, force=True) is False
    assert installed.sets == []
    assert len([r for r in caplog.records if "not reloaded" in r.getMessage()]) == 1


def test_a_missing_key_file_keeps_the_keys_until_it_is_fixed(tmp_path: Path) -> None:
    directory = KeyDirectory(tmp_path)
    directory.generate("ES256", activate=True)
    reloader, installed = KeyReloader(tmp_path), Installed()
    reloader.load()
    second = directory.generate("ES256", activate=True)
    pem = tmp_path / f"{second}.pem"
    content = pem.read_bytes()
    pem.unlink()
    assert reloader.reload(installed) is False
    pem.write_bytes(content)  # the file arrives after keys.json: retried, not forgotten
    assert reloader.reload(installed) is True
    assert installed.sets[-1].active.kid == second
