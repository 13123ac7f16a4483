"""Signing keys read again while the process runs, so that a rotation needs no restart:
every `interval` seconds when keys.json changed (a new file, mtime or size: the key CLI
replaces it atomically, and so does a Kubernetes Secret volume, by swapping a symlink),
and at once on SIGHUP.

The new set replaces the old one whole, by one assignment: a request signs or verifies
with one set or the other, never half of each. A directory that cannot be read (a
missing key file, bad JSON, an unknown active kid) leaves the keys in use as they are,
and is logged once until it changes again."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

from auth_api.tokens.keys import MANIFEST, KeySet, load_key_directory

log = logging.getLogger(__name__)
Signature = tuple[int, int, int] | None


def manifest_signature(directory: Path) -> Signature:
    """What changes whenever keys.json is rewritten; None when it cannot be seen."""
    try:
        found = os.stat(directory / MANIFEST)  # follows a Secret volume's symlinks
    except OSError:
        return None
    return (found.st_mtime_ns, found.st_ino, found.st_size)


Install = Callable[[KeySet], None]


class KeyReloader:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._loaded: Signature = None
        self._failed: Signature = None
        self._wake = asyncio.Event()

    def note_loaded(self) -> None:
        """The directory is being loaded by the startup: remember what keys.json is now,
        first, so that a change during that load is seen by the next check."""
        self._loaded = manifest_signature(self._directory)

    def load(self) -> KeySet:
        """The first load, at startup; unlike a reload, a failure here is raised."""
        self.note_loaded()
        return load_key_directory(self._directory)

    def request(self) -> None:
        """Read the directory at once, changed or not (SIGHUP)."""
        self._wake.set()

    def read_if_changed(self, force: bool = False) -> KeySet | None:
        """The directory's keys when keys.json changed since the last load (or `force`);
        None when it did not, or when it cannot be loaded (then logged once)."""
        seen = manifest_signature(self._directory)
        if seen == self._loaded and not force:
            return None
        try:
            keys = load_key_directory(self._directory)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if seen != self._failed:
                self._failed = seen
                log.error(
                    "signing keys in %s not reloaded, the keys in use stay: %s",
                    self._directory,
                    exc,
                )
            return None
        self._loaded, self._failed = seen, None
        return keys

    def reload(self, install: Install, force: bool = False) -> bool:
        """Read and install now, on this thread; True when a new set was installed."""
        keys = self.read_if_changed(force)
        if keys is not None:
            self._apply(install, keys)
        return keys is not None

    @staticmethod
    def _apply(install: Install, keys: KeySet) -> None:
        install(keys)
        published = len(keys.jwks()["keys"])
        log.info("signing keys reloaded: %d published, %s signs", published, keys.active.kid)

    async def watch(self, install: Install, interval: float) -> None:
        """Check every `interval` seconds (0: only when requested), until cancelled. The
        files are read off the event loop; the set is installed on it."""
        while True:
            forced = await self._woken(interval)
            keys = await asyncio.to_thread(self.read_if_changed, forced)
            if keys is not None:
                self._apply(install, keys)

    async def _woken(self, interval: float) -> bool:
        """True when woken by a request, False when the interval passed."""
        try:
            async with asyncio.timeout(interval or None):
                await self._wake.wait()
        except TimeoutError:
            return False
        self._wake.clear()
        return True
