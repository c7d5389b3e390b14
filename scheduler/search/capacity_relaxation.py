"""Bounds from the relaxation of starts and suites alone: C1's one start, C4 and C5 (issue 18).

The linear relaxation of the whole model (`relaxation.py`) is slow on the largest sites and its
bounds on the later measures weak there: on generated xl waitlist seed 1, with the weight held
at its proven 601, its solve for plan changes took 52 s and proved 3. This smaller model keeps
only who is scheduled, which start each takes, the daily start limit and the suite positions,
and counts each start's wait days to its earliest possible delivery. Its relaxation proves 11
plan changes there in under a second, and wait days 17,183 with 30 changes held, where the
per-patient floors (`structural_bounds`) prove 14,047 (the plan: 18,247).

Every plan of the whole model is a plan of this one whose measures are no worse
(`measure_floors`), so a lower bound here is a lower bound there; each is made valid against
floating point by `LinearRelaxation`'s own check.
"""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from scheduler.model.c01_c03_coverage_and_material import add_one_start
from scheduler.model.c04_daily_starts import add_daily_start_limit
from scheduler.model.c05_suite_positions import add_suite_capacity
from scheduler.model.objective import measure_floors
from scheduler.model.variables import create_start_variables
from scheduler.problem.measures import MAXIMISED
from scheduler.problem.planning import PlanningProblem
from scheduler.search.outcome import SolveOptions
from scheduler.search.progress import run_solver
from scheduler.search.relaxation import LinearRelaxation
from scheduler.search.stages import StagedObjective


class CapacityRelaxation:
    """The linear relaxation of the starts-and-suites model of one problem."""

    def __init__(self, problem: PlanningProblem) -> None:
        started = time.monotonic()
        plan = create_start_variables(
            problem.patients, problem.commitments, problem.builder.classes
        )
        for options in problem.patients:
            add_one_start(plan, options)
        add_daily_start_limit(plan, problem.instance, problem.calendar)
        add_suite_capacity(plan)
        self.plan = plan
        self.measures = measure_floors(plan, problem.calendar, problem.scale)
        self.relaxation = LinearRelaxation(plan.model)
        self.build_seconds = time.monotonic() - started

    def _minimised(self, measure: str) -> cp_model.LinearExprT:
        expression = self.measures[measure]
        return -expression if measure in MAXIMISED else expression

    def lower_bound(self, measure: str, seconds: float) -> int | None:
        """A proven lower bound on the measure as the whole model minimises it (scaled, negated
        when maximised), given what is held; None if the LP did not finish in `seconds`."""
        return self.relaxation.lower_bound(self._minimised(measure), seconds)

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
        self.relaxation.hold_at_most(weighted, most)
        self.plan.model.add(weighted <= most)

    def hold_measure(self, measure: str, most: int) -> None:
        """Hold one measure (minimised, scaled) at most at `most`."""
        minimised = self._minimised(measure)
        self.relaxation.hold_at_most(minimised, most)
        self.plan.model.add(minimised <= most)

    def best_starts(
        self,
        objective: StagedObjective,
        seconds: float,
        options: SolveOptions,
    ) -> set[tuple[str, int, int]] | None:
        """The starts of the best integer plan of this model for a level found in `seconds`
        (levels held as fixed), or None if none was found.

        No plan of the whole model is better on this model's measures, and one usually lies
        near it: on generated xl waitlist seed 1 (plan changes bounded by 11) a dive between
        it and the level's current plan, with 171 plan changes, found a valid plan with 14 in
        31 s, where the whole model's search had ended on 21-30 after minutes.
        """
        self.plan.model.minimize(self._weighted(objective))
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.1, seconds)
        solver.parameters.num_workers = options.workers
        solver.parameters.random_seed = options.seed
        status = run_solver(solver, self.plan.model, None, options.stop_event)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        return {
            key
            for key, literal in self.plan.start_in_class.items()
            if solver.boolean_value(literal)
        }

    @property
    def solved(self) -> bool:
        """Whether the last solve ended optimal (its starts can be read)."""
        return self.relaxation.solved

    def starts_used(self, at_least: float) -> set[tuple[str, int, int]]:
        """The (patient, start option, suite class) the last solution gives at least `at_least`."""
        return {
            key
            for key, variable in self.plan.start_in_class.items()
            if self.relaxation.value(variable) >= at_least
        }
