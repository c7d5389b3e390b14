"""Documents checked without being stored: an uploaded planning workbook, a (hand-edited) plan."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, UploadFile

from api.deps import Coordinator, SettingsDep
from api.routes.responses import errors
from api.schemas import AnalysisOut, WorkbookOut
from api.services import documents
from api.settings import Settings
from models.workbook.safety import DEFAULT_LIMITS, WorkbookLimits

router = APIRouter(prefix="/v1", tags=["plans"])


@router.post("/analyze", response_model=AnalysisOut, responses=errors(401, 403, 422))
def analyze(
    _actor: Coordinator,
    instance: Annotated[dict[str, Any], Body(description="a cart-schedule-instance/1 document")],
    schedule: Annotated[
        dict[str, Any], Body(description="a cart-schedule/1 document, e.g. edited by hand")
    ],
) -> AnalysisOut:
    """Every rule a (hand-edited) plan breaks, with patients, resources and dates, and its objective."""
    return documents.analyze(instance, schedule)


@router.post(
    "/workbooks",
    response_model=WorkbookOut,
    # The instance as the workbook gave it: optional fields only where they were filled in.
    response_model_exclude_unset=True,
    responses=errors(401, 403, 422),
)
def check_workbook(
    _actor: Coordinator,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="an XLSX planning workbook")],
) -> WorkbookOut:
    """Read a planning workbook (`cart-schedule template`) as an instance; every problem by sheet, row and column."""
    # One byte over the limit is enough to know the upload is too large. A plain `def`: FastAPI
    # runs it in a worker thread, so the wait for the sandboxed reader never blocks the loop.
    data = file.file.read(settings.max_workbook_bytes + 1)
    return documents.check_workbook(
        data,
        settings.max_workbook_bytes,
        _workbook_limits(settings),
        memory_bytes=settings.workbook_memory_bytes,
        seconds=settings.workbook_seconds,
    )


def _workbook_limits(settings: Settings) -> WorkbookLimits:
    """The limits on one uploaded workbook, from the settings."""
    return WorkbookLimits(
        **{name: getattr(settings, f"workbook_{name}") for name in asdict(DEFAULT_LIMITS)}
    )
