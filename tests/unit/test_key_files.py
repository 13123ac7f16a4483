"""Private signing keys are readable by their owner only from the moment they exist."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from auth_api.tokens.key_directory import KeyDirectory


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_generated_key_is_created_owner_only_not_chmod_ed_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_chmod(*args: object, **kwargs: object) -> None:
        raise AssertionError("the key was created with a wider mode and narrowed afterwards")

    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(Path, "chmod", no_chmod)
    previous = os.umask(0o022)  # the usual umask: files would be created world-readable
    try:
        directory = tmp_path / "keys"
        kid = KeyDirectory(directory).generate("ES256", activate=True)
    finally:
        os.umask(previous)
    assert mode(directory / f"{kid}.pem") == 0o600
    assert mode(directory) == 0o700


def test_an_existing_file_is_never_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file planted under the next key's name (readable by others, or a symlink) is
    not written through: generation fails instead."""
    monkeypatch.setattr("auth_api.tokens.keys.secrets.token_hex", lambda _n: "abcdef")
    directory = KeyDirectory(tmp_path)
    kid = directory.generate("ES256", activate=True)
    (tmp_path / f"{kid}.pem").unlink()
    planted = tmp_path / "elsewhere"
    planted.write_text("")
    (tmp_path / f"{kid}.pem").symlink_to(planted)
    with pytest.raises(FileExistsError):
        directory.generate("ES256", activate=False)
    assert planted.read_text() == ""
