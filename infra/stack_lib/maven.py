"""Jars from Maven: a POM under infra/<name>/ lists them, `mvn dependency:copy-dependencies`
copies them to .cache/<name>/libs. Nothing is built from the POM."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from .proc import log, run_tool
from .spec import Settings, missing_tool


@dataclass(frozen=True)
class JarSet:
    name: str
    pom: Path
    libs: Path
    local_repository: Path

    @classmethod
    def of(cls, s: Settings, name: str) -> JarSet:
        return cls(
            name, s.repo / "infra" / name / "pom.xml", s.cache / name / "libs", s.cache / "m2"
        )

    @property
    def classpath(self) -> str:
        return f"{self.libs}/*"

    def digest(self) -> str:
        return hashlib.sha256(self.pom.read_bytes()).hexdigest()

    def current(self) -> bool:
        # The stamp ties the jars to the POM, so a version bump resolves them again.
        stamp = self.libs / ".pom.sha256"
        return stamp.is_file() and stamp.read_text().strip() == self.digest()

    def preflight(self) -> list[str]:
        return [] if self.current() else missing_tool("mvn", f"to fetch the {self.name} jars")

    def provision(self) -> None:
        if self.current():
            return
        log(f"{self.name}: resolving jars from Maven (the first run takes a while)...")
        shutil.rmtree(self.libs, ignore_errors=True)
        run_tool([
            "mvn", "-B", "-q", "-Dstyle.color=never", f"-Dmaven.repo.local={self.local_repository}",
            "-f", str(self.pom), "dependency:copy-dependencies",
            "-DincludeScope=runtime", f"-DoutputDirectory={self.libs}",
        ])  # fmt: skip
        (self.libs / ".pom.sha256").write_text(self.digest() + "\n")
