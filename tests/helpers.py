"""Shared test helpers: the tiny site built in code, the hand-made tiny instances, the SPEC example, solve-and-validate.

One version of each, used by every test module that needs one (`from tests.helpers import ...`).
Every schedule a test gets from the solver goes through `solve_and_validate` (or, for a plan
written by the command line, `validated_files`): the independent validator must accept it.

`tiny_site()` is a minimal instance (Europe/Brussels, horizon Mon 2027-01-04 + 21 days, one
shift D 08:00 of 8 h, product `tiny-cel`, one suite position, hospital H1, one operator
rostered everywhere, one fresh patient P1 collected 01-05), changed only where a test needs
it. Its base chain for an apheresis on date A with fresh material and the first start S:
collected A 12:00, arrival A 14:00, ready A 18:00 (C3), fresh until A+3 12:00 (72 h); the only
shift D starts at 08:00, so S is A+1, A+2 or A+3 08:00; manufacturing 48 h, changeover 24 h
(occupied S .. S+3 08:00); activation on S in shift D; sterility sampled S+2, 3 days, may wait
2 days; release = max(assay end, S+2) + 1 (QP); delivery = release + 1 (return transit).
With A = 2027-01-05 (Tue): S 01-06 08:00, end 01-08 08:00, sterility 01-08..01-11, release 01-12,
delivery 01-13.

The hand-made instances of `instances/tiny/` share the same base (see their README).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from ortools.sat.python import cp_model

from generator import generate_instance
from models import Assignment, Instance, ObjectiveValues, Schedule, load_instance, load_schedule
from scheduler.search import lexicographic, parameters
from scheduler.search.outcome import SolveOptions
from scheduler.workflows.solve import solve
from validator import Violation, compute_objective, validate

Doc = dict[str, Any]

# Overloaded generated sites, where the bounds matter, small enough for CP-SAT to prove exactly.
OVERLOADED_SMALL_SITES = [
    ("xs", 1, "waitlist"),
    ("xs", 2, "overload"),
    ("s", 1, "overload"),
    ("s", 1, "waitlist"),
    ("s", 2, "waitlist"),
]

TINY = Path(__file__).resolve().parent.parent / "instances" / "tiny"
DATA = Path(__file__).resolve().parent / "data"
EXAMPLE_INSTANCE = DATA / "example.instance.json"  # the SPEC example, copied to tests/data/
EXAMPLE_SCHEDULE = DATA / "example.schedule.json"
ZONE = ZoneInfo("Europe/Brussels")
HORIZON_START = date(2027, 1, 4)  # a Monday
HORIZON_DAYS = 21
EVERY_DAY = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
A = "2027-01-05"  # the usual apheresis date (Tue)

# Collected A 12:00, fresh until A+1 12:00: the only start is A+1 08:00.
SINGLE_START = {"fresh_shelf_life_hours": 24}


# --- the hand-made tiny instances (instances/tiny/*.json) -----------------------------------


def tiny_doc(name: str) -> Doc:
    """The document of `instances/tiny/<name>.json`, a fresh copy to edit."""
    doc: Doc = json.loads((TINY / f"{name}.json").read_text(encoding="utf-8"))
    return doc


def load_tiny(name: str) -> Instance:
    """The instance `instances/tiny/<name>.json`."""
    return load_instance(TINY / f"{name}.json")


# --- the SPEC example (tests/data/example.*.json) ---------------------------------------------


@cache
def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def example_instance() -> Doc:
    """The SPEC example instance as a plain document, a fresh copy to edit."""
    doc: Doc = json.loads(_text(EXAMPLE_INSTANCE))
    return doc


def example_schedule() -> Doc:
    """The SPEC example schedule (valid, FEASIBLE) as a plain document, a fresh copy to edit."""
    doc: Doc = json.loads(_text(EXAMPLE_SCHEDULE))
    return doc


# --- the tiny site built in code -------------------------------------------------------------


def horizon_dates(days: int = HORIZON_DAYS) -> list[str]:
    """The ISO dates of the first `days` days of the horizon."""
    return [(HORIZON_START + timedelta(days=i)).isoformat() for i in range(days)]


def operator(
    op_id: str,
    skills: tuple[str, ...] = ("aseptic",),
    dates: list[str] | None = None,
    shifts: tuple[str, ...] = ("D",),
) -> Doc:
    """An operator rostered on `shifts` of every date in `dates` (default: every horizon date)."""
    dates = horizon_dates() if dates is None else dates
    return {
        "id": op_id,
        "skills": list(skills),
        "roster": [{"date": day, "shift": shift} for day in dates for shift in shifts],
    }


def step(
    step_id: str, day_offset: int = 0, hours: float = 4, operators: int = 1, skill: str = "aseptic"
) -> Doc:
    """A product step (default: the 4 h, one-operator aseptic activation on day 0)."""
    return {
        "id": step_id,
        "day_offset": day_offset,
        "hours": hours,
        "operators": operators,
        "skill": skill,
    }


def sterility(sample_day_offset: int = 2, duration_days: int = 3, max_wait_days: int = 2) -> Doc:
    """The product's one QC assay."""
    return {
        "id": "sterility",
        "sample_day_offset": sample_day_offset,
        "duration_days": duration_days,
        "max_wait_days": max_wait_days,
    }


