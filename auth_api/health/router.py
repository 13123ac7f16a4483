"""Liveness (the process answers) and readiness (its servers answer)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from auth_api.errors import DependencyUnavailable
from auth_api.http.deps import ContainerDep

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", responses={503: {"description": "A server is unreachable"}})
async def ready(container: ContainerDep) -> JSONResponse:
    checks = {
        "mongodb": container.backends.users.ping,
        "redis": container.backends.revocations.ping,
    }
    results: dict[str, str] = {}
    for name, ping in checks.items():
        try:
            await ping()
            results[name] = "ok"
        except DependencyUnavailable:
            results[name] = "unavailable"
    ok = all(value == "ok" for value in results.values())
    body = {"status": "ready" if ok else "not ready", "checks": results}
    return JSONResponse(body, status_code=200 if ok else 503)
