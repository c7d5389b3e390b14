"""Solve an instance: build the CP-SAT model, optimise the measures lexicographically, build the schedule."""

from __future__ import annotations

import math
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
from scheduler.constraints.operators import ShiftLoad, add_exact_shift_team, add_operator_staffing
from scheduler.constraints.qc import add_qc_capacity
from scheduler.constraints.starts import add_daily_start_limit
from scheduler.constraints.suites import add_suite_capacity
from scheduler.diagnose import diagnose_commitments
from scheduler.extract import (
    Batch,
    assign_operators,
    assign_positions,
    batch_values,
    drop_unstaffable,
    read_batches,
)
from scheduler.greedy import greedy_batches
from scheduler.objective import MAXIMISED, NEVER_NEGATIVE, measure_expressions, weight_scale
from scheduler.options import Commitment, OptionBuilder, PatientOptions
from scheduler.report import build_schedule, commitment_conflicts, measure_values
from scheduler.roster import Roster
from scheduler.variables import PlanVariables, create_variables

# Below this many model variables CP-SAT's presolve probing costs more than it saves: on every
# m, l and xl normal/holidays model measured it took 20-70 % of the time to prove all levels;
# on the xl overload sites (about 40 k variables) it pays for itself (docs/PERFORMANCE.md).
PROBING_PAYS_FROM = 30_000
# Below this many model variables (the m sites) one presolve round finds nearly all a second
# would, and the search is short enough for the second round to be a quarter of the solve.
FURTHER_PRESOLVE_PAYS_FROM = 10_000
# From this many model variables the search starts from the greedy plan, and a search again
# after a team repair from the rejected solution (solution hints). Below it, CP-SAT's
# LP-guided search reaches the optimum 10-60 % sooner without one: a hint draws its first
# descent and its neighbourhoods towards the hinted plan (docs/PERFORMANCE.md).
GREEDY_HINT_PAYS_FROM = 10_000
# From this many model variables (the overloaded xl sites) the first measure is optimised alone
# before the others, with this share of the search time unless proven sooner: its neighbourhood
# search climbs several times faster without the later measures in the objective (xl overload
# seed 1: 426 scheduled weight at 79 s against 413 at 115 s weighted together; docs/PERFORMANCE.md).
FIRST_MEASURE_ALONE_FROM = 30_000
FIRST_MEASURE_SHARE = 0.7
# Seconds into a solve before its incumbent's teams are first checked (then every quarter of
# the time run so far): quicker solves are checked once, when they end.
FIRST_TEAM_CHECK = 3.0


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
    # A plan to start from instead of the greedy one when it is at least as good (a re-plan
    # starts from the previous schedule); returning None means "use the greedy plan".
    start_batches: Callable[[PlanningProblem], list[Batch] | None] | None = None


@dataclass
class LevelOutcome:
    """What the search reached on one measure."""

    measure: str
    value: float | None = None
    bound: float | None = None
    proven: bool = False
    seconds: float = (
        0.0  # wall time spent on this level (measures solved together: all on the first)
    )
    first_solution_seconds: float | None = None  # since the solve started
    team_repairs: int = 0  # shifts that needed the exact team model


@dataclass
class SearchOutcome:
    """The result of the lexicographic search over one model."""

    status: str  # "SOLVED", "INFEASIBLE" or "UNKNOWN"
    levels: list[LevelOutcome] = field(default_factory=list)
    batches: list[Batch] = field(default_factory=list)
    first_schedule_seconds: float | None = None  # when a valid schedule was first in hand


@dataclass
class PlanningProblem:
    """The pieces every model of one instance shares."""

    instance: Instance
    calendar: SiteCalendar
    roster: Roster
    builder: OptionBuilder
    patients: list[PatientOptions]
    commitments: list[Commitment]
    scale: int


def prepare(instance: Instance) -> PlanningProblem:
    """Enumerate every patient's options and the in-progress commitments."""
    calendar = SiteCalendar(instance)
    roster = Roster(instance)
    builder = OptionBuilder(instance, calendar, roster)
    patients = [builder.patient_options(patient) for patient in instance.patients]
    commitments = [builder.commitment(batch) for batch in instance.in_progress]
    scale = weight_scale([patient.weight for patient in instance.patients])
    return PlanningProblem(instance, calendar, roster, builder, patients, commitments, scale)


