"""The alert rules: one source (infra/prometheus/rules.yml) that the compose Prometheus
loads and the Kubernetes PrometheusRule repeats, naming only metrics that exist."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import generate_latest

from auth_api.app import create_app
from auth_api.settings import Settings
from consumers.metrics import ConsumerMetrics
from tests.conftest import running
from tests.ops.support import Scrape, scrape
from tests.support.api import login, register, unique_email

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "infra/prometheus/rules.yml"
OPERATOR_RULE = REPO / "deploy/kustomize/components/prometheus-operator/prometheusrule.yaml"
METRIC_NAME = re.compile(r"\bauth_[a-z_]+\b")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def rules() -> list[dict[str, Any]]:
    return [rule for group in load(RULES)["groups"] for rule in group["rules"]]


def test_the_prometheus_rule_resource_holds_the_same_groups() -> None:
    assert load(OPERATOR_RULE)["spec"] == load(RULES)


def test_the_compose_prometheus_loads_the_rules() -> None:
    assert load(REPO / "infra/prometheus/prometheus.yml")["rule_files"] == ["rules.yml"]
    prometheus = load(REPO / "docker-compose.yml")["services"]["prometheus"]
    assert "./infra/prometheus/rules.yml:/etc/prometheus/rules.yml:ro" in prometheus["volumes"]


def test_every_rule_is_named_once_and_says_how_bad_it_is() -> None:
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names))
    for rule in rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def consumer_scrape() -> Scrape:
    metrics = ConsumerMetrics()
    metrics.processed.labels("g", "t", "handled").inc()
    metrics.dead_lettered.labels("g", "t", "invalid").inc()
    metrics.retries.labels("g", "t").inc()
    metrics.lag.labels("g", "t", "0").set(1)
    return Scrape(generate_latest(metrics.registry).decode())


async def test_every_metric_an_alert_names_is_exposed(
    make_settings: Callable[..., Settings],
) -> None:
    async with running(create_app(make_settings())) as api:
        email = unique_email()
        await register(api, email)
        await login(api, email)
        api_scrape = await scrape(api)
    consumer = consumer_scrape()
    named = {name for rule in rules() for name in METRIC_NAME.findall(rule["expr"])}
    missing = {n for n in named if not (api_scrape.has(n) or consumer.has(n))}
    assert named
    assert not missing, f"alerts name metrics nothing exposes: {sorted(missing)}"