def patient(patient_id: str, earliest: str = A, latest: str | None = None, **fields: Any) -> Doc:
    """A new patient of H1 / tiny-cel with fresh material; the infusion window opens at `earliest`."""
    doc: Doc = {
        "id": patient_id,
        "hospital": "H1",
        "product": "tiny-cel",
        "weight": 1,
        "material": "fresh",
        "apheresis_window": {"earliest": earliest, "latest": latest or earliest},
        "infusion_window": {"earliest": earliest},
    }
    doc.update(fields)
    return doc


def in_progress(
    patient_id: str, start: str, suite: str = "S1", position: int = 1, **fields: Any
) -> Doc:
    """An in-progress tiny-cel batch of H1."""
    return {
        "patient": patient_id,
        "product": "tiny-cel",
        "hospital": "H1",
        "suite": suite,
        "position": position,
        "manufacturing_start": start,
        **fields,
    }


def tiny_site(**overrides: Any) -> Doc:
    """A minimal one-product, one-suite-position, one-hospital instance with one fresh patient P1.

    Keyword arguments change it: `site`, `product`, `hospital`, `qc_lab` and `horizon` are merged
    into that object (shallowly); any other key (`patients`, `suites`, `operators`,
    `in_progress`, `objective`, ...) replaces the top-level entry.
    """
    doc: Doc = {
        "format": "cart-schedule-instance/1",
        "name": "rule-test",
        "site": {
            "id": "TINY",
            "timezone": "Europe/Brussels",
            "shifts": [{"id": "D", "start": "08:00", "hours": 8}],
        },
        "horizon": {"start": HORIZON_START.isoformat(), "days": HORIZON_DAYS},
        "products": [
            {
                "id": "tiny-cel",
                "fresh_shelf_life_hours": 72,
                "receipt_hours": 4,
                "manufacturing_hours": 48,
                "changeover_hours": 24,
                "suite_types": ["isolator"],
                "steps": [step("activation")],
                "qc_assays": [sterility()],
                "qp_release_days": 1,
            }
        ],
        "suites": [{"id": "S1", "type": "isolator", "positions": 1}],
        "operators": [operator("OP1")],
        "qc_lab": {"working_days": EVERY_DAY, "closed_dates": [], "capacity": {"sterility": 2}},
        "hospitals": [
            {
                "id": "H1",
                "name": "Tiny Hospital",
                "transit_hours": 2,
                "collection_end": "12:00",
                "return_transit_days": 1,
                "apheresis_capacity": dict.fromkeys(EVERY_DAY, 2),
                "closed_dates": [],
                "booked_elsewhere": {},
            }
        ],
        "patients": [patient("P1")],
    }
    merged = {
        "site": doc["site"],
        "product": doc["products"][0],
        "hospital": doc["hospitals"][0],
        "qc_lab": doc["qc_lab"],
        "horizon": doc["horizon"],
    }
    for key, value in overrides.items():
        if key in merged:
            merged[key].update(copy.deepcopy(value))
        else:
            doc[key] = copy.deepcopy(value)
    return doc


# --- solving and reading the answer ------------------------------------------------------------


def solve_and_validate(
    source: Doc | Instance, *, time_limit: float = 20, workers: int = 1, seed: int = 0
) -> tuple[Instance, Schedule]:
    """Solve an instance (document or loaded); the schedule must pass the independent validator."""
    instance = source if isinstance(source, Instance) else load_instance(source)
    schedule = solve(instance, SolveOptions(time_limit=time_limit, workers=workers, seed=seed))
    violations = validate(instance, schedule)
    assert violations == [], f"{instance.name}: solver output breaks the rules: {violations[:5]}"
    return instance, schedule


def solve_generated(
    size: str, seed: int, scenario: str, *, time_limit: float = 30, workers: int = 2
) -> tuple[Instance, Schedule]:
    """A generated site and its plan: validated, and a usable plan (OPTIMAL or FEASIBLE)."""
    instance, schedule = solve_and_validate(
        generate_instance(size, seed, scenario), time_limit=time_limit, workers=workers
    )
    assert schedule.status in ("OPTIMAL", "FEASIBLE"), f"{instance.name}: {schedule.status}"
    return instance, schedule