def build_model(
    problem: PlanningProblem, skip: frozenset[str] = frozenset()
) -> tuple[PlanVariables, dict[str, cp_model.LinearExprT], dict[tuple[date, str], ShiftLoad]]:
    """The CP-SAT model of rules C1–C11, the measure expressions and each shift's step load.

    `skip` leaves out shared-capacity rule families ("C4", "C6", "C7"): only to diagnose what
    makes commitments impossible.
    """
    plan = create_variables(problem.patients, problem.commitments, problem.builder.classes)
    add_one_start_per_scheduled_patient(plan)
    add_apheresis_chairs(plan, problem.instance)
    if "C4" not in skip:
        add_daily_start_limit(plan, problem.instance, problem.calendar)
    add_suite_capacity(plan)
    shift_loads = add_operator_staffing(
        plan, problem.instance, problem.calendar, problem.roster, bounded="C6" not in skip
    )
    add_qc_capacity(plan, problem.instance, capped="C7" not in skip)
    add_release_and_delivery(plan, problem.calendar)
    return plan, measure_expressions(plan, problem.calendar, problem.scale), shift_loads


class _ProgressReporter(cp_model.CpSolverSolutionCallback):
    def __init__(
        self,
        objective: _Objective,
        started: float,
        options: SolveOptions,
        known_bound: float | None,
        staffable: Callable[[cp_model.CpSolverSolutionCallback], bool | None] | None = None,
    ) -> None:
        super().__init__()
        self.objective, self.started, self.options = objective, started, options
        self.known_bound = known_bound
        self.first_solution: float | None = None
        self.staffable = staffable
        self.solve_started = time.monotonic()
        self.next_team_check = FIRST_TEAM_CHECK
        self.rejected = False  # stopped because the incumbent had a shift no team could staff

    def on_solution_callback(self) -> None:
        if self.first_solution is None:
            self.first_solution = time.monotonic() - self.started
        if self.known_bound is not None and round(self.objective_value) == round(self.known_bound):
            self.stop_search()  # a bound proven before a team repair is reached: optimal again
        self._check_teams()
        if self.options.on_progress is not None:
            objective = self.objective
            values = [round(self.value(expression)) for expression in objective.expressions]
            bounds = objective.bounds(values, self.best_objective_bound)
            # The first measure not proven yet is the one the search is working on.
            at = next(
                (i for i, (v, b) in enumerate(zip(values, bounds, strict=True)) if b < v),
                len(values) - 1,
            )
            self.options.on_progress(
                Progress(
                    objective.measures[at],
                    objective.reported(at, values[at]),
                    objective.reported(at, bounds[at]),
                    time.monotonic() - self.started,
                )
            )

    def _check_teams(self) -> None:
        # A long search checks its incumbent's teams now and then: a valid one is kept in case
        # the last has a shift no team can staff and no time is left to repair it; a rejected
        # one stops the search (to model its shifts exactly) only while no valid one was seen,
        # as a restart costs a presolve, many seconds on the largest sites.
        running = time.monotonic() - self.solve_started
        if self.staffable is None or self.rejected or running < self.next_team_check:
            return
        self.next_team_check = running + max(FIRST_TEAM_CHECK, 0.25 * running)
        if self.staffable(self) is False:
            self.rejected = True
            self.stop_search()


def _run(
    solver: cp_model.CpSolver,
    model: cp_model.CpModel,
    reporter: _ProgressReporter,
    stop: threading.Event | None,
) -> int:
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


def _level_budget(
    remaining: float, levels_left: int, have_schedule: bool, first_alone: bool
) -> float:
    # An unproven level must not starve the ones after it; without any schedule yet, take it all.
    if levels_left == 1 or not have_schedule:
        return remaining
    return remaining * (FIRST_MEASURE_SHARE if first_alone else 0.5)


def _complete(
    model: cp_model.CpModel, decisions: dict[int, int], seconds: float
) -> dict[int, int] | None:
    """Every variable's value given the decisions (the rest follows from them), or None."""
    solver = _solve_fixed(model, decisions, seconds)
    return None if solver is None else _values(solver)


def _values(solver: cp_model.CpSolver) -> dict[int, int]:
    # The response lists every variable's value by proto index: one copy, no call per variable.
    return dict(enumerate(solver.response_proto.solution))


