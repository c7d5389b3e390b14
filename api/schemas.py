"""Shapes of the HTTP answers (the request bodies are the exchange formats of `models/`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from models import Instance, Schedule

# A JSON number kept as given: an integer stays an integer on the wire, a fraction a fraction.
JsonNumber = int | float


class ProblemOut(BaseModel):
    """One thing wrong with the request, and where."""

    path: str
    message: str


class ErrorOut(BaseModel):
    """A refusal: what is wrong, every problem with its JSON path, and any details."""

    model_config = {"extra": "allow"}
    detail: str
    problems: list[ProblemOut] | None = None


class PlanOut(BaseModel):
    """A plan's solve job: status, best objective and bound so far, elapsed time."""

    id: str
    name: str
    status: str
    time_limit: float
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    elapsed_seconds: float | None
    progress: dict[str, Any] | None
    result: dict[str, Any] | None
    error: str | None
    parent_id: str | None = None
    scenario: dict[str, Any] | None = None


class PublishIn(BaseModel):
    """Why a plan is published and what publishing it means: the coordinator's signature."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500, description="why this plan is published")
    meaning: str = Field(
        default="approved for production",
        min_length=1,
        max_length=500,
        description="what the coordinator's publishing signifies",
    )


class PublishOut(BaseModel):
    """The plan now published."""

    plan_id: str
    version: int
    published_at: str
    n: int | None = Field(
        default=None, description="this publication's number in /v1/published/versions"
    )


class PublishedVersionSummaryOut(BaseModel):
    """One publication: which plan, who published it, when, why and with what meaning."""

    n: int
    plan_id: str
    published_by: str
    published_at: str
    reason: str
    meaning: str


class PublishedVersionOut(PublishedVersionSummaryOut):
    """One publication with the instance and schedule exactly as they were published."""

    instance: Instance
    schedule: Schedule


class PublishedOut(PublishOut):
    """The published plan: `cart-schedule-instance/1` and `cart-schedule/1` documents."""

    instance: Instance
    schedule: Schedule


class OfferOut(BaseModel):
    """One apheresis date the site can offer, and what follows from it."""

    apheresis_date: str
    manufacturing_start: str
    suite: str
    release_date: str
    delivery_date: str
    on_time_probability: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description=(
            "estimated probability that the patient is infused inside the infusion window, from the"
            " published plan's latest finished simulation (docs/SIMULATION.md); absent without one"
        ),
    )


class UnavailableOut(BaseModel):
    """A date of the window that cannot be offered, and why."""

    apheresis_date: str
    reason: str


class AvailabilityOut(BaseModel):
    """The offers against the published plan (best delivery first); nothing is reserved."""

    plan_id: str
    version: int
    offers: list[OfferOut]
    unavailable: list[UnavailableOut]


class BookingOut(BaseModel):
    """A booked patient's full assignment (SPEC section 6) in the published plan."""

    patient: str
    plan_id: str
    version: int
    assignment: dict[str, Any]


class BookingConflictOut(BaseModel):
    """Why the chosen date can no longer be booked."""

    detail: str
    reason: str
    patient: str
    apheresis_date: str


class CancelledBookingOut(BaseModel):
    """A cancelled booking."""

    patient: str
    cancelled: bool
    version: int


class AuditOut(BaseModel):
    """One change of the audit trail."""

    id: int
    at: str
    actor: str
    action: str
    entity: str
    entity_id: str
    before: Any
    after: Any
    reason: str | None = None
    request_id: str | None = None
    prev_hash: str
    hash: str


class KpisOut(BaseModel):
    """A plan's KPIs, and the same as (label, value) rows for display."""

    kpis: dict[str, Any]
    table: list[list[str]]


class WorkbookOut(BaseModel):
    """A planning workbook read as a `cart-schedule-instance/1` document, with a short summary."""

    instance: Instance
    summary: dict[str, Any]


class ComparisonOut(BaseModel):
    """Plans side by side: each plan's objective and KPIs, and rows of (label, value per plan)."""

    plans: list[dict[str, Any]]
    header: list[str]
    rows: list[list[str]]


class HealthOut(BaseModel):
    """The process answers."""

    status: str


class PatientChangeOut(BaseModel):
    """One patient's change between the plan re-planned and the re-plan, and its causes."""

    patient: str
    change: str
    apheresis_from: str | None
    apheresis_to: str | None
    apheresis_days: int | None
    start_from: str | None
    start_to: str | None
    start_days: int | None
    suite_from: str | None
    suite_to: str | None
    caused_by: list[str]
    reasons: list[str]


