"""Where /metrics is served and who may read it: AUTH_METRICS_PORT moves it to a port of
its own in the same process, AUTH_METRICS_TOKEN puts it behind a bearer token."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from auth_api.app import create_app
from auth_api.settings import Settings
from tests.conftest import running
from tests.support.api import assert_problem, bearer, register

SettingsFactory = Callable[..., Settings]
TOKEN = "metrics-token-0123456789abcdef"


def metrics_url(app: FastAPI) -> str:
    host, port = app.state.metrics_address
    return f"http://{host}:{port}/metrics"


async def test_a_metrics_port_serves_them_and_the_api_port_does_not(
    api_settings: SettingsFactory,
) -> None:
    app = create_app(api_settings(metrics_port=0))
    async with running(app) as api, httpx.AsyncClient(timeout=10) as scraper:
        assert (await register(api)).status_code == 201
        assert_problem(await api.get("/metrics"), 404, "NOT_FOUND")
        scraped = await scraper.get(metrics_url(app))
        elsewhere = await scraper.get(metrics_url(app).replace("/metrics", "/auth/me"))
    assert scraped.status_code == 200
    assert scraped.headers["x-content-type-options"] == "nosniff"
    assert 'auth_http_requests_total{method="POST",route="/auth/register",status="201"}' in (
        scraped.text
    )
    assert "auth_outbox_readable 1.0" in scraped.text  # the app's own store, read at scrape
    assert elsewhere.status_code == 404  # the metrics port serves nothing else


async def test_the_metrics_port_stops_with_the_app(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings(metrics_port=0))
    async with running(app):
        host, port = app.state.metrics_address
    with pytest.raises(ConnectionRefusedError), socket.create_connection((host, port), timeout=2):
        pass


async def test_a_busy_metrics_port_stops_the_start(make_settings: SettingsFactory) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        app = create_app(make_settings(metrics_port=taken.getsockname()[1]))
        with pytest.raises(OSError, match="in use"):
            async with running(app):
                pass


async def test_a_metrics_token_is_required_when_set(make_settings: SettingsFactory) -> None:
    async with running(create_app(make_settings(metrics_token=TOKEN))) as api:
        missing = await api.get("/metrics")
        wrong = await api.get("/metrics", headers=bearer(TOKEN + "x"))
        basic = await api.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
        right = await api.get("/metrics", headers=bearer(TOKEN))
    for refused in (missing, wrong, basic):
        assert_problem(refused, 401, "NOT_AUTHENTICATED")
        assert refused.headers["www-authenticate"] == "Bearer"
    assert right.status_code == 200
    assert "auth_http_requests_total" in right.text


async def test_the_token_guards_the_metrics_port_too(make_settings: SettingsFactory) -> None:
    app = create_app(make_settings(metrics_port=0, metrics_token=TOKEN))
    async with running(app), httpx.AsyncClient(timeout=10) as scraper:
        assert (await scraper.get(metrics_url(app))).status_code == 401
        assert (await scraper.get(metrics_url(app), headers=bearer(TOKEN))).status_code == 200
