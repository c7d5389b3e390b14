"""Solve an instance: build the CP-SAT model, optimise the measures lexicographically, build the schedule."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from ortools.sat.python import cp_model

from models import Instance, Schedule
from scheduler.calendar import SiteCalendar
from scheduler.constraints.apheresis import add_apheresis_chairs
from scheduler.constraints.coverage import add_one_start_per_scheduled_patient
from scheduler.constraints.delivery import add_release_and_delivery
from scheduler.constraints.operators import add_operator_staffing
from scheduler.constraints.qc import add_qc_capacity
from scheduler.constraints.starts import add_daily_start_limit
from scheduler.constraints.suites import add_suite_capacity
from scheduler.extract import Batch, assign_operators, assign_positions, read_batches
from scheduler.objective import MAXIMISED, measure_expressions, weight_scale
from scheduler.options import Commitment, OptionBuilder, PatientOptions
from scheduler.report import build_schedule, commitment_conflicts
from scheduler.roster import Roster
from scheduler.variables import PlanVariables, create_variables


@dataclass(frozen=True)
class Progress:
    """A solver progress report for one level of the objective."""

    level: str
    objective: float
    bound: float
    elapsed: float


@dataclass
class SolveOptions:
    """How long and how to search."""

    time_limit: float = 60.0
    workers: int = 2
    seed: int = 0
    on_progress: Callable[[Progress], None] | None = None
    stop_event: threading.Event | None = None  # set it to stop the search and keep the best so far


@dataclass
class LevelOutcome:
    """What the search reached on one measure."""

    measure: str
    value: float | None = None
    bound: float | None = None
    proven: bool = False


@dataclass
class SearchOutcome:
    """The result of the lexicographic search over one model."""

    status: str  # "SOLVED", "INFEASIBLE" or "UNKNOWN"
    levels: list[LevelOutcome] = field(default_factory=list)
    values: dict[str, int] = field(default_factory=dict)  # variable name -> value (for hints)
    batches: list[Batch] = field(default_factory=list)


@dataclass
class Problem:
    """The pieces every model of one instance shares."""

    instance: Instance
    calendar: SiteCalendar
    roster: Roster
    builder: OptionBuilder
    patients: list[PatientOptions]
    commitments: list[Commitment]
    scale: int


def prepare(instance: Instance) -> Problem:
    """Enumerate every patient's options and the in-progress commitments."""
    calendar = SiteCalendar(instance)
    roster = Roster(instance)
    builder = OptionBuilder(instance, calendar, roster)
    patients = [builder.patient_options(patient) for patient in instance.patients]
    commitments = [builder.commitment(batch) for batch in instance.in_progress]
    scale = weight_scale([patient.weight for patient in instance.patients])
    return Problem(instance, calendar, roster, builder, patients, commitments, scale)


def build_model(problem: Problem, exact_slots: set[tuple[date, str]]) -> tuple[PlanVariables, dict[str, cp_model.LinearExprT]]:
    """The CP-SAT model of rules C1–C11 and the measure expressions."""
    plan = create_variables(problem.patients, problem.commitments, problem.builder.classes)
    add_one_start_per_scheduled_patient(plan)
    add_apheresis_chairs(plan, problem.instance)
    add_daily_start_limit(plan, problem.instance, problem.calendar)
    add_suite_capacity(plan)
    add_operator_staffing(plan, problem.instance, problem.calendar, problem.roster, exact_slots)
    add_qc_capacity(plan, problem.instance)
    add_release_and_delivery(plan, problem.calendar)
    return plan, measure_expressions(plan, problem.calendar, problem.scale)


class _ProgressReporter(cp_model.CpSolverSolutionCallback):
    def __init__(self, level: str, scale: float, started: float, options: SolveOptions) -> None:
        super().__init__()
        self.level, self.scale, self.started, self.options = level, scale, started, options

    def on_solution_callback(self) -> None:
        if self.options.on_progress is not None:
            self.options.on_progress(
                Progress(self.level, self.objective_value / self.scale, self.best_objective_bound / self.scale,
                         time.monotonic() - self.started)
            )


def _run(solver: cp_model.CpSolver, model: cp_model.CpModel, reporter: _ProgressReporter, stop: threading.Event | None) -> int:
    if stop is None:
        return int(solver.solve(model, reporter))
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            if stop.wait(0.05):
                solver.stop_search()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        return int(solver.solve(model, reporter))
    finally:
        done.set()
        watcher.join()


def search(problem: Problem, exact_slots: set[tuple[date, str]], options: SolveOptions, started: float,
           hint: dict[str, int]) -> SearchOutcome:
    """Optimise the measures in `objective.order`, fixing each level before the next."""
    plan, measures = build_model(problem, exact_slots)
    model = plan.model
    variables = [model.get_int_var_from_proto_index(i) for i in range(len(model.proto.variables))]
    for variable in variables:
        if variable.name in hint:
            model.add_hint(variable, hint[variable.name])
    outcome = SearchOutcome("UNKNOWN")
    order = problem.instance.objective_order
    for measure in order:
        remaining = options.time_limit - (time.monotonic() - started)
        if remaining <= 0.05 or (options.stop_event is not None and options.stop_event.is_set()):
            break
        expression = measures[measure]
        scale = problem.scale if measure != "plan_changes" else 1
        if measure in MAXIMISED:
            model.maximize(expression)
        else:
            model.minimize(expression)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = remaining
        solver.parameters.num_workers = options.workers
        solver.parameters.random_seed = options.seed
        status = _run(solver, model, _ProgressReporter(measure, scale, started, options), options.stop_event)
        if status == cp_model.INFEASIBLE:
            return SearchOutcome("INFEASIBLE")
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            break
        value, bound = solver.objective_value, solver.best_objective_bound
        proven = status == cp_model.OPTIMAL
        outcome.levels.append(LevelOutcome(measure, value / scale, (value if proven else bound) / scale, proven))
        outcome.status = "SOLVED"
        outcome.values = {v.name: solver.value(v) for v in variables}
        outcome.batches = read_batches(plan, solver, problem.calendar)
        # Later levels search only among schedules at least this good on this level.
        model.add(expression >= round(value)) if measure in MAXIMISED else model.add(expression <= round(value))
        model.clear_hints()
        for variable in variables:
            model.add_hint(variable, outcome.values[variable.name])
    return outcome


def solve(instance: Instance, options: SolveOptions | None = None) -> Schedule:
    """Solve an instance within the time limit; the schedule says how good and how proven it is."""
    options = options or SolveOptions()
    started = time.monotonic()
    problem = prepare(instance)
    conflicts = commitment_conflicts(problem)
    if conflicts:
        return build_schedule(problem, None, time.monotonic() - started, infeasibility=conflicts)
    exact_slots: set[tuple[date, str]] = set()
    hint: dict[str, int] = {}
    while True:
        outcome = search(problem, exact_slots, options, started, hint)
        if outcome.status != "SOLVED":
            break
        failed = assign_operators(outcome.batches, instance, problem.roster)
        if not failed:
            assign_positions(outcome.batches, problem.builder.classes)
            break
        # The aggregate team bound let through a shift no real team can cover: model it exactly.
        exact_slots.update(failed)
        hint = outcome.values
        if time.monotonic() - started >= options.time_limit:
            outcome = SearchOutcome("UNKNOWN")
            break
    return build_schedule(problem, outcome, time.monotonic() - started)
