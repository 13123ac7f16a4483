"""/metrics on a port of its own, served by this process: a second uvicorn server on
the same event loop, started and stopped by the app's lifespan. Scrapes then read the
same counters and the same outbox as the API, and the API's port need not answer
/metrics at all; the port is for the cluster network, not the public edge.

A second server in-process rather than prometheus_client's threaded server: the
delivery gauges read the outbox through the async store, which lives on this loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI

from auth_api.api.metrics import router as metrics_router
from auth_api.container import Container
from auth_api.http.problem import install_problem_handlers
from auth_api.http.security_headers import SecurityHeaders, security_headers

log = logging.getLogger(__name__)
STOP_TIMEOUT_SECONDS = 5


class _LifespanServer(uvicorn.Server):
    """Leaves signals alone: they belong to the API's server, whose shutdown runs the
    lifespan that stops this one."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def metrics_app(container: Container) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.state.container = container
    app.state.security_headers = security_headers(container.settings)
    install_problem_handlers(app)
    app.add_middleware(SecurityHeaders, headers=app.state.security_headers)
    app.include_router(metrics_router)
    return app


def bind(host: str, port: int) -> socket.socket:
    """Bound here, not by uvicorn: a busy port fails the app's startup with an error
    (uvicorn would exit the process), and port 0 yields the port actually chosen."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


@contextlib.asynccontextmanager
async def serving_metrics(container: Container, app: FastAPI) -> AsyncIterator[None]:
    """Serves /metrics on AUTH_METRICS_HOST:AUTH_METRICS_PORT while the context is open;
    records the bound (host, port) in `app.state.metrics_address`."""
    settings = container.settings
    if settings.metrics_port is None:
        yield
        return
    sock = bind(settings.metrics_host, settings.metrics_port)
    config = uvicorn.Config(
        metrics_app(container),
        lifespan="off",
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=1,
    )
    server = _LifespanServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="metrics-server")
    address = sock.getsockname()[:2]
    app.state.metrics_address = address
    log.info("metrics served on %s:%s", *address)
    try:
        yield
    finally:
        server.should_exit = True
        try:
            async with asyncio.timeout(STOP_TIMEOUT_SECONDS):
                await task
        finally:
            sock.close()
