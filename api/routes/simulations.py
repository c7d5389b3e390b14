"""Coordinators' disruption simulations of a plan: start one, watch it, read its report, cancel it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from api.deps import Coordinator, Simulations
from api.routes.responses import errors
from api.schemas import SimulationIn, SimulationOut

router = APIRouter(prefix="/v1", tags=["simulations"])

PlanId = Annotated[str, Path(max_length=64, description="the plan's id")]
SimulationId = Annotated[str, Path(max_length=64, description="the simulation's id")]
# The report page embeds plotly.js and its figures inline; it may run them, fetch nothing.
REPORT_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.post(
    "/plans/{plan_id}/simulations",
    status_code=202,
    response_model=SimulationOut,
    responses=errors(401, 403, 404, 409, 422),
)
def submit_simulation(
    actor: Coordinator,
    simulations: Simulations,
    plan_id: PlanId,
    request: SimulationIn,
) -> SimulationOut:
    """Simulate disruptions on a solved plan (queued behind plans and re-plans); 202 at once."""
    return simulations.submit(actor, plan_id, request)


@router.get(
    "/plans/{plan_id}/simulations",
    response_model=list[SimulationOut],
    responses=errors(401, 403, 404, 422),
)
def list_simulations(
    _actor: Coordinator,
    simulations: Simulations,
    plan_id: PlanId,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[SimulationOut]:
    """The plan's simulations, newest first, without their reports."""
    return simulations.of_plan(plan_id, limit)


@router.get(
    "/simulations/{simulation_id}",
    response_model=SimulationOut,
    responses=errors(401, 403, 404, 422),
)
def get_simulation(
    _actor: Coordinator, simulations: Simulations, simulation_id: SimulationId
) -> SimulationOut:
    """Status and runs done; the `cart-schedule-simulation/1` report once done."""
    return simulations.status(simulation_id)


@router.get(
    "/simulations/{simulation_id}/report.html",
    response_class=Response,
    responses=errors(401, 403, 404, 409, 422)
    | {
        200: {
            "content": {"text/html": {"schema": {"type": "string", "format": "binary"}}},
            "description": "the report as a self-contained page",
        }
    },
)
def get_simulation_page(
    _actor: Coordinator, simulations: Simulations, simulation_id: SimulationId
) -> Response:
    """The report as one self-contained page: summary table and histograms (plotly embedded)."""
    from scheduler.workflows.simulate.html import report_html

    report: dict[str, Any] = simulations.report(simulation_id)
    return Response(report_html(report), media_type="text/html", headers=REPORT_PAGE_HEADERS)


@router.delete(
    "/simulations/{simulation_id}",
    response_model=SimulationOut,
    responses=errors(401, 403, 404, 409, 422),
)
def cancel_simulation(
    actor: Coordinator, simulations: Simulations, simulation_id: SimulationId
) -> SimulationOut:
    """Cancel a queued simulation, or stop a running one between two chunks of runs."""
    return simulations.cancel(actor, simulation_id)
