"""The key directory behind AUTH_JWT_KEYS_DIR: PEM files plus keys.json naming the
active key. Rotation: generate a key (published in the JWKS, not yet signing), wait
for verifiers' JWKS caches to refresh, activate it, and retire the old key once the
last token it signed has expired."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from auth_api.tokens.keys import (
    ASYMMETRIC_ALGORITHMS,
    MANIFEST,
    generate_private_key,
    new_kid,
    private_key_pem,
)


def write_private(path: Path, content: bytes) -> None:
    """A new file readable by this user only from the moment it exists. Written and then
    chmod-ed, it would sit with the umask's mode (often world-readable) in between, and
    a reader opening it then keeps its descriptor. O_EXCL: never reuse an existing file,
    whatever its mode or owner (or a symlink planted in its place)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)


class KeyDirectory:
    def __init__(self, path: Path) -> None:
        self.path = path

    def manifest(self) -> dict[str, Any]:
        file = self.path / MANIFEST
        if not file.exists():
            return {"active": None, "keys": []}
        manifest: dict[str, Any] = json.loads(file.read_text())
        return manifest

    def generate(self, algorithm: str, activate: bool) -> str:
        if algorithm not in ASYMMETRIC_ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ASYMMETRIC_ALGORITHMS}")
        manifest = self.manifest()
        kid = new_kid(algorithm, datetime.now(UTC))
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        key_file = self.path / f"{kid}.pem"
        write_private(key_file, private_key_pem(generate_private_key(algorithm)))
        created = datetime.now(UTC).isoformat(timespec="seconds")
        manifest["keys"].append(
            {"kid": kid, "alg": algorithm, "file": key_file.name, "created_at": created}
        )
        if activate or manifest["active"] is None:
            manifest["active"] = kid
        self._save(manifest)
        return kid

    def activate(self, kid: str) -> None:
        manifest = self.manifest()
        self._require(manifest, kid)
        manifest["active"] = kid
        self._save(manifest)

    def retire(self, kid: str) -> None:
        manifest = self.manifest()
        entry = self._require(manifest, kid)
        if manifest["active"] == kid:
            raise ValueError("cannot retire the active key; activate another one first")
        manifest["keys"].remove(entry)
        self._save(manifest)
        (self.path / entry["file"]).unlink(missing_ok=True)

    def describe(self) -> list[str]:
        manifest = self.manifest()
        return [
            f"{k['kid']}  {k['alg']}  created {k['created_at']}"
            + ("  (active: signs)" if k["kid"] == manifest["active"] else "  (verifies only)")
            for k in manifest["keys"]
        ]

    @staticmethod
    def _require(manifest: dict[str, Any], kid: str) -> dict[str, Any]:
        for entry in manifest["keys"]:
            if entry["kid"] == kid:
                found: dict[str, Any] = entry
                return found
        raise ValueError(f"no key {kid!r} in the directory")

    def _save(self, manifest: dict[str, Any]) -> None:
        temporary = self.path / f".{MANIFEST}.tmp"
        temporary.write_text(json.dumps(manifest, indent=2) + "\n")
        temporary.replace(self.path / MANIFEST)  # atomic: a reader never sees half a file
