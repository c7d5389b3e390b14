"""What a solve is asked (`SolveOptions`) and what the search reports back (`SearchOutcome`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from scheduler.problem.batches import Batch
from scheduler.problem.planning import PlanningProblem
from scheduler.problem.steady import Churn, PreviousPlan
from scheduler.search.parameters import default_workers


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
    workers: int = field(default_factory=default_workers)  # the cores available, at most 8
    seed: int = 0
    on_progress: Callable[[Progress], None] | None = None
    stop_event: threading.Event | None = None  # set it to stop the search and keep the best so far
    # A plan to start from instead of the greedy one when it is at least as good (a re-plan
    # starts from the previous schedule); returning None means "use the greedy plan".
    start_batches: Callable[[PlanningProblem], list[Batch] | None] | None = None
    # A re-plan's previous choices: after the SPEC levels, a last level moves as few of these
    # patients' starts, suites and teams as it can (docs/DESIGN.md, "Keeping the shop floor steady").
    keep_steady: PreviousPlan | None = None
    # An infeasible instance gets the commitments that conflict named (more solves); a caller
    # that only needs to know (a simulated day's fallback) turns it off.
    diagnose_infeasible: bool = True


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
class SteadyOutcome:
    """What the last level of a re-plan reached on churn (not a SPEC measure)."""

    before: Churn  # the plan the SPEC levels left, positions assigned as without this level
    cost_bound: float | None = None  # proven lower bound on `Churn.cost`, None if never solved
    proven: bool = False
    seconds: float = 0.0


@dataclass
class SearchOutcome:
    """The result of the lexicographic search over one model."""

    status: str  # "SOLVED", "INFEASIBLE" or "UNKNOWN"
    levels: list[LevelOutcome] = field(default_factory=list)
    batches: list[Batch] = field(default_factory=list)
    first_schedule_seconds: float | None = None  # when a valid schedule was first in hand
    steady: SteadyOutcome | None = None  # re-plans only
