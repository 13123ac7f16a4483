"""Metrics, request ids and JSON logs. `install_observability(app)` is the one
call the app factory makes; `logging_config(settings)` is the entry point's."""

from __future__ import annotations

from fastapi import FastAPI

from auth_api.observability.audit_metrics import install_audit_metrics
from auth_api.observability.http_metrics import HttpMetricsMiddleware
from auth_api.observability.logs import json_log_handler, logging_config
from auth_api.observability.request_id import RequestIdMiddleware

__all__ = ["install_observability", "json_log_handler", "logging_config"]


def install_observability(app: FastAPI) -> None:
    """Add the request id and metrics middleware. Call it after the other middleware,
    so these two wrap them and see every response, 413s included."""
    install_audit_metrics()
    app.add_middleware(HttpMetricsMiddleware)
    # Added last, so outermost: the access line written by the metrics layer has the id.
    app.add_middleware(RequestIdMiddleware)
