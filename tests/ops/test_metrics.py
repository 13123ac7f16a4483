"""GET /metrics after real traffic, against the embedded backends and the real servers.
Counters are process-wide, so each test compares a scrape before and after its requests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import httpx

from auth_api.app import create_app
from auth_api.settings import Settings
from infra.stack_lib.api import free_port
from tests.conftest import running
from tests.ops.support import Scrape, scrape
from tests.support.api import PASSWORD, bearer, login, register, unique_email
from tests.support.polling import eventually

DELIVERY_WAIT_SECONDS = 20


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


def requests_of(route: str, status: str, method: str = "POST") -> dict[str, str]:
    return {"method": method, "route": route, "status": status}


async def test_register_login_logout_move_the_counters(
    api_settings: Callable[..., Settings],
) -> None:
    async with running(create_app(api_settings())) as api:
        before = await scrape(api)
        email = unique_email()
        assert (await register(api, email)).status_code == 201
        assert (await login(api, email, PASSWORD + "wrong")).status_code == 401
        token = (await login(api, email)).json()["access_token"]
        assert (await api.post("/auth/logout", headers=bearer(token))).status_code == 204
        after = await scrape(api)

    total = "auth_http_requests_total"
    assert moved(before, after, total, **requests_of("/auth/register", "201")) == 1
    assert moved(before, after, total, **requests_of("/auth/login", "200")) == 1
    assert moved(before, after, total, **requests_of("/auth/login", "401")) == 1
    assert moved(before, after, total, **requests_of("/auth/logout", "204")) == 1
    latency = "auth_http_request_duration_seconds_count"
    assert moved(before, after, latency, **requests_of("/auth/login", "200")) == 1
    assert moved(before, after, "auth_registrations_total") == 1
    assert moved(before, after, "auth_logins_total", outcome="success") == 1
    assert moved(before, after, "auth_logins_total", outcome="failure") == 1
    assert moved(before, after, "auth_logouts_total") == 1
    assert moved(before, after, "auth_audit_events_total", kind="logout") == 1


async def test_rate_limit_rejections_are_counted_by_action(
    make_settings: Callable[..., Settings],
) -> None:
    async with running(create_app(make_settings(login_account_ip_limit=1))) as api:
        before = await scrape(api)
        email = unique_email()
        await register(api, email)
        await login(api, email, PASSWORD + "wrong")
        assert (await login(api, email)).status_code == 429
        after = await scrape(api)
    assert moved(before, after, "auth_rate_limited_total", action="login") == 1
    assert moved(before, after, "auth_rate_limited_total", action="register") == 0


async def test_outbox_gauges_show_the_undelivered_backlog(
    make_settings: Callable[..., Settings],
) -> None:
    # No relay in this process: recorded events wait in the outbox.
    async with running(create_app(make_settings(outbox_relay=False))) as api:
        empty = await scrape(api)
        await register(api)
        await register(api)
        waiting = await scrape(api)
    assert empty.value("auth_outbox_readable") == 1
    assert empty.value("auth_outbox_backlog_events") == 0
    assert empty.value("auth_outbox_oldest_event_age_seconds") == 0
    assert waiting.value("auth_outbox_backlog_events") == 2
    assert waiting.value("auth_outbox_oldest_event_age_seconds") > 0
    assert waiting.has("auth_events_published_total")
    assert waiting.has("auth_events_publish_failures_total")


async def test_events_published_to_kafka_are_counted(
    real_settings: Callable[..., Settings],
) -> None:
    async with running(create_app(real_settings())) as api:
        assert (await register(api)).status_code == 201
        after = await published_until_empty(api)
    assert after.value("auth_events_published_total") >= 1
    assert after.value("auth_outbox_backlog_events") == 0


async def published_until_empty(api: httpx.AsyncClient) -> Scrape:
    """Scrapes until the relay has delivered the backlog (bounded wait)."""
    deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
    while True:
        current = await scrape(api)
        delivered = current.value("auth_outbox_backlog_events") == 0
        if delivered and current.value("auth_events_published_total") >= 1:
            return current
        assert time.monotonic() < deadline, f"nothing delivered:\n{current.text}"
        await asyncio.sleep(0.2)


async def test_labels_never_carry_raw_paths_or_methods(
    make_settings: Callable[..., Settings],
) -> None:
    probe = uuid.uuid4().hex
    async with running(create_app(make_settings())) as api:
        await api.get(f"/auth/{probe}")
        await api.get(f"/{probe}/x")
        await api.request("PROBE", f"/auth/{probe}")
        after = await scrape(api)
    assert probe not in after.text
    assert 'method="PROBE"' not in after.text
    assert 'method="OTHER"' in after.text


async def test_bodies_refused_before_routing_are_counted(
    make_settings: Callable[..., Settings],
) -> None:
    async with running(create_app(make_settings(max_body_bytes=1024))) as api:
        before = await scrape(api)
        response = await api.post("/auth/register", content=b"x" * 4096)
        after = await scrape(api)
    assert response.status_code == 413
    labels = requests_of("<not-routed>", "413")
    assert moved(before, after, "auth_http_requests_total", **labels) == 1


async def test_metrics_needs_no_token_and_stays_out_of_the_schema(
    make_settings: Callable[..., Settings],
) -> None:
    async with running(create_app(make_settings())) as api:
        metrics = await api.get("/metrics")
        schema = (await api.get("/openapi.json")).json()
    assert metrics.status_code == 200
    assert "# TYPE auth_http_requests_total counter" in metrics.text
    assert "/metrics" not in schema["paths"]


async def test_each_process_shows_the_servers_it_reaches_and_whether_its_relay_waits(
    real_settings: Callable[..., Settings],
) -> None:
    unreachable = f"127.0.0.1:{free_port()}"
    settings = real_settings(kafka_bootstrap=unreachable, io_timeout_seconds=0.5)
    async with running(create_app(settings)) as api:
        first = await scrape(api)
        await register(api)

        async def paused() -> bool:
            return (await scrape(api)).value("auth_outbox_relay_paused") == 1

        await eventually(paused, 10, "the relay to report that it waits for Kafka")
    assert first.value("auth_dependency_reachable", dependency="mongodb") == 1
    assert first.value("auth_dependency_reachable", dependency="redis") == 1
