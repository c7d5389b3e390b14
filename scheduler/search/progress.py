"""Progress reports during a solve, the periodic team check of the incumbent, and stopping on request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ortools.sat.python import cp_model

from scheduler.search import parameters
from scheduler.search.outcome import Progress, SolveOptions
from scheduler.search.stages import StagedObjective


class ProgressReporter(cp_model.CpSolverSolutionCallback):
    def __init__(
        self,
        objective: StagedObjective,
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
        self.next_team_check = parameters.FIRST_TEAM_CHECK
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
        self.next_team_check = running + max(parameters.FIRST_TEAM_CHECK, 0.25 * running)
        if self.staffable(self) is False:
            self.rejected = True
            self.stop_search()


def run_solver(
    solver: cp_model.CpSolver,
    model: cp_model.CpModel,
    reporter: ProgressReporter | None,
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