class DiffOut(BaseModel):
    """What a re-plan changed: who moved, from what to what, and which event caused it."""

    instance_from: str
    instance_to: str
    as_of: str
    counts: dict[str, int]
    changes: list[PatientChangeOut]
    started: list[str]
    objective_from: dict[str, JsonNumber] | None
    objective_to: dict[str, JsonNumber] | None


class ChangeOut(BaseModel):
    """One change a coordinator could arrange (the optional details only when they apply)."""

    kind: str
    resource: str
    dates: list[str]
    amount: int
    shift: str | None = None
    operator: str | None = None
    edge: str | None = None
    period: int | None = None


class SuggestionOut(BaseModel):
    """Verified changes that together let the patient be scheduled, in a coordinator's words."""

    patient: str
    rule: str
    change: ChangeOut
    changes: list[ChangeOut]
    size: int
    text: str
    verified_by: str
    others_moved: int
    assignment: dict[str, Any]


class SuggestionsOut(BaseModel):
    """The smallest verified changes that would let an unscheduled patient in, smallest first."""

    plan_id: str
    patient: str
    suggestions: list[SuggestionOut]
    out_of_reach: str | None


class ResourceOut(BaseModel):
    """A resource a violation involves: hospital, suite position, operator, shift or assay."""

    kind: str
    id: str


class ViolationOut(BaseModel):
    """One broken rule: the message, the patients, resources and dates involved."""

    rule: str
    message: str
    patients: list[str]
    resources: list[ResourceOut]
    dates: list[str]


class RuleBreachesOut(BaseModel):
    """Every violation of one rule, and the patients involved."""

    rule: str
    name: str
    patients: list[str]
    violations: list[ViolationOut]


class AnalysisObjectiveOut(BaseModel):
    """The objective recomputed from the assignments, the one the schedule reports, and whether they agree."""

    recomputed: dict[str, JsonNumber]
    reported: dict[str, JsonNumber] | None
    matches: bool


class AnalysisOut(BaseModel):
    """Every rule a plan breaks, grouped per rule, and its objective recomputed."""

    instance: str
    status: str
    valid: bool
    violation_count: int
    rules: list[RuleBreachesOut]
    objective: AnalysisObjectiveOut


class FigureOut(BaseModel):
    """A plotly figure as JSON: its traces and layout."""

    # plotly may add top-level keys of its own (frames, …): they are passed through.
    model_config = ConfigDict(extra="allow")
    data: list[dict[str, Any]]
    layout: dict[str, Any]


class SimulationRatesIn(BaseModel):
    """Disruption rates of a simulation (absent: the product's own field, else docs/SIMULATION.md)."""

    model_config = ConfigDict(extra="forbid")
    failure_rate: float | None = Field(None, ge=0, le=1, description="per batch: no product")
    out_of_spec_rate: float | None = Field(
        None, ge=0, le=1, description="per batch: out of specification at release"
    )
    dropout_rate: float | None = Field(
        None, ge=0, le=1, description="per patient: collected, never infused"
    )
    suite_down_rate: float = Field(0.01, ge=0, le=1, description="per suite and week: a closure")
    operator_absence_rate: float = Field(
        0.05, ge=0, le=1, description="per operator and week: an absence"
    )


class SimulationIn(BaseModel):
    """What to simulate on a solved plan: runs (at most the service's limit), seed, policy, rates."""

    model_config = ConfigDict(extra="forbid")
    runs: int = Field(
        50, ge=1, description="independent runs (at most CART_SCHEDULER_MAX_SIMULATION_RUNS)"
    )
    seed: int = Field(0, ge=0, le=2_147_483_647, description="same seed, same report")
    policy: Literal["repair", "replan"] = Field(
        "repair", description="how the plan reacts: a fast insertion, or a CP-SAT re-plan"
    )
    rates: SimulationRatesIn = Field(default_factory=SimulationRatesIn)
    time_limit: float = Field(5.0, gt=0, le=60, description="seconds per re-solve (replan)")
    clairvoyant: bool = Field(
        True, description="also solve the clairvoyant reference (an upper bound) per run"
    )


class SimulationOut(BaseModel):
    """A simulation of a plan: status, runs done so far, and the report once done."""

    id: str
    plan_id: str
    status: str = Field(description="queued, running, cancelling, done, failed or cancelled")
    runs: int
    seed: int
    policy: str
    config: dict[str, Any]
    progress: dict[str, Any] | None
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: str | None
    report: dict[str, Any] | None = Field(
        None, description="the `cart-schedule-simulation/1` report, when done"
    )
