"""What coordinators read off a solved plan: the plan workbook, KPIs and the Gantt figure."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import Coordinator, Reports
from api.routes.responses import errors
from api.schemas import FigureOut, KpisOut

router = APIRouter(prefix="/v1/plans", tags=["plans"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/{plan_id}/workbook",
    response_class=Response,
    responses=errors(401, 403, 404, 409)
    | {
        200: {
            "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
            "description": "the plan workbook",
        }
    },
)
def get_plan_workbook(_actor: Coordinator, reports: Reports, plan_id: str) -> Response:
    """The plan as a workbook: patients, suites, operators, qc, unscheduled, kpis."""
    return Response(
        reports.workbook(plan_id),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}.xlsx"'},
    )


@router.get("/{plan_id}/kpis", response_model=KpisOut, responses=errors(401, 403, 404, 409))
def get_plan_kpis(_actor: Coordinator, reports: Reports, plan_id: str) -> KpisOut:
    """The plan's KPIs: utilisation, loads, time to delivery, unscheduled by rule; and the same as a labelled table."""
    return reports.kpis(plan_id)


@router.get("/{plan_id}/gantt", response_model=FigureOut, responses=errors(401, 403, 404, 409))
def get_plan_gantt(_actor: Coordinator, reports: Reports, plan_id: str) -> FigureOut:
    """The plan's Gantt figure (suite positions, operator load, QC load) as plotly JSON."""
    return reports.gantt(plan_id)
