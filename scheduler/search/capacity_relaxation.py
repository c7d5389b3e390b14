"""Bounds from the relaxation of starts, suites and staff: C1, C3, C4, C5 and C6 (issue 18).

The linear relaxation of the whole model (`relaxation.py`) is slow on the largest sites and its
bounds on the later measures weak there: on generated xl waitlist seed 1, with the weight held
at its proven 601, its solve for plan changes took 52 s and proved 3. This smaller model keeps
who is scheduled, which start and collection each takes, the daily start limit, the suite
positions and the operators' hours per date, start shift and skill (`add_operator_hours`), and
counts each start's wait days to its earliest possible delivery. It leaves out the labs (C7)
and the deliveries (C8-C10); the hospitals' chairs (C2) only its integer model has.

The operators matter most: on xl waitlist seed 4, with weight held at 626, starts and suites
alone prove 2 plan changes (their integer optimum too), and with the operators' hours 11, where
the search ends on 12-13. Their hours are stated on the start literals alone: with the whole
model's step counts per shift and Hall bounds (`add_operator_staffing`) the bound was the same
but the solves 3-12 times slower (seed 1: 27 s for weight, against 2.3 s). With those, the
chairs in the relaxation doubled its solve times, moved seed 5 from 7 plan changes to 8, and
left GLOP unable to solve for wait days; in the integer model they keep its plans collectable.

Every plan of the whole model is a plan of this one whose measures are no worse
(`measure_floors`), so a lower bound here is a lower bound there; each is made valid against
floating point by `LinearRelaxation`'s own check.
"""

from __future__ import annotations

import math
import time

from ortools.sat.python import cp_model

from scheduler.model.c01_c03_coverage_and_material import add_one_start_per_scheduled_patient
from scheduler.model.c02_apheresis_chairs import add_apheresis_chairs
from scheduler.model.c04_daily_starts import add_daily_start_limit
from scheduler.model.c05_suite_positions import add_suite_capacity
from scheduler.model.c06_operator_staffing import add_operator_hours
from scheduler.model.decode import batch_values
from scheduler.model.objective import measure_floors
from scheduler.model.variables import create_variables
from scheduler.problem.batches import Batch
from scheduler.problem.measures import MAXIMISED
from scheduler.problem.planning import PlanningProblem
from scheduler.search.memory import return_freed_memory
from scheduler.search.outcome import SolveOptions
from scheduler.search.progress import run_solver
from scheduler.search.relaxation import LinearRelaxation
from scheduler.search.solver_values import complete_values, set_hint
from scheduler.search.stages import StagedObjective


