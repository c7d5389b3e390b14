"""Health checks, open to everyone: the process is up, the database answers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Health
from api.schemas import ErrorOut, HealthOut

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> HealthOut:
    """The process is up."""
    return HealthOut(status="ok")


@router.get("/readyz", response_model=HealthOut, responses={503: {"model": ErrorOut}})
def readyz(health: Health) -> HealthOut | JSONResponse:
    """The database answers."""
    problem = health.database_problem()
    if problem is not None:
        return JSONResponse({"detail": f"database unavailable: {problem}"}, status_code=503)
    return HealthOut(status="ready")
