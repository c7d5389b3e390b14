"""The FastAPI application: a thin HTTP surface over `api.service` (the same functions as the CLI)."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import (
    Body,
    Depends,
    FastAPI,
    File,
    Header,
    HTTPException,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.db import DEFAULT_DATABASE_URL, create_db_engine, migrate
from api.jobs import SolveWorker, recover_interrupted
from api.schemas import (
    AuditOut,
    AvailabilityOut,
    BookingConflictOut,
    BookingOut,
    CancelledBookingOut,
    ComparisonOut,
    ErrorOut,
    KpisOut,
    PlanOut,
    PublishedOut,
    PublishOut,
    WorkbookOut,
)
from api.service import Service, ServiceError, Unprocessable
from models import InputError, Instance, Problem, load_instance, load_schedule, to_json
from models.io import json_path
from models.orders import BookingRequest, ProspectivePatient
from models.workbook import read_instance
from scheduler.reporting.gantt import build_figure
from scheduler.reporting.kpis import compute_kpis, format_kpis
from scheduler.reporting.plan_workbook import write_schedule
from scheduler.workflows.analyze import analyze as analyze_plan

log = logging.getLogger("cart_scheduler.api")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_WORKBOOK_BYTES = 20_000_000
STATIC = Path(__file__).parent / "static"
_PLOTLY_SPEC = importlib.util.find_spec("plotly")
assert _PLOTLY_SPEC is not None and _PLOTLY_SPEC.origin is not None  # a declared dependency
PLOTLY_JS = Path(_PLOTLY_SPEC.origin).parent / "package_data" / "plotly.min.js"

API_KEY = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A key from `cart-schedule keys create`"
)
COORDINATOR, ORDER_SYSTEM = "coordinator", "order-system"


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        401: "no valid X-API-Key",
        403: "the key's role may not do this",
        404: "unknown id",
        409: "the site's state does not allow it",
        422: "bad input: every problem with its JSON path",
    }
    return {code: {"model": ErrorOut, "description": described[code]} for code in codes}


def _role(*allowed: str) -> Callable[..., str]:
    """A dependency that admits keys of the given roles and yields the key's name (for the audit trail)."""

    def caller(request: Request, key: Annotated[str | None, Depends(API_KEY)]) -> str:
        owner = request.app.state.service.key_owner(key) if key else None
        if owner is None:
            raise HTTPException(401, "a valid X-API-Key header is required")
        name, key_role = owner
        if key_role not in allowed:
            raise HTTPException(
                403, f"a {key_role} key may not do this (needs: {', '.join(allowed)})"
            )
        return str(name)

    return caller


Coordinator = Annotated[str, Depends(_role(COORDINATOR))]
OrderSystem = Annotated[str, Depends(_role(ORDER_SYSTEM))]
Reader = Annotated[str, Depends(_role(COORDINATOR, ORDER_SYSTEM))]