class CapacityRelaxation:
    """The linear relaxation of the starts, suites and staff model of one problem."""

    def __init__(self, problem: PlanningProblem) -> None:
        started = time.monotonic()
        plan = create_variables(problem.patients, problem.commitments, problem.builder.classes)
        add_one_start_per_scheduled_patient(plan)
        add_daily_start_limit(plan, problem.instance, problem.calendar)
        add_suite_capacity(plan)
        add_operator_hours(plan, problem.instance, problem.calendar, problem.roster)
        self.plan, self.calendar = plan, problem.calendar
        self.measures = measure_floors(plan, problem.calendar, problem.scale)
        self._linear: LinearRelaxation | None = LinearRelaxation(plan.model)
        # The chairs only after the relaxation has read the model (see above): without them
        # the integer plans of `best_starts` collected up to 77 patients more than a hospital
        # had chairs for (xl waitlist seed 5). A rebuilt relaxation leaves them out too.
        before_chairs = len(plan.model.proto.constraints)
        add_apheresis_chairs(plan, problem.instance)
        self._chairs = range(before_chairs, len(plan.model.proto.constraints))
        # While the linear relaxation is released (`release_linear`): its last solution's
        # starts, {(patient, start option, suite class): value}, if it was solved.
        self._kept_starts: dict[tuple[str, int, int], float] | None = None
        # The starts of the best plan `integer_bound`'s last solve met, if it met one.
        self.bounded_plan_starts: set[tuple[str, int, int]] | None = None
        self.build_seconds = time.monotonic() - started

    def _minimised(self, measure: str) -> cp_model.LinearExprT:
        expression = self.measures[measure]
        return -expression if measure in MAXIMISED else expression

    def lower_bound(self, measure: str, seconds: float) -> int | None:
        """A proven lower bound on the measure as the whole model minimises it (scaled, negated
        when maximised), given what is held; None if the LP did not finish in `seconds`."""
        started = time.monotonic()
        relaxation = self._linear_relaxation()
        seconds -= time.monotonic() - started  # (a rebuild comes out of the time)
        return relaxation.lower_bound(self._minimised(measure), seconds)

    def _linear_relaxation(self) -> LinearRelaxation:
        """The linear relaxation, rebuilt from the model if it was released: the same rows, as
        every level held since is in the model too, and the chairs are left out again."""
        if self._linear is None:
            self._linear = LinearRelaxation(self.plan.model, leave_out=self._chairs)
            self._kept_starts = None
        return self._linear

    def release_linear(self) -> None:
        """Give the linear relaxation's memory back until its next bound; its last solution's
        starts stay readable (`starts_used`).

        GLOP's copy of the model is the larger part of this one: about 150 MiB on generated xl
        waitlist seed 1, beside the whole model's search, whose peak is the run's.
        """
        if self._linear is None:
            return
        if self._linear.solved:
            self._kept_starts = self._solution_starts(self._linear)
        self._linear = None
        return_freed_memory()

    def _weighted(self, objective: StagedObjective) -> cp_model.LinearExpr:
        """A level's weighted objective over this model's measures."""
        return cp_model.LinearExpr.weighted_sum(
            [self._minimised(measure) for measure in objective.measures], objective.factors
        )

    def hold_stage(self, objective: StagedObjective, most: int) -> None:
        """Hold a level's weighted objective at most at `most` (its value in the whole model),
        in the relaxation and in the model `best_starts` solves.

        Valid because each measure here is at most the whole model's on the same starts and
        every factor is positive.
        """
        weighted = self._weighted(objective)
        self._hold_linear(weighted, most)
        self.plan.model.add(weighted <= most)

    def hold_measure(self, measure: str, most: int) -> None:
        """Hold one measure (minimised, scaled) at most at `most`."""
        minimised = self._minimised(measure)
        self._hold_linear(minimised, most)
        self.plan.model.add(minimised <= most)

    def _hold_linear(self, expression: cp_model.LinearExprT, most: int) -> None:
        """The row in the linear relaxation; a released one reads it from the model when rebuilt."""
        if self._linear is not None:
            self._linear.hold_at_most(expression, most)
        self._kept_starts = None  # the last solution may break the new row

    def best_starts(
        self,
        objective: StagedObjective,
        seconds: float,
        options: SolveOptions,
        start: list[Batch] | None = None,
    ) -> set[tuple[str, int, int]] | None:
        """The starts of the best integer plan of this model for a level found in `seconds`
        (levels held as fixed, searching from the valid plan `start`), or None if none was found.

        No plan of the whole model is better on this model's measures, and one usually lies
        near it: on generated xl waitlist seed 4 (plan changes bounded by 11) a dive between
        it and the level's current plan, with 155 plan changes, found a valid plan with 13 in
        42 s. Without `start` CP-SAT found no plan of this model at all in 18 s there.
        """
        deadline = time.monotonic() + seconds
        self.plan.model.minimize(self._weighted(objective))
        if start is not None:
            # A valid plan of the whole model is one of this model: the search starts from it.
            decisions = batch_values(self.plan, start, self.calendar)
            completed = complete_values(self.plan.model, decisions, max(0.1, seconds * 0.2))
            if completed is not None:
                set_hint(self.plan.model, completed)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.1, deadline - time.monotonic())
        solver.parameters.num_workers = options.workers
        solver.parameters.random_seed = options.seed
        status = run_solver(solver, self.plan.model, None, options.stop_event)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        return self._starts_of(solver)

    def _starts_of(self, solver: cp_model.CpSolver) -> set[tuple[str, int, int]]:
        """The (patient, start option, suite class) keys of a solve's plan."""
        return {
            key
            for key, literal in self.plan.start_in_class.items()
            if solver.boolean_value(literal)
        }

    def integer_bound(
        self, measure: str, seconds: float, options: SolveOptions, reach: int | None = None
    ) -> int | None:
        """CP-SAT's proven lower bound on a measure (minimised, scaled) over this model's integer
        plans, chairs included, given what is held; it stops early once the bound reaches `reach`.

        Tighter than the linear relaxation where whole starts matter: on generated xl waitlist
        seed 5, with weight held at 629, the LP bounds plan changes at 7 (8 with the chairs) and
        this at 10 in 15 s. Its LP-based tree search proves that; CP-SAT's default workers, busy
        finding plans, had not moved the bound above 7 in 150 s. The starts of the best plan it
        met are kept in `bounded_plan_starts`.
        """
        minimised = self._minimised(measure)
        model = self.plan.model
        model.minimize(minimised)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.1, seconds)
        solver.parameters.num_workers = options.workers
        solver.parameters.random_seed = options.seed
        if options.workers > 1:
            solver.parameters.subsolvers.append("lb_tree_search")
            solver.parameters.subsolvers.append("max_lp")
        else:
            solver.parameters.optimize_with_lb_tree_search = True
        if reach is not None:

            def stop_on_reaching(bound: float) -> None:
                if bound >= reach - 1e-6:
                    solver.stop_search()

            solver.best_bound_callback = stop_on_reaching
        status = run_solver(solver, model, None, options.stop_event)
        self.bounded_plan_starts = (
            self._starts_of(solver) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None
        )
        if status in (cp_model.INFEASIBLE, cp_model.MODEL_INVALID):
            return None  # (the held levels come from a valid plan: never expected)
        bound = solver.best_objective_bound
        if not math.isfinite(bound):
            return None
        # The objective has integer coefficients: its bound is integral up to rounding.
        return math.ceil(bound - 1e-6)

    @property
    def released(self) -> bool:
        """Whether the linear relaxation is released (`release_linear`) until its next bound."""
        return self._linear is None

    @property
    def solved(self) -> bool:
        """Whether the last solve ended optimal (its starts can be read)."""
        if self._linear is None:
            return self._kept_starts is not None
        return self._linear.solved

    def starts_used(self, at_least: float) -> set[tuple[str, int, int]]:
        """The (patient, start option, suite class) the last solution gives at least `at_least`
        (above 0)."""
        if self._linear is None:
            starts = self._kept_starts or {}
        else:
            starts = self._solution_starts(self._linear)
        return {key for key, value in starts.items() if value >= at_least}

    def _solution_starts(self, relaxation: LinearRelaxation) -> dict[tuple[str, int, int], float]:
        """The starts a solved relaxation uses at all, with their values."""
        return {
            key: value
            for key, variable in self.plan.start_in_class.items()
            if (value := relaxation.value(variable)) > 0
        }