def _solve_fixed(
    model: cp_model.CpModel,
    decisions: dict[int, int],
    seconds: float,
    also: cp_model.BoundedLinearExpression | bool | None = None,
) -> cp_model.CpSolver | None:
    """A feasible completion of the model with these variables fixed (same variable indices), or None.

    `also` is one more constraint for this solve only.
    """
    fixed = model.clone()
    fixed.clear_objective()  # type: ignore[no-untyped-call]
    fixed.clear_hints()  # type: ignore[no-untyped-call]
    if also is not None:
        fixed.add(also)
    for index, value in decisions.items():
        domain = fixed.proto.variables[index].domain
        domain.clear()
        domain.extend([value, value])
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = seconds
    if solver.solve(fixed) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return solver


def _hint(model: cp_model.CpModel, values: dict[int, int]) -> None:
    model.clear_hints()  # type: ignore[no-untyped-call]
    # Written straight into the proto: add_hint per variable costs seconds on the largest sites.
    hint = model.proto.solution_hint
    hint.vars.extend(values.keys())
    hint.values.extend(values.values())


def _better(problem: PlanningProblem, first: list[Batch], second: list[Batch]) -> bool:
    """Whether one plan beats another lexicographically on the instance's measures."""
    a, b = measure_values(problem, first), measure_values(problem, second)
    for measure in problem.instance.objective_order:
        if a[measure] != b[measure]:
            return (a[measure] > b[measure]) == (measure in MAXIMISED)
    return False