def read_uploaded_workbook(data: bytes) -> Instance:
    """An uploaded XLSX as an instance; any problem is a 422 naming sheet, row and column."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.xlsx"
        path.write_bytes(data)
        try:
            return read_instance(path)
        except InputError as error:
            raise Unprocessable(
                "the workbook has problems",
                extra={"problems": [_located(p) for p in error.problems]},
            ) from error
        except Exception as error:  # not a workbook at all (bad zip, not XLSX)
            raise Unprocessable(
                f"the file is not an XLSX workbook ({type(error).__name__})"
            ) from error


WHERE = re.compile(r"^(?P<sheet>.+?)(?: row (?P<row>\d+))?(?:,? column (?P<column>.+))?$")


def _located(problem: Problem) -> dict[str, Any]:
    """A workbook problem with its sheet, row and column as separate fields (for the page's table)."""
    where = WHERE.match(problem.path)
    sheet, row, column = (
        (where["sheet"], where["row"], where["column"]) if where else (problem.path, None, None)
    )
    return {
        "path": problem.path,
        "sheet": sheet,
        "row": None if row is None else int(row),
        "column": column,
        "message": problem.message,
    }


def database_url_from_env(explicit: str | None = None) -> str:
    """The database URL: explicit, else `DATABASE_URL`, else an SQLite file in the working directory."""
    return explicit or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def create_app(
    database_url: str | None = None, run_solver: bool = True, solver_workers: int = 2
) -> FastAPI:
    """The service over one database (migrated on start); `run_solver` starts the plan worker."""
    url = database_url_from_env(database_url)
    engine = create_db_engine(url)
    service = Service(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        migrate(engine)
        worker = None
        if run_solver:
            recover_interrupted(url)
            worker = SolveWorker(url, service.plan_submitted, solver_workers)
            worker.start()
        yield
        if worker is not None:
            worker.stop()
        engine.dispose()

    app = FastAPI(
        title="cart-scheduler",
        version="1",
        summary="CAR-T manufacturing slot scheduling: weekly plans for coordinators, apheresis bookings for the order system.",
        lifespan=lifespan,
    )
    app.state.service = service

    # ----- errors: a client's mistake is never a 500 ----------------------------------------------

    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, error: ServiceError) -> JSONResponse:
        return JSONResponse(error.body(), status_code=error.status_code)

    @app.exception_handler(InputError)
    async def _input_error(_request: Request, error: InputError) -> JSONResponse:
        problems = [
            {
                "path": "body"
                + ("." + p.path if p.path and not p.path.startswith("[") else p.path),
                "message": p.message,
            }
            for p in error.problems
        ]
        return JSONResponse(
            {"detail": "the document has problems", "problems": problems}, status_code=422
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {"path": json_path(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")}
            for e in error.errors()
        ]
        return JSONResponse(
            {"detail": "the request has problems", "problems": problems}, status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        if (
            error.status_code == 400
        ):  # a body that is not even text (bad bytes) is malformed JSON too
            return JSONResponse(
                {
                    "detail": "the request has problems",
                    "problems": [{"path": "body", "message": str(error.detail)}],
                },
                status_code=422,
            )
        return JSONResponse(
            {"detail": error.detail}, status_code=error.status_code, headers=error.headers
        )

    @app.exception_handler(DataError)
    async def _unstorable(_request: Request, error: DataError) -> JSONResponse:
        # e.g. a NUL character in an id: PostgreSQL cannot store or compare it; the client's value is at fault
        return JSONResponse(
            {
                "detail": "a value in the request cannot be stored or looked up (control characters?)",
                "problems": [{"path": "", "message": str(error.orig).splitlines()[0]}],
            },
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=error)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    # ----- the coordinators' web page ------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        """The coordinators' page (a small static front end over this API)."""
        return FileResponse(STATIC / "index.html")

    @app.get("/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        """plotly.js from the installed plotly package: nothing is fetched from the internet."""
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ----- health -----------------------------------------------------------------------------

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"model": ErrorOut}})
    def readyz() -> Any:
        """The database answers."""
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # the database is down: not ready, and say why
            return JSONResponse(
                {"detail": f"database unavailable: {type(error).__name__}"}, status_code=503
            )
        return {"status": "ready"}

    # ----- coordinators: plans ------------------------------------------------------------------

    @app.post(
        "/v1/plans",
        status_code=202,
        tags=["plans"],
        response_model=PlanOut,
        responses=_errors(401, 403, 422),
    )
    def submit_plan(
        actor: Coordinator,
        instance: Annotated[
            dict[str, Any],
            Body(description="A `cart-schedule-instance/1` document (SPEC section 5)"),
        ],
        time_limit: Annotated[
            float, Query(gt=0, le=3600, description="seconds the solver may take")
        ] = 60.0,
    ) -> dict[str, Any]:
        """Submit a weekly plan; it is solved off the request path."""
        return service.submit_plan(actor, instance, time_limit)

    @app.get(
        "/v1/plans", tags=["plans"], response_model=list[PlanOut], responses=_errors(401, 403, 422)
    )
    def list_plans(
        _actor: Coordinator, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> list[dict[str, Any]]:
        """The most recent plans first."""
        return service.list_plans(limit)

    @app.get(
        "/v1/plans/{plan_id}",
        tags=["plans"],
        response_model=PlanOut,
        responses=_errors(401, 403, 404),
    )
    def get_plan(_actor: Coordinator, plan_id: str) -> dict[str, Any]:
        """Status, best objective and bound so far, elapsed time."""
        return service.plan_status(plan_id)

    @app.get("/v1/plans/{plan_id}/schedule", tags=["plans"], responses=_errors(401, 403, 404, 409))
    def get_plan_schedule(_actor: Coordinator, plan_id: str) -> dict[str, Any]:
        """The plan's schedule (`cart-schedule/1`)."""
        return service.plan_schedule(plan_id)

    @app.post(
        "/v1/plans/{plan_id}/scenarios",
        status_code=202,
        tags=["plans"],
        response_model=PlanOut,
        responses=_errors(401, 403, 404, 422),
    )
    def submit_scenario(
        actor: Coordinator,
        plan_id: str,
        scenario: Annotated[
            dict[str, Any],
            Body(
                description='{"name": ..., "changes": [{"kind": "operators_added" | "suite_removed" | "suite_added" | "qc_capacity_changed" | "chairs_changed" | "starts_per_day_changed", ...}]}'
            ),
        ],
        time_limit: Annotated[float, Query(gt=0, le=3600)] = 60.0,
    ) -> dict[str, Any]:
        """What if: solve the plan again with changed inputs (e.g. two more operators on weekends, one suite less)."""
        return service.submit_scenario(actor, plan_id, scenario, time_limit)

    @app.post(
        "/v1/plans/{plan_id}/replan",
        status_code=202,
        tags=["plans"],
        response_model=PlanOut,
        responses=_errors(401, 403, 404, 409, 422),
    )
    def submit_replan(
        actor: Coordinator,
        plan_id: str,
        events: Annotated[
            Any,
            Body(description="events: a list, or {format: cart-schedule-events/1, as_of, events}"),
        ],
        time_limit: Annotated[float, Query(gt=0, le=3600)] = 60.0,
    ) -> dict[str, Any]:
        """Re-plan after events (patient added/cancelled/delayed, batch failed, suite down, operator absent, QC changes)."""
        return service.submit_replan(actor, plan_id, events, time_limit)

    @app.get("/v1/plans/{plan_id}/diff", tags=["plans"], responses=_errors(401, 403, 404, 409))
    def get_plan_diff(_actor: Coordinator, plan_id: str) -> dict[str, Any]:
        """What a re-plan changed: who moved, from what to what, by how many days, and which event caused it."""
        return service.plan_diff(plan_id)

    @app.get(
        "/v1/plans/{plan_id}/explain/{patient_id}",
        tags=["plans"],
        responses=_errors(401, 403, 404, 409, 422),
    )
    def explain(
        _actor: Coordinator,
        plan_id: str,
        patient_id: str,
        time_limit: Annotated[float, Query(gt=0, le=120)] = 10.0,
    ) -> dict[str, Any]:
        """The smallest verified changes that would let this unscheduled patient be scheduled."""
        return service.explain(plan_id, patient_id, time_limit)

    @app.post("/v1/analyze", tags=["plans"], responses=_errors(401, 403, 422))
    def analyze(
        _actor: Coordinator,
        instance: Annotated[
            dict[str, Any], Body(description="a cart-schedule-instance/1 document")
        ],
        schedule: Annotated[
            dict[str, Any], Body(description="a cart-schedule/1 document, e.g. edited by hand")
        ],
    ) -> dict[str, Any]:
        """Every rule a (hand-edited) plan breaks, with patients, resources and dates, and its objective."""
        problems = []
        try:
            checked_instance = load_instance(instance)
        except InputError as error:
            problems += [
                Problem(f"body.instance.{p.path}" if p.path else "body.instance", p.message)
                for p in error.problems
            ]
        try:
            checked_schedule = load_schedule(schedule)
        except InputError as error:
            problems += [
                Problem(f"body.schedule.{p.path}" if p.path else "body.schedule", p.message)
                for p in error.problems
            ]
        if problems:
            raise Unprocessable("the documents have problems", problems)
        result: dict[str, Any] = analyze_plan(checked_instance, checked_schedule).to_dict()
        return result

    @app.get(
        "/v1/plans/{plan_id}/compare",
        tags=["plans"],
        response_model=ComparisonOut,
        responses=_errors(401, 403, 404, 409, 422),
    )
    def compare(
        _actor: Coordinator,
        plan_id: str,
        with_: Annotated[
            str, Query(alias="with", min_length=1, description="comma-separated plan ids")
        ],
    ) -> dict[str, Any]:
        """The plan's objective and KPIs side by side with other plans (its scenarios)."""
        others = [part.strip() for part in with_.split(",") if part.strip()]
        return service.compare([plan_id, *others])

    @app.post(
        "/v1/workbooks",
        tags=["plans"],
        response_model=WorkbookOut,
        responses=_errors(401, 403, 422),
    )
    def check_workbook(
        _actor: Coordinator,
        file: Annotated[UploadFile, File(description="an XLSX planning workbook")],
    ) -> Any:
        """Read a planning workbook (`cart-schedule template`) as an instance; every problem by sheet, row and column."""
        data = file.file.read(MAX_WORKBOOK_BYTES + 1)
        if len(data) > MAX_WORKBOOK_BYTES:
            raise Unprocessable(f"the workbook is larger than {MAX_WORKBOOK_BYTES // 1_000_000} MB")
        instance = read_uploaded_workbook(data)
        return {
            "instance": json.loads(to_json(instance)),
            "summary": {
                "name": instance.name,
                "patients": len(instance.patients),
                "in_progress": len(instance.in_progress),
                "suites": len(instance.suites),
                "operators": len(instance.operators),
                "horizon_days": instance.horizon.days,
            },
        }

    @app.get(
        "/v1/plans/{plan_id}/workbook",
        tags=["plans"],
        responses=_errors(401, 403, 404, 409)
        | {200: {"content": {XLSX: {}}, "description": "the plan workbook"}},
    )
    def get_plan_workbook(_actor: Coordinator, plan_id: str) -> Response:
        """The plan as a workbook: patients, suites, operators, qc, unscheduled, kpis."""
        instance, schedule = service.plan_documents(plan_id)
        with tempfile.TemporaryDirectory() as folder:
            path = write_schedule(instance, schedule, Path(folder) / "plan.xlsx")
            content = path.read_bytes()
        return Response(
            content,
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="plan-{plan_id}.xlsx"'},
        )

    @app.get(
        "/v1/plans/{plan_id}/kpis",
        tags=["plans"],
        response_model=KpisOut,
        responses=_errors(401, 403, 404, 409),
    )
    def get_plan_kpis(_actor: Coordinator, plan_id: str) -> dict[str, Any]:
        """The plan's KPIs: utilisation, loads, time to delivery, unscheduled by rule; and the same as a labelled table."""
        instance, schedule = service.plan_documents(plan_id)
        kpis = compute_kpis(instance, schedule)
        return {"kpis": kpis, "table": [list(row) for row in format_kpis(kpis)]}

    @app.get("/v1/plans/{plan_id}/gantt", tags=["plans"], responses=_errors(401, 403, 404, 409))
    def get_plan_gantt(_actor: Coordinator, plan_id: str) -> dict[str, Any]:
        """The plan's Gantt figure (suite positions, operator load, QC load) as plotly JSON."""
        instance, schedule = service.plan_documents(plan_id)
        figure: dict[str, Any] = json.loads(build_figure(instance, schedule).to_json())
        return figure

    @app.delete(
        "/v1/plans/{plan_id}",
        tags=["plans"],
        response_model=PlanOut,
        responses=_errors(401, 403, 404, 409),
    )
    def cancel_plan(actor: Coordinator, plan_id: str) -> dict[str, Any]:
        """Cancel the solve: it stops within 2 s and keeps its best schedule so far."""
        return service.cancel_plan(actor, plan_id)

    @app.post(
        "/v1/plans/{plan_id}/publish",
        tags=["plans"],
        response_model=PublishOut,
        responses=_errors(401, 403, 404, 409),
    )
    def publish(actor: Coordinator, plan_id: str) -> dict[str, Any]:
        """Make the plan the site's published plan (every confirmed booking is carried over, or nothing changes)."""
        return service.publish(actor, plan_id)

    @app.get(
        "/v1/published",
        tags=["plans"],
        response_model=PublishedOut,
        responses=_errors(401, 403, 404),
    )
    def published(_actor: Coordinator) -> dict[str, Any]:
        """The published plan, bookings included: instance and schedule."""
        return service.published_documents()

    # ----- the order system: availability and bookings ----------------------------------------------

    @app.post(
        "/v1/availability",
        tags=["bookings"],
        response_model=AvailabilityOut,
        responses=_errors(401, 403, 409, 422),
    )
    def availability(_actor: Reader, patient: ProspectivePatient) -> dict[str, Any]:
        """Apheresis dates the published plan can still offer this patient, best delivery first; reserves nothing."""
        return service.availability(patient)

    @app.post(
        "/v1/bookings",
        status_code=201,
        tags=["bookings"],
        response_model=BookingOut,
        responses=_errors(401, 403, 422)
        | {409: {"model": BookingConflictOut, "description": "the date can no longer be offered"}},
    )
    def book(
        actor: OrderSystem,
        booking: BookingRequest,
        response: Response,
        idempotency_key: Annotated[
            str,
            Header(
                min_length=1,
                max_length=200,
                description="the same key again returns the same answer and books nothing",
            ),
        ],
    ) -> Any:
        """Book a patient on one of the offered apheresis dates."""
        status, body = service.book(actor, idempotency_key, booking)
        if status != 201:
            return JSONResponse(body, status_code=status)
        response.status_code = status
        return body

    @app.get(
        "/v1/bookings/{patient_id}",
        tags=["bookings"],
        response_model=BookingOut,
        responses=_errors(401, 403, 404),
    )
    def get_booking(_actor: Reader, patient_id: str) -> dict[str, Any]:
        """A booked patient's assignment."""
        return service.booking(patient_id)

    @app.delete(
        "/v1/bookings/{patient_id}",
        tags=["bookings"],
        response_model=CancelledBookingOut,
        responses=_errors(401, 403, 404),
    )
    def cancel_booking(actor: OrderSystem, patient_id: str) -> dict[str, Any]:
        """Cancel a booking: the chair, suite position, operators' hours and QC slots are free again."""
        return service.cancel_booking(actor, patient_id)

    # ----- audit ------------------------------------------------------------------------------

    @app.get(
        "/v1/audit", tags=["audit"], response_model=list[AuditOut], responses=_errors(401, 403, 422)
    )
    def audit(
        _actor: Coordinator,
        since: Annotated[
            datetime | None, Query(description="ISO 8601 instant; entries at or after it")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
    ) -> list[dict[str, Any]]:
        """Every change, oldest first: time, key name, action, ids, before and after. Read-only."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return service.audit(since, limit)

    return app
