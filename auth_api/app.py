"""The application factory. `create_app(settings)` wires routes, errors and middleware;
the lifespan builds and closes every client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from auth_api.api.accounts import router as accounts_router
from auth_api.api.admin import router as admin_router
from auth_api.api.health import router as health_router
from auth_api.api.lifecycle import router as lifecycle_router
from auth_api.api.metrics import router as metrics_router
from auth_api.api.metrics_server import serving_metrics
from auth_api.api.sessions import router as sessions_router
from auth_api.api.tokens import router as tokens_router
from auth_api.container import build_container
from auth_api.http.client_ip import parse_networks
from auth_api.http.cors import ListedOriginsCors
from auth_api.http.middleware import BodySizeLimit
from auth_api.http.problem import install_problem_handlers
from auth_api.http.security_headers import SecurityHeaders, security_headers
from auth_api.observability import install_observability
from auth_api.settings import Settings
from auth_api.web import install_web_page


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container = await build_container(settings)
        app.state.container = container
        try:
            await container.start()
            async with serving_metrics(container, app):
                yield
        finally:
            await container.close()

    app = FastAPI(
        title="quizauth",
        summary="Users, sessions and auth events for quiz services.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.trusted_proxies = parse_networks(settings.trusted_proxies)
    app.state.security_headers = security_headers(settings)
    install_problem_handlers(app)
    # Each middleware added wraps those added before it.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(ListedOriginsCors, origins=settings.cors_origins)
    app.add_middleware(SecurityHeaders, headers=app.state.security_headers)
    app.include_router(accounts_router)
    app.include_router(sessions_router)
    app.include_router(lifecycle_router)
    app.include_router(tokens_router)
    app.include_router(admin_router)
    app.include_router(health_router)
    if settings.metrics_port is None:  # otherwise only the metrics port answers it
        app.include_router(metrics_router)
    install_observability(app)  # after the other middleware: it wraps them
    # Keep last: the page is mounted at `/` and would shadow any route added after it.
    install_web_page(app)
    return app