@dataclass(frozen=True)
class _Objective:
    """What one solve minimises: one measure, or the last measures of the order weighted lexicographically.

    Every measure is minimised (a maximised one negated). Each factor exceeds the whole range of
    the weighted measures after it, so the weighted sum orders solutions exactly as the
    lexicographic order does: one solve (one presolve, one search) instead of one per measure.
    """

    measures: tuple[str, ...]
    expressions: tuple[
        cp_model.LinearExprT, ...
    ]  # each measure's expression, negated when maximised
    factors: tuple[int, ...]
    lowest: tuple[int, ...]  # each expression's smallest value over the variable domains
    highest: tuple[int, ...]  # each expression's largest value over the variable domains
    scales: tuple[int, ...]  # each measure's weight scale
    span: int  # how far apart the weighted sum's smallest and largest values are

    @property
    def expression(self) -> cp_model.LinearExpr:
        """The weighted sum to minimise."""
        return cp_model.LinearExpr.weighted_sum(self.expressions, self.factors)

    def bounds(self, values: list[int], bound: float) -> list[int]:
        """Each measure's lower bound, given a lower bound of the weighted sum and a solution's values.

        A measure's bound holds for every schedule at least as good as `values` on the measures
        before it (the lexicographic reading of a level's bound); at the optimum it equals the value.
        """
        result = []
        for i, factor in enumerate(self.factors):
            before = sum(f * v for f, v in zip(self.factors[:i], values[:i], strict=True))
            after = sum(
                f * h for f, h in zip(self.factors[i + 1 :], self.highest[i + 1 :], strict=True)
            )
            derived = -((before + after - math.ceil(bound - 1e-6)) // factor)  # ceil division
            # Far from the optimum the derived bound is weaker than the obvious one.
            floor = max(self.lowest[i], 0) if self.measures[i] in NEVER_NEGATIVE else self.lowest[i]
            result.append(max(derived, floor))
        return result

    def reported(self, i: int, value: float) -> float:
        """A value of measure `i` as the schedule states it (sign and weight scale restored)."""
        sign = -1 if self.measures[i] in MAXIMISED else 1
        return sign * value / self.scales[i]


def _objective(
    model: cp_model.CpModel,
    measures: list[str],
    expressions: dict[str, cp_model.LinearExprT],
    scales: dict[str, int],
) -> _Objective:
    minimised = tuple(-expressions[m] if m in MAXIMISED else expressions[m] for m in measures)
    ranges = [_range(model, expression) for expression in minimised]
    factors = [1]
    for lowest, highest in reversed(ranges[1:]):
        factors.insert(0, factors[0] * (highest - lowest + 1))
    span = factors[0] * (ranges[0][1] - ranges[0][0] + 1)
    return _Objective(
        tuple(measures),
        minimised,
        tuple(factors),
        tuple(lo for lo, _ in ranges),
        tuple(h for _, h in ranges),
        tuple(scales[m] for m in measures),
        span,
    )


def _range(model: cp_model.CpModel, expression: cp_model.LinearExprT) -> tuple[int, int]:
    """The smallest and largest value of a linear expression over its variables' domains."""
    if not isinstance(expression, cp_model.LinearExpr):
        return int(expression), int(expression)
    flat = cp_model.FlatIntExpr(expression)
    lowest = highest = flat.offset
    for variable, coefficient in zip(flat.vars, flat.coeffs, strict=True):
        domain = list(
            model.proto.variables[variable.index].domain
        )  # (the proto's own list has no [-1])
        ends = (coefficient * domain[0], coefficient * domain[-1])
        lowest, highest = lowest + min(ends), highest + max(ends)
    return lowest, highest


def _stages(
    order: list[str],
    model: cp_model.CpModel,
    expressions: dict[str, cp_model.LinearExprT],
    scales: dict[str, int],
    first_alone: bool,
) -> list[_Objective]:
    """Every measure weighted into one objective (or the first alone, then the rest);
    one measure at a time if the weights would get too large."""
    together = _objective(model, order, expressions, scales)
    if together.span < 2**50:
        if first_alone and len(order) > 1:
            return [
                _objective(model, order[:1], expressions, scales),
                _objective(model, order[1:], expressions, scales),
            ]
        return [together]
    return [_objective(model, [m], expressions, scales) for m in order]


@dataclass
class _Level:
    """The state of the search on one stage of the objective."""

    objective: _Objective
    started: float
    budget: float
    first_solution: float | None = None
    provisional: list[Batch] | None = (
        None  # the best valid plan met so far: a checked incumbent or a repair
    )
    known_bound: float | None = None  # proven before a team repair, so still valid after it
    repairs: int = 0
    checked_valid: bool = False  # an incumbent passed the team check during the search
    interrupted: bool = False  # the last solve was stopped early by a rejected incumbent


@dataclass
class _Solved:
    """A solution that passed the exact team check."""

    objective: float
    status: int
    batches: list[Batch]
    values: dict[int, int]  # every model variable
    measured: list[int]  # each expression of the level's objective


class _Search:
    """The lexicographic search over one model (see `search`)."""

    def __init__(self, problem: PlanningProblem, options: SolveOptions, started: float) -> None:
        self.problem, self.options, self.started = problem, options, started
        self.plan, self.measures, self.shift_loads = build_model(problem)
        self.model = self.plan.model
        # The model's size as built (team repairs add a little): what the size-dependent choices go by.
        self.size = len(self.model.proto.variables)
        self.exact: set[tuple[date, str]] = set()
        batches_count = len(problem.patients) + len(problem.commitments)
        # Kept back for checking teams, building the schedule and its explanations afterwards.
        self.search_limit = options.time_limit * 0.97 - 0.2 - 0.005 * batches_count
        # A solve too short to get through presolve of a large model only wastes the time.
        self.too_short = min(2.0, 0.05 + 0.002 * batches_count)
        self.outcome = SearchOutcome("UNKNOWN")

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stopped(self) -> bool:
        return self.options.stop_event is not None and self.options.stop_event.is_set()

    def start_plan(self) -> list[Batch] | None:
        """The greedy plan, or the caller's starting plan (`SolveOptions.start_batches`) unless the greedy one beats it."""
        greedy = greedy_batches(self.problem)
        start = (
            self.options.start_batches(self.problem)
            if self.options.start_batches is not None
            else None
        )
        if start is None or (greedy is not None and _better(self.problem, greedy, start)):
            return greedy
        return start

    def run(self) -> SearchOutcome:
        greedy = self.start_plan()
        if greedy is not None:
            self.outcome = SearchOutcome("SOLVED", [], greedy, self.elapsed())
            if self.size >= GREEDY_HINT_PAYS_FROM:
                decisions = batch_values(self.plan, greedy, self.problem.calendar)
                completed = _complete(
                    self.model, decisions, max(1.0, self.options.time_limit * 0.1)
                )
                if completed is not None:
                    _hint(self.model, completed)
        scales = {m: self.problem.scale if m != "plan_changes" else 1 for m in self.measures}
        first_alone = self.size >= FIRST_MEASURE_ALONE_FROM
        stages = _stages(
            list(self.problem.instance.objective_order),
            self.model,
            self.measures,
            scales,
            first_alone,
        )
        for position, objective in enumerate(stages):
            self.model.minimize(objective.expression)
            budget = _level_budget(
                self.search_limit - self.elapsed(),
                len(stages) - position,
                self.outcome.status == "SOLVED",
                first_alone and len(stages) == 2,
            )
            level = _Level(objective, time.monotonic(), budget)
            solved = self._solve_level(level, first=position == 0, last=position == len(stages) - 1)
            if solved is None:
                return self.outcome
            self._fix_level(level, solved)
        return self.outcome

    def _solve_level(self, level: _Level, first: bool, last: bool) -> _Solved | None:
        """Solve until a solution passes the exact team check; None when time runs out first."""
        while True:
            remaining = level.budget - (time.monotonic() - level.started)
            if remaining <= 0.05:
                # Out of this level's share (a team repair ate the time): its best valid plan
                # leaves the later measures their time; without one they could not start anyway.
                if (
                    not last
                    and (kept := self._plan_as_solved(level, level.provisional)) is not None
                ):
                    return kept
                remaining = self.search_limit - self.elapsed()
            too_short = self.too_short if self.outcome.status == "SOLVED" else 0.05
            if remaining <= too_short or self.stopped():
                self._keep_provisional(level)
                return None
            solver, status = self._solve_once(level, remaining)
            if status == cp_model.INFEASIBLE and not self.outcome.levels:
                self.outcome = SearchOutcome("INFEASIBLE")
                return None
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                continue  # nothing yet within this level's share: go on with what is left
            if (
                status != cp_model.OPTIMAL
                and first
                and not level.interrupted
                and (start := self._start_plan_if_better(level, solver))
            ):
                return start  # out of time (not stopped by a team check) on a plan worse than the start
            batches = read_batches(self.plan, solver, self.problem.calendar)
            failed = assign_operators(batches, self.problem.instance, self.problem.roster)
            if not failed:
                return self._solved(level, solver, status, batches, solver)
            self._repair_teams(level, solver, batches, failed, first)
            if level.interrupted and status != cp_model.OPTIMAL:
                # Stopped early with time left: the search goes on, now with those shifts exact.
                level.interrupted = False
                continue
            repaired = self._repair_nearby(level, solver, batches, failed)
            if repaired is not None:
                return self._solved(level, solver, status, *repaired)

    def _start_plan_if_better(self, level: _Level, solver: cp_model.CpSolver) -> _Solved | None:
        """The starting plan (or a better valid one met in the search) when time ran out on a worse solution.

        Small models are searched without the starting plan as a hint, so an unfinished search
        may hold a worse plan than the greedy (or previous) one; the schedule never is.
        """
        start = self.outcome.batches
        if level.provisional is not None and (
            not start or _better(self.problem, level.provisional, start)
        ):
            start = level.provisional
        if (
            not start
            or self.outcome.levels
            or not _better(
                self.problem, start, read_batches(self.plan, solver, self.problem.calendar)
            )
        ):
            return None
        return self._plan_as_solved(level, start)

    def _plan_as_solved(self, level: _Level, batches: list[Batch] | None) -> _Solved | None:
        """A valid plan (teams assigned) as an unproven result of the level."""
        if batches is None:
            return None
        fixed = _solve_fixed(
            self.model, batch_values(self.plan, batches, self.problem.calendar), 3.0
        )
        if fixed is None:
            return None
        measured = [round(fixed.value(expression)) for expression in level.objective.expressions]
        objective = sum(f * v for f, v in zip(level.objective.factors, measured, strict=True))
        return _Solved(objective, int(cp_model.FEASIBLE), batches, _values(fixed), measured)

    def _solved(
        self,
        level: _Level,
        solver: cp_model.CpSolver,
        status: int,
        batches: list[Batch],
        valid: cp_model.CpSolver,
    ) -> _Solved:
        """The level's result: the objective and status of `solver`, reached by the valid solution `valid`."""
        measured = [round(valid.value(expression)) for expression in level.objective.expressions]
        return _Solved(solver.objective_value, status, batches, _values(valid), measured)

    def _repair_nearby(
        self,
        level: _Level,
        solver: cp_model.CpSolver,
        batches: list[Batch],
        failed: list[tuple[date, str]],
    ) -> tuple[list[Batch], cp_model.CpSolver] | None:
        """The rejected solution made staffable by changing little of it, at the same objective value.

        First only the shifts of flexible steps move (every other choice kept); then the patients
        working on the dates of the unstaffable shifts, and those not scheduled, may change too.
        The measure stays at the rejected solution's value, so the proof of the level still holds.
        """
        days = {day for day, _ in failed}
        touching = {
            b.patient_id
            for b in batches
            if not b.in_progress and any(s.date in days for s in b.steps)
        }
        unscheduled = {p for p, v in self.plan.scheduled.items() if not solver.value(v)}
        for free in (set(), touching | unscheduled):
            for _ in range(3):  # a move may overload another shift: model it exactly and try again
                moved = self._solve_around(level, solver, free)
                if moved is None:
                    break
                batches = read_batches(self.plan, moved, self.problem.calendar)
                failed = assign_operators(batches, self.problem.instance, self.problem.roster)
                if not failed:
                    return batches, moved
                self._model_shifts_exactly(level, failed)
        return None

    def _solve_around(
        self, level: _Level, solver: cp_model.CpSolver, free: set[str]
    ) -> cp_model.CpSolver | None:
        """A solution keeping every choice of `solver` but those of the `free` patients and the step shifts."""
        plan = self.plan
        kept: list[cp_model.IntVar] = [plan.scheduled[p] for p in plan.scheduled if p not in free]
        kept += [v for (p, _, _), v in plan.start_in_class.items() if p not in free]
        kept += [v for (p, _), v in plan.apheresis_on.items() if p not in free]
        kept += [v for p, v in plan.delivery_day.items() if p not in free]
        kept += [
            c
            for (p, _), days in plan.assay_start.items()
            if p not in free
            for c in days.values()
            if isinstance(c, cp_model.IntVar)
        ]
        seconds = min(5.0, max(0.5, self.search_limit - self.elapsed()))
        same = level.objective.expression <= round(solver.objective_value)
        return _solve_fixed(self.model, {v.index: solver.value(v) for v in kept}, seconds, same)

    def _solve_once(self, level: _Level, seconds: float) -> tuple[cp_model.CpSolver, int]:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = seconds
        solver.parameters.num_workers = self.options.workers
        solver.parameters.random_seed = self.options.seed
        solver.parameters.extra_subsolvers.append("max_lp")  # first pick with 2 workers
        if self.size < PROBING_PAYS_FROM:
            solver.parameters.cp_model_probing_level = 0
        if self.size < FURTHER_PRESOLVE_PAYS_FROM:
            solver.parameters.max_presolve_iterations = 1
        reporter = _ProgressReporter(
            level.objective,
            self.started,
            self.options,
            level.known_bound,
            lambda incumbent: self._incumbent_staffable(level, incumbent),
        )
        status = _run(solver, self.model, reporter, self.options.stop_event)
        level.interrupted = reporter.rejected
        if level.first_solution is None:
            level.first_solution = reporter.first_solution
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            bound = solver.best_objective_bound
            if level.known_bound is not None:
                bound = max(bound, level.known_bound)
            level.known_bound = bound
            if round(solver.objective_value) == round(bound):
                status = int(cp_model.OPTIMAL)
        return solver, status

    def _incumbent_staffable(
        self, level: _Level, incumbent: cp_model.CpSolverSolutionCallback
    ) -> bool | None:
        """Check a solution met during the search (C6): kept as a fallback if valid.

        False (stop and repair) for an unstaffable one while none valid was seen in this
        level, None (search on) once one was.
        """
        batches = read_batches(self.plan, incumbent, self.problem.calendar)
        if assign_operators(batches, self.problem.instance, self.problem.roster):
            return None if level.checked_valid else False
        level.checked_valid = True
        self._offer_provisional(level, batches)
        return True

    def _offer_provisional(self, level: _Level, batches: list[Batch]) -> None:
        """Keep a valid plan for the level if it beats the one kept so far."""
        if level.provisional is None or _better(self.problem, batches, level.provisional):
            level.provisional = batches

    def _repair_teams(
        self,
        level: _Level,
        solver: cp_model.CpSolver,
        batches: list[Batch],
        failed: list[tuple[date, str]],
        first: bool,
    ) -> None:
        """Model the shifts no team could staff exactly, and search again from the rejected solution."""
        variables_before = len(self.model.proto.variables)
        if first:
            # Until the level is solved again, a plan without the patients no team can take
            # is a valid fallback, usually far better than the first-come-first-served one.
            repaired = drop_unstaffable(batches, failed, self.problem.instance, self.problem.roster)
            if repaired is not None:
                self._offer_provisional(level, repaired)
        self._model_shifts_exactly(level, failed)
        if self.size >= GREEDY_HINT_PAYS_FROM:
            # The rejected solution is one shift away from valid: the best place to search from.
            _hint(self.model, {i: v for i, v in _values(solver).items() if i < variables_before})
        else:
            self.model.clear_hints()  # type: ignore[no-untyped-call]  # small models: faster from scratch, as above

    def _model_shifts_exactly(self, level: _Level, failed: list[tuple[date, str]]) -> None:
        """C6 exactly (per operator) on shifts no team could staff."""
        for slot in failed:
            if slot not in self.exact:
                self.exact.add(slot)
                level.repairs += 1
                add_exact_shift_team(
                    self.model, self.shift_loads[slot], self.problem.roster, self.problem.instance
                )

    def _keep_provisional(self, level: _Level) -> None:
        """When time runs out on a level, keep the best valid plan met in it if it beats what we have."""
        provisional, outcome = level.provisional, self.outcome
        if provisional is None or (
            outcome.batches and not _better(self.problem, provisional, outcome.batches)
        ):
            return
        objective = level.objective
        measure = objective.measures[0]
        value = measure_values(self.problem, provisional)[measure]
        bound = value
        if level.known_bound is not None:  # the first measure's bound needs no values of the others
            bound = objective.reported(
                0, objective.bounds([0] * len(objective.measures), level.known_bound)[0]
            )
        outcome.levels.append(LevelOutcome(measure, value, bound, False))
        outcome.status, outcome.batches = "SOLVED", provisional

    def _fix_level(self, level: _Level, solved: _Solved) -> None:
        """Record the level's measures and constrain later levels to schedules at least this good on them."""
        _hint(self.model, solved.values)
        objective = level.objective
        bound = (
            solved.objective
            if solved.status == cp_model.OPTIMAL or level.known_bound is None
            else level.known_bound
        )
        bounds = objective.bounds(solved.measured, bound)
        seconds = time.monotonic() - level.started
        for i, measure in enumerate(objective.measures):
            self.outcome.levels.append(
                LevelOutcome(
                    measure,
                    objective.reported(i, solved.measured[i]),
                    objective.reported(i, bounds[i]),
                    bounds[i] == solved.measured[i],
                    seconds if i == 0 else 0.0,
                    level.first_solution,
                    level.repairs if i == 0 else 0,
                )
            )
        self.outcome.status, self.outcome.batches = "SOLVED", solved.batches
        if self.outcome.first_schedule_seconds is None:
            self.outcome.first_schedule_seconds = self.elapsed()
        self.model.add(objective.expression <= round(solved.objective))


def search(problem: PlanningProblem, options: SolveOptions, started: float) -> SearchOutcome:
    """Optimise the measures in `objective.order`, weighted lexicographically into one objective.

    On the largest models the first measure is optimised alone first, then the others with it
    held. The first-come-first-served plan is the floor (the answer if the search finds nothing
    better in time) and, from 10 k model variables, the starting point. After every solve the
    teams are assigned exactly; a shift the aggregate bound let through without a possible team
    is modelled exactly and the level is solved again, so a level is fixed only at a value a
    valid schedule reaches.
    """
    return _Search(problem, options, started).run()


def solve(instance: Instance, options: SolveOptions | None = None) -> Schedule:
    """Solve an instance within the time limit; the schedule says how good and how proven it is."""
    options = options or SolveOptions()
    started = time.monotonic()
    problem = prepare(instance)
    conflicts = commitment_conflicts(problem)
    if conflicts:
        return build_schedule(problem, None, time.monotonic() - started, infeasibility=conflicts)
    outcome = search(problem, options, started)
    if outcome.status == "INFEASIBLE":
        remaining = max(2.0, options.time_limit - (time.monotonic() - started))
        return build_schedule(
            problem,
            outcome,
            time.monotonic() - started,
            infeasibility=diagnose_commitments(problem, min(remaining, 30.0)) or None,
        )
    if outcome.status == "SOLVED":
        assign_positions(outcome.batches, problem.builder.classes)
    return build_schedule(problem, outcome, time.monotonic() - started)
