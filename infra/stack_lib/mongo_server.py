"""The MongoDB-wire server: mongo-java-server (Maven's jars) started by our own launcher,
infra/mongo/MongoWireServer.java, compiled once into .cache/mongo/classes."""

from __future__ import annotations

import hashlib
import shutil

from . import probes
from .maven import JarSet
from .proc import log, run_tool
from .spec import Server, Settings, missing_tool

LAUNCHER = "MongoWireServer"
# slf4j-simple: timestamps, and no line per client connection opened or closed.
LOGGING = [
    "-Dorg.slf4j.simpleLogger.showDateTime=true",
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ",
    "-Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoWireProtocolHandler=warn",
]


class Launcher:
    """The launcher's source and its compiled classes, stamped with what they came from."""

    def __init__(self, s: Settings, jars: JarSet) -> None:
        self.source = s.repo / "infra" / "mongo" / f"{LAUNCHER}.java"
        self.classes = s.cache / "mongo" / "classes"
        self._jars = jars

    def _digest(self) -> str:
        # Recompiled when the source or the jars it compiles against change.
        return hashlib.sha256(self.source.read_bytes() + self._jars.digest().encode()).hexdigest()

    def current(self) -> bool:
        stamp = self.classes / ".source.sha256"
        return stamp.is_file() and stamp.read_text().strip() == self._digest()

    def preflight(self) -> list[str]:
        return [] if self.current() else missing_tool("javac", "to compile the mongo launcher")

    def provision(self) -> None:
        if self.current():
            return
        log("mongo: compiling the launcher...")
        shutil.rmtree(self.classes, ignore_errors=True)
        run_tool([
            "javac", "--release", "17", "-cp", self._jars.classpath,
            "-d", str(self.classes), str(self.source),
        ])  # fmt: skip
        (self.classes / ".source.sha256").write_text(self._digest() + "\n")


def mongo(s: Settings) -> Server:
    workdir = s.state / "mongo"
    jars = JarSet.of(s, "mongo")
    launcher = Launcher(s, jars)

    def preflight() -> list[str]:
        java = missing_tool("java", "to run the mongo server")
        return [*java, *jars.preflight(), *launcher.preflight()]

    def provision() -> None:
        jars.provision()
        launcher.provision()  # after the jars: it compiles against them

    def command() -> list[str]:
        persistence: list[str] = []
        if s.mongo_backend == "h2":
            data = workdir / "data"
            data.mkdir(parents=True, exist_ok=True)
            persistence = [str(data / "mongo.h2")]
        return [
            "java", "-Xms64m", f"-Xmx{s.mongo_heap}",
            # Full heap: exit with the reason in the log rather than limp on half-broken.
            "-XX:+ExitOnOutOfMemoryError", *LOGGING,
            "-cp", f"{launcher.classes}:{jars.classpath}",
            LAUNCHER, str(s.mongo_port), *persistence,
        ]  # fmt: skip

    return Server(
        name="mongo",
        label=f"mongo-java-server, {s.mongo_backend}",
        ports=(("AUTH_STACK_MONGO_PORT", s.mongo_port),),
        marker=LAUNCHER,
        ready_timeout=30,
        workdir=workdir,
        preflight=preflight,
        provision=provision,
        command=command,
        probe=probes.mongo_ping,
    )
