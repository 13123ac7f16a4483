"""What the compose stack, the Dockerfile and .env.example promise, read as files: no
Docker engine is needed (.ci/static-checks validates the compose file with compose)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic_settings import BaseSettings

from auth_api.model.events import EventType
from auth_api.settings import Settings
from consumers.settings import ConsumerSettings
from tests.support.servers import REPO

DOCUMENTED = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
INTERPOLATED = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def service(name: str) -> dict[str, Any]:
    found: dict[str, Any] = compose()["services"][name]
    return found


def env_names(settings: type[BaseSettings]) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    return {f"{prefix}{name}".upper() for name in settings.model_fields}


def documented() -> set[str]:
    return set(DOCUMENTED.findall((REPO / ".env.example").read_text()))


@pytest.mark.parametrize("settings", [Settings, ConsumerSettings])
def test_env_example_documents_every_setting(settings: type[BaseSettings]) -> None:
    assert env_names(settings) - documented() == set()


def test_env_example_documents_every_variable_compose_reads() -> None:
    used = set(INTERPOLATED.findall((REPO / "docker-compose.yml").read_text()))
    assert used - documented() == set()


def test_env_example_holds_no_secret_values() -> None:
    for line in (REPO / ".env.example").read_text().splitlines():
        name, _, value = line.partition("=")
        if name.endswith(("PASSWORD", "SECRET")):
            assert value == "", f"{name} must be empty in .env.example"


def test_redis_keeps_revocations_across_restarts() -> None:
    redis = service("redis")
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "--appendfsync everysec" in command
    assert "--maxmemory-policy noeviction" in command
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_services_wait_for_healthy_dependencies() -> None:
    for name, definition in compose()["services"].items():
        depends = definition.get("depends_on", {})
        if name == "prometheus":
            continue  # scrapes whatever is up; a missing target is a metric, not an error
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for dependency, rule in depends.items():
            expected = (
                "service_completed_successfully"
                if dependency == "kafka-init"
                else "service_healthy"
            )
            assert rule["condition"] == expected, f"{name} -> {dependency}"
            assert "healthcheck" in service(dependency) or dependency == "kafka-init"


def test_kafka_init_creates_every_event_topic_and_its_dlq() -> None:
    init = service("kafka-init")
    assert set(init["environment"]["TOPICS"].split()) == {t.value for t in EventType}
    script = init["command"][0]
    assert '"$$TOPIC_PREFIX$$topic.dlq"' in script
    assert "--if-not-exists" in script


def test_kafka_init_creates_the_topics_in_the_shape_the_services_would() -> None:
    """From the same settings as the API's and the consumer's, with the same defaults."""
    init = service("kafka-init")
    shape = {
        "PARTITIONS": "kafka_topic_partitions",
        "REPLICATION_FACTOR": "kafka_replication_factor",
        "MIN_INSYNC_REPLICAS": "kafka_min_insync_replicas",
    }
    for variable, field in shape.items():
        default = Settings.model_fields[field].default
        assert init["environment"][variable] == f"${{AUTH_{field.upper()}:-{default}}}"
    script = init["command"][0]
    assert '--partitions "$$PARTITIONS"' in script
    assert '--replication-factor "$$REPLICATION_FACTOR"' in script
    assert '--config "min.insync.replicas=$$MIN_INSYNC_REPLICAS"' in script


def test_prometheus_scrapes_the_api_and_the_consumer() -> None:
    config = yaml.safe_load((REPO / "infra/prometheus/prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    # Every auth-api container, however many were started, from Docker's DNS.
    assert jobs["auth-api"]["dns_sd_configs"] == [
        {"names": ["auth-api"], "type": "A", "port": 9100, "refresh_interval": "15s"}
    ]
    assert jobs["quiz-profiles"]["static_configs"] == [{"targets": ["quiz-profiles:9102"]}]
    api = service("auth-api")["environment"]
    assert api["AUTH_METRICS_PORT"] == "9100"  # the port scraped, served by the API itself
    consumer = service("quiz-profiles")["command"]
    assert consumer[consumer.index("--metrics-port") + 1] == "9102"
    assert service("prometheus")["profiles"] == ["ops"]


def test_ops_profile_has_the_uis_and_prometheus() -> None:
    in_ops = {n for n, d in compose()["services"].items() if "ops" in d.get("profiles", [])}
    assert in_ops == {"kafka-ui", "redis-ui", "prometheus"}


def test_published_ports_are_loopback_only() -> None:
    for name, definition in compose()["services"].items():
        for port in definition.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"


def test_dockerfile_runs_as_non_root_with_a_liveness_healthcheck() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert users, "no USER: the container would run as root"
    assert users[-1].split(":")[0] not in {"0", "root"}
    assert re.search(r"^HEALTHCHECK .*\n.*/health/live", dockerfile, re.MULTILINE)
    assert "uv sync --frozen --no-dev" in dockerfile
    assert re.search(r"^EXPOSE 8000$", dockerfile, re.MULTILINE)
    assert len(re.findall(r"^FROM ", dockerfile, re.MULTILINE)) >= 2


def dockerfile_stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), one list per stage."""
    text = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    stages: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("FROM "):
            stages.append([])
        if stages and line and not line.startswith("#"):
            stages[-1].append(line)
    return stages


