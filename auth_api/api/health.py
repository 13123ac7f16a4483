"""Liveness (the process answers) and readiness (this process can serve: health/service.py
says what counts)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from auth_api.api.deps import ContainerDep
from auth_api.api.token_schemas import ReadinessResponse
from auth_api.health.service import check_readiness
from auth_api.http.problem import TOO_LARGE

router = APIRouter(prefix="/health", tags=["health"], responses=TOO_LARGE)


@router.get("/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=ReadinessResponse,
    responses={503: {"description": "Not ready", "model": ReadinessResponse}},
)
async def ready(container: ContainerDep) -> JSONResponse:
    backends = container.backends
    readiness = await check_readiness(
        container.started,
        backends.users,
        backends.revocations,
        container.backlog,
        container.settings.outbox_max_age_seconds,
        topics=container.topics_status,
    )
    return JSONResponse(readiness.as_dict(), status_code=200 if readiness.ready else 503)