def validated_files(instance_path: Path, schedule_path: Path) -> tuple[Instance, Schedule]:
    """The instance and the schedule a command wrote; the validator must accept the schedule."""
    instance, schedule = load_instance(instance_path), load_schedule(schedule_path)
    violations = validate(instance, schedule)
    assert violations == [], f"{schedule_path}: the plan breaks the rules: {violations[:5]}"
    return instance, schedule


def with_objective(instance: Instance, plan: Doc | Schedule, **fields: Any) -> Schedule:
    """The plan with objective and bound recomputed by the validator's own code (as a planning
    tool saves a plan edited by hand), so that `validate` checks the rest; `fields` replace
    other top-level fields (e.g. `status`)."""
    schedule = plan if isinstance(plan, Schedule) else load_schedule(plan)
    values = compute_objective(instance, schedule)
    return schedule.model_copy(
        update={
            "objective": ObjectiveValues(**values),
            "bound": ObjectiveValues(**values),
            **fields,
        }
    )


def solved(source: Doc | Instance) -> Schedule:
    """A validated, proven-optimal schedule of a tiny instance (they are all solved to proof)."""
    _, schedule = solve_and_validate(source)
    assert schedule.status == "OPTIMAL", schedule.status
    return schedule


def assigned(schedule: Schedule, patient_id: str) -> Assignment:
    """The assignment of a patient or in-progress batch, which must exist."""
    assignment = schedule.assignment_of(patient_id)
    assert assignment is not None, f"{patient_id} is not scheduled: {reasons(schedule, patient_id)}"
    return assignment


def reasons(schedule: Schedule, patient_id: str) -> list[str]:
    """The reasons an unscheduled patient is given ([] if it is not unscheduled)."""
    entry = next((u for u in schedule.unscheduled if u.patient == patient_id), None)
    return [] if entry is None else entry.reasons


def first_rule(schedule: Schedule, patient_id: str) -> str:
    """The rule id (`C1` … `C11`) the first reason of an unscheduled patient starts with."""
    found = reasons(schedule, patient_id)
    assert found, f"{patient_id} is not unscheduled with a reason"
    match = re.match(r"(C\d+)\b", found[0])
    assert match, f"{patient_id}: first reason does not start with a rule id: {found[0]!r}"
    return match.group(1)


def assert_blocked_by(schedule: Schedule, patient_id: str, rule: str) -> str:
    """The patient is unscheduled and its first (most specific) reason starts with `rule`."""
    assert schedule.assignment_of(patient_id) is None, f"{patient_id} is scheduled"
    found = reasons(schedule, patient_id)
    assert found, f"{patient_id} is neither scheduled nor unscheduled with a reason"
    assert re.match(rf"{rule}\b", found[0]), (
        f"{patient_id}: expected a {rule} reason first, got {found}"
    )
    return found[0]


def rules_of(violations: list[Violation]) -> set[str]:
    """The rules (`C1` … `C11`, `FORMAT`, `OBJECTIVE`) some violation breaks."""
    return {v.rule for v in violations}


def scheduled_ids(schedule: Schedule) -> set[str]:
    """The new patients the schedule assigns."""
    return {a.patient for a in schedule.assignments if not a.in_progress}


def local(text: str) -> datetime:
    """A local site time `YYYY-MM-DDTHH:MM` as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def d(text: str) -> date:
    """An ISO date."""
    return date.fromisoformat(text)


def cut_short(monkeypatch: pytest.MonkeyPatch, which: Callable[[Any], bool]) -> None:
    """Every solve of a level for which `which(level)` holds stops on its first solution: a
    level left unproven, as on a site too large to prove in the time."""
    real_solve_once, real_run_solver = lexicographic._Search._solve_once, lexicographic.run_solver

    def first_solution_only(solver: cp_model.CpSolver, *args: Any) -> int:
        solver.parameters.stop_after_first_solution = True
        return real_run_solver(solver, *args)

    def solve_once(search: Any, level: Any, seconds: float) -> tuple[cp_model.CpSolver, int]:
        if not which(level):
            return real_solve_once(search, level, seconds)
        with monkeypatch.context() as cut:
            cut.setattr(lexicographic, "run_solver", first_solution_only)
            return real_solve_once(search, level, seconds)

    monkeypatch.setattr(lexicographic._Search, "_solve_once", solve_once)


def force_on(monkeypatch: pytest.MonkeyPatch, *thresholds: str) -> None:
    """Set size thresholds of `scheduler.search.parameters` to 0: what pays off only on large
    sites runs on a small one, where CP-SAT proves the optimum to compare with."""
    for threshold in thresholds:
        monkeypatch.setattr(parameters, threshold, 0)