def test_dockerfile_pulls_no_image_but_its_base() -> None:
    """Builds need no registry when the base is given (make image bootstraps one)."""
    for stage in dockerfile_stages():
        assert stage[0].split()[1] == "${PYTHON_IMAGE}", stage[0]
    assert "--from=ghcr.io" not in (REPO / "Dockerfile").read_text()


def test_dockerfile_copies_the_sources_after_the_dependencies() -> None:
    """A source change rebuilds the sources' layer, never the virtualenv's."""
    runtime = dockerfile_stages()[-1]
    assert runtime[-1] == "COPY --from=builder /app ./"
    assert "COPY --from=builder /opt/venv /opt/venv" in runtime
    installs = [i for i in runtime if i.startswith("RUN") and re.search(r"\b(uv|pip)\b", i)]
    assert installs == [], "the runtime stage installs packages: build tools would stay"


def test_the_healthcheck_asks_the_port_the_api_listens_on() -> None:
    """AUTH_PORT moves both: a host-networked container checks its own API."""
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r"^ENV .*AUTH_PORT=8000", dockerfile.replace("\\\n", " "), re.MULTILINE)
    assert 'os.environ[\\"AUTH_PORT\\"]' in dockerfile
    assert 'CMD ["python", "-m", "auth_api", "serve"]' in dockerfile


def test_api_scales_behind_the_proxy() -> None:
    # `--scale auth-api=N` needs auth-api to publish no fixed host port; the proxy does.
    api, proxy = service("auth-api"), service("proxy")
    assert "ports" not in api
    assert proxy["ports"] == ["127.0.0.1:${API_PORT:-8000}:8000"]
    caddyfile = (REPO / "deploy/compose/Caddyfile").read_text()
    assert "dynamic a auth-api 8000" in caddyfile
    assert "respond /metrics 404" in caddyfile


def test_api_trusts_forwarded_for_from_the_proxy_network_only() -> None:
    api, proxy = service("auth-api"), service("proxy")
    edge_subnet = compose()["networks"]["edge"]["ipam"]["config"][0]["subnet"]
    assert api["environment"]["AUTH_TRUSTED_PROXIES"] == edge_subnet
    assert proxy["networks"] == ["edge"]
    on_edge = {n for n, d in compose()["services"].items() if "edge" in d.get("networks", [])}
    assert on_edge == {"auth-api", "proxy"}


def test_the_build_context_keeps_everything_the_dockerfile_copies() -> None:
    """.dockerignore admits only what it lists: a package left off it fails the build."""
    admitted = {
        line.removeprefix("!").rstrip("/")
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copied = set()
    for stage in dockerfile_stages():
        for instruction in stage:
            words = instruction.split()
            if words[0] == "COPY" and not any(w.startswith("--from") for w in words):
                copied |= {w.rstrip("/") for w in words[1:-1] if not w.startswith("--")}
    assert copied, "no COPY found: the parser no longer reads the Dockerfile"
    assert copied <= admitted, copied - admitted


def assignments(text: str) -> dict[str, str]:
    """The variables a file in .env syntax sets: uncommented `NAME=value` lines."""
    found = (line.partition("=") for line in text.splitlines() if not line.startswith("#"))
    return {name.strip(): value for name, sep, value in found if sep}


def test_compose_signs_with_the_generated_asymmetric_key() -> None:
    env = assignments((REPO / ".env.example").read_text())
    compose_env = service("auth-api")["environment"]
    for name in ("AUTH_JWT_SECRET", "AUTH_JWT_ALGORITHM", "AUTH_JWT_KEYS_DIR"):
        assert name not in env, f".env.example sets {name}"
        assert name not in compose_env, f"docker-compose.yml sets {name}"
    # What the API then reads (the key variables explicitly unset): it starts, in
    # production, without a secret, and signs with ES256.
    settings = Settings(
        env=env["AUTH_ENV"],
        mongo_url="mongodb://mongo:27017",
        redis_url="redis://redis:6379/0",
        jwt_secret=None,
        jwt_algorithm=None,
        jwt_keys_dir=None,
    )
    assert settings.signing_algorithm == "ES256"


def first_party_imports(package: Path) -> set[str]:
    """The repository's own top-level packages that `package`'s modules import."""
    own = {d.name for d in REPO.iterdir() if (d / "__init__.py").exists()}
    found: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return found & own


def test_the_image_holds_every_package_the_service_and_consumers_import() -> None:
    """The service imports the client library's near cache: without its sources in the
    image, the image would not start."""
    copied = {
        line.split()[1]
        for line in dockerfile_stages()[0]
        if line.startswith("COPY ") and not line.split()[1].startswith("--")
    }
    needed = first_party_imports(REPO / "auth_api") | first_party_imports(REPO / "consumers")
    assert "quizauth_client" in needed
    assert needed <= copied, needed - copied
