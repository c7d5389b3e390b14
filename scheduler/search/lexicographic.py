"""The lexicographic search over one model: levels, the starting plan as floor, team checks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial

from ortools.sat.python import cp_model

from scheduler.model.build import build_model
from scheduler.model.decode import batch_values, read_batches
from scheduler.model.steady_replan import churn_expression
from scheduler.problem.batches import Batch, assign_positions
from scheduler.problem.first_come import greedy_batches
from scheduler.problem.measures import MAXIMISED, STEADY_MEASURE
from scheduler.problem.planning import PlanningProblem
from scheduler.problem.steady import churn_of
from scheduler.search import parameters
from scheduler.search.capacity_relaxation import CapacityRelaxation
from scheduler.search.guided_start import relaxation_guided_batches
from scheduler.search.memory import return_freed_memory
from scheduler.search.outcome import LevelOutcome, SearchOutcome, SolveOptions, SteadyOutcome
from scheduler.search.progress import ProgressReporter, run_solver
from scheduler.search.relaxation import LinearRelaxation
from scheduler.search.solver_values import all_values, complete_values, set_hint, solve_fixed
from scheduler.search.stages import StagedObjective, objective_stages, staged_objective
from scheduler.search.structural_bounds import plan_changes_floor, wait_days_floor
from scheduler.search.team_repair import Shift, TeamRepair


def _level_budget(remaining: float, levels_left: int, have_schedule: bool, share: float) -> float:
    # An unproven level must not starve the ones after it; without any schedule yet, take it all.
    if levels_left == 1 or not have_schedule:
        return remaining
    return remaining * share


def _level_share(position: int, spec_stages: int, first_alone: bool, steady: bool) -> float:
    """The share of the time left that the level at `position` may take when more follow."""
    if steady and position == spec_stages - 1:
        return 1 - parameters.STEADY_LEVEL_SHARE  # only the churn level comes after it
    if first_alone and spec_stages == 2:
        return parameters.FIRST_MEASURE_SHARE
    return 0.5


@dataclass
class _Level:
    """The state of the search on one stage of the objective."""

    objective: StagedObjective
    started: float
    budget: float
    first_solution: float | None = None
    provisional: list[Batch] | None = (
        None  # the best valid plan met so far: a checked incumbent or a repair
    )
    known_bound: float | None = None  # proven before a team repair, so still valid after it
    exact_shifts_before: int = 0  # shifts modelled exactly before this level started
    checked_valid: bool = False  # an incumbent passed the team check during the search
    # Shifts no team could staff in incumbents the search went on from: modelled exactly
    # together with the final solution's, so the repair and the next solve know them all.
    unstaffable_seen: set[Shift] = field(default_factory=set)
    interrupted: bool = False  # the last solve was stopped early by a rejected incumbent
    # The last plan of a solve that no repair could staff: near the level's optimum, a dive
    # among its starts may still find a valid plan near it (`_dive_on_last_bound`).
    rejected: list[Batch] | None = None
    resumed: bool = False  # searched again after the end-of-search bounds (`_search_on`)


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
        self.teams = TeamRepair(
            problem,
            self.plan,
            self.shift_loads,
            hint_from_rejected=self.size >= parameters.GREEDY_HINT_PAYS_FROM,
        )
        batches_count = len(problem.patients) + len(problem.commitments)
        # Kept back for checking teams, building the schedule and its explanations afterwards.
        self.search_limit = options.time_limit * 0.97 - 0.2 - 0.005 * batches_count
        # A solve too short to get through presolve of a large model only wastes the time.
        self.too_short = min(2.0, 0.05 + 0.002 * batches_count)
        self.outcome = SearchOutcome("UNKNOWN")
        self.start: list[Batch] | None = None  # the starting plan (a re-plan's: the previous one)
        self.new_patients = {options.patient.id for options in problem.patients}
        self.relaxation: LinearRelaxation | None = None
        self.relaxation_released = False
        self.relaxation_left = options.time_limit * parameters.RELAXATION_SHARE
        self.relaxation_reserve = 0.0  # kept back for `_conditional_bounds`
        # The relaxation of starts, suites and staff: fast, and on large sites the tighter bound
        # on the later measures (`capacity_relaxation`); its end-of-search solves keep a reserve.
        self.capacity: CapacityRelaxation | None = None
        self.capacity_reserve = 0.0
        # Its bound on the first measure, proved before any level was held: unconditional, so
        # never solved again.
        self.capacity_first_bound: int | None = None
        self.search_end = self.search_limit  # the search's own limit, before anything is kept back
        self.first_measure_bound: int | None = (
            None  # the relaxation's, on the level's first measure
        )
        self.scales: dict[str, int] = {}

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _repair_seconds(self, until: float | None = None) -> float:
        # A repair solve is small: a few seconds, never more than the search has left (or than
        # is left `until` a moment of the search).
        left = self.search_limit - self.elapsed()
        if until is not None:
            left = min(left, until - self.elapsed())
        return min(5.0, max(0.5, left))

    def _repair_reserve(self, remaining: float) -> float:
        """Seconds a level's solve leaves at its end for a team repair of its last solution.

        Without them a solve that runs to its limit on a plan no team can staff is repaired in
        half a second, which fails on l sites, and the level falls back to an older valid plan
        (generated l waitlist seed 3: plan changes 18 kept where the search had reached about 1).
        """
        if self.size < parameters.GREEDY_HINT_PAYS_FROM:
            return 0.0
        return min(parameters.TEAM_REPAIR_RESERVE, parameters.TEAM_REPAIR_SHARE * remaining)

    def stopped(self) -> bool:
        return self.options.stop_event is not None and self.options.stop_event.is_set()

    def start_plan(
        self, first_come: list[Batch] | None, candidates: tuple[list[Batch] | None, ...] = ()
    ) -> list[Batch] | None:
        """The best of the greedy plans (first-come, relaxation-guided) and `candidates`, or the
        caller's starting plan (`SolveOptions.start_batches`) unless that one beats it."""
        greedy = first_come
        if self.relaxation is not None and self.relaxation.solved:
            # Guided by the relaxation's last solve: after the dives, the one with the first
            # measure held at the dive's plan (a guide for the later measures too).
            candidates = (
                relaxation_guided_batches(self.problem, self.plan, self.relaxation),
                *candidates,
            )
        for candidate in candidates:
            if candidate is not None and (greedy is None or self.problem.better(candidate, greedy)):
                greedy = candidate
        start = (
            self.options.start_batches(self.problem)
            if self.options.start_batches is not None
            else None
        )
        if start is None or (greedy is not None and self.problem.better(greedy, start)):
            return greedy
        return start

    def run(self) -> SearchOutcome:
        scales = {m: self.problem.scale if m != "plan_changes" else 1 for m in self.measures}
        self.scales = scales
        first_alone = self.size >= parameters.FIRST_MEASURE_ALONE_FROM
        stages = objective_stages(
            list(self.problem.instance.objective_order),
            self.model,
            self.measures,
            scales,
            first_alone,
        )
        spec_stages = len(stages)
        # Before the starting plan: the relaxation's solution guides one (`guided_start`).
        first_come = greedy_batches(self.problem)
        first_bound = on_support = None
        if not self._schedules_everyone(first_come):
            first_bound = self._bound_by_relaxation(stages[0])
            on_support = self._plan_on_relaxation_support(stages[0], self.first_measure_bound)
        greedy = self.start = self.start_plan(first_come, (on_support,))
        completed: dict[int, int] | None = None
        if greedy is not None:
            self.outcome = SearchOutcome("SOLVED", [], greedy, self.elapsed())
            if self.size >= parameters.GREEDY_HINT_PAYS_FROM:
                decisions = batch_values(self.plan, greedy, self.problem.calendar)
                completed = complete_values(
                    self.model, decisions, max(1.0, self.options.time_limit * 0.1)
                )
                if completed is not None:
                    set_hint(self.model, completed)
        order: list[str] = list(self.problem.instance.objective_order)
        first_proven = completed is not None and self._reaches_first_bound(greedy)
        if first_proven and not first_alone and len(stages) == 1 and len(order) > 1:
            # The starting plan reaches the relaxation's bound on the first measure: it is proven,
            # and the rest are searched with it held, as on the largest sites. Weighted together,
            # the search wandered among plans of less weight (generated l waitlist seed 3).
            first_alone = True
            stages = objective_stages(order, self.model, self.measures, scales, first_alone)
            spec_stages = len(stages)
            first_bound = self.first_measure_bound
        # The first level as the starting plan proved it: no search for it.
        proven_start = (
            _Solved(
                first_bound,
                int(cp_model.OPTIMAL),
                greedy,
                completed,
                [self._minimised_value(stages[0].measures[0], greedy)],
            )
            if first_proven
            and len(stages[0].measures) == 1
            and greedy is not None
            and completed is not None
            and first_bound is not None
            else None
        )
        steady = self._steady_stage()
        if steady is not None:
            stages.append(steady)
        last: _Level | None = None  # the last level's search, whether or not it was solved
        solved: _Solved | None = None
        for position, objective in enumerate(stages):
            if position == spec_stages:
                self._start_steady_level()
            self.model.minimize(objective.expression)
            releasing = (
                position == spec_stages - 1 and self.size >= parameters.RELAXATION_RELEASED_FROM
            )
            if releasing and position > 0:
                # The whole relaxation's solve for a later level of the largest sites took 52 s
                # for a weaker bound than the starts, suites and staff one (xl waitlist seed 1:
                # 3 plan changes against 11); that one alone bounds and guides the level.
                self._release_relaxation()
            # Before the budget: the relaxation's solve and the time it keeps back come off it.
            known_bound = (
                first_bound
                if position == 0
                else self._bound_by_relaxation(objective, later=True)
                if position < spec_stages
                else None
            )
            budget = _level_budget(
                self.search_limit - self.elapsed(),
                len(stages) - position,
                self.outcome.status == "SOLVED",
                _level_share(position, spec_stages, first_alone, steady is not None),
            )
            if position == 0 and len(stages) > 1 and self._near_first_bound(greedy, first_bound):
                budget = min(budget, parameters.NEAR_BOUND_SECONDS)
            # The level's time runs from here: its dive comes out of its budget.
            level = _Level(objective, time.monotonic(), budget, known_bound=known_bound)
            dived = self._dive_before_level(objective) if 0 < position < spec_stages else None
            if releasing and position == 0:
                level.budget += self._release_relaxation()
            level.exact_shifts_before = len(self.teams.exact)
            if dived is not None:
                self._offer_provisional(level, dived)
            if 0 < position < spec_stages:
                self._integer_bound_before_level(level)
            solved = (
                proven_start
                if position == 0 and proven_start is not None
                else self._solve_level(level, first=position == 0, last=position == len(stages) - 1)
            )
            if position == len(stages) - 1 and steady is None:
                last = level
            if solved is None:
                break
            self._fix_level(level, solved)
        self._conditional_bounds()
        if last is not None:
            self._search_on(last, hinted=solved is not None)
        self._keep_steadier_start()
        return self.outcome

    def _reaches_first_bound(self, batches: list[Batch] | None, first: str | None = None) -> bool:
        """Whether a plan reaches the relaxation's bound on the level's first measure (by
        default the SPEC's first), proving it."""
        bound = self.first_measure_bound
        if batches is None or bound is None:
            return False
        first = first or self.problem.instance.objective_order[0]
        return self._minimised_value(first, batches) <= bound

    def _near_first_bound(self, batches: list[Batch] | None, bound: float | None) -> bool:
        """Whether a plan is within `NEAR_BOUND_GAP` of the first level's bound (not at it).

        On generated xl waitlist seeds 4 and 5 the dive ends one unit of weight from the
        relaxation's bound (626 of 627, 629 of 630); the whole model's search then spent 130-157 s
        of the 300 without closing the gap, in every run of four sessions, and the later levels
        missed their targets for want of that time. It now gets `NEAR_BOUND_SECONDS` to improve.
        """
        if batches is None or bound is None:
            return False
        value = self._minimised_value(self.problem.instance.objective_order[0], batches)
        return bound < value <= bound + parameters.NEAR_BOUND_GAP * abs(bound)

    def _schedules_everyone(self, batches: list[Batch] | None) -> bool:
        """Whether a plan schedules every patient that has a start (when weight comes first):
        then the first level's trivial bound is reached and the relaxation has nothing to add."""
        if batches is None or self.problem.instance.objective_order[0] != "scheduled_weight":
            return False
        scheduled = {batch.patient_id for batch in batches if not batch.in_progress}
        return all(o.patient.id in scheduled for o in self.problem.patients if o.starts)

    def _relaxation_seconds(self, later: bool = False) -> float:
        """What the next relaxation solve before a level may take: its share, never the search's last seconds.

        Before a later level (`later`) it may take the time kept back for the conditional bounds:
        with the earlier levels held, its bound is this measure's conditional bound already.
        """
        reserve = 0.0 if later else self.relaxation_reserve
        return min(
            self.relaxation_left - reserve,
            max(0.0, self.search_limit - self.elapsed()) * 0.5,
        )

    def _relax(self) -> LinearRelaxation | None:
        """The model's linear relaxation, built once, on models large enough for it to pay."""
        if (
            self.relaxation is None
            and not self.relaxation_released
            and self.size >= parameters.RELAXATION_PAYS_FROM
        ):
            self.relaxation = LinearRelaxation(self.model)
            self.relaxation_left -= self.relaxation.build_seconds
            self.search_limit -= self.relaxation.build_seconds
        return self.relaxation

    def _release_relaxation(self) -> float:
        """Give the relaxation's memory back; no later level asks it again (`RELAXATION_RELEASED_FROM`).

        The seconds kept back for its bounds at the end go back to the search: on xl waitlist
        seed 1 about 58 s of the 300 were left unused.
        """
        if self.relaxation is None:
            return 0.0
        self.relaxation = None
        self.relaxation_released = True
        return_freed_memory()
        returned, self.relaxation_reserve = self.relaxation_reserve, 0.0
        self.search_limit += returned
        return returned

    def _relaxed_bound(self, expression: cp_model.LinearExprT, seconds: float) -> int | None:
        """A proven lower bound on `expression` from the relaxation, if it is solved in `seconds`."""
        relaxation = self._relax()
        if relaxation is None:
            return None
        started = time.monotonic()
        bound = relaxation.lower_bound(expression, seconds)
        spent = time.monotonic() - started
        self.relaxation_left -= spent
        if self.relaxation_reserve == 0.0:
            # The measures left unproven at the end get bounds too (`_conditional_bounds`):
            # held levels make them slower than this one (up to four times on l waitlist).
            self.relaxation_reserve = min(self.relaxation_left, 5 * spent + 0.1)
            self.search_limit -= self.relaxation_reserve
        return bound

    def _bound_by_relaxation(self, objective: StagedObjective, later: bool = False) -> float | None:
        """The relaxation's bound on the stage's first measure, added as a valid inequality;
        the weighted bound of the stage it implies, or None.

        CP-SAT then stops as soon as a plan reaches it, and reports it while searching.
        """
        first = objective.expressions[0]
        lowest = self._relaxed_bound(first, self._relaxation_seconds(later))
        capacity_lowest = self._capacity_bound(objective.measures[0])
        if capacity_lowest is not None and (lowest is None or capacity_lowest > lowest):
            lowest = capacity_lowest
        self.first_measure_bound = lowest
        if lowest is None or lowest <= objective.lowest[0]:
            return None
        self.model.add(first >= lowest)
        return self._stage_bound(objective, lowest)

    @staticmethod
    def _stage_bound(objective: StagedObjective, first: int) -> float:
        """The weighted bound of a stage implied by a bound on its first measure."""
        return objective.factors[0] * first + sum(
            f * low for f, low in zip(objective.factors[1:], objective.lowest[1:], strict=True)
        )

    def _integer_bound_before_level(self, level: _Level) -> None:
        """On large sites, where the plan after the dives is above the bound on the level's
        first measure: the integer starts, suites and staff model's bound, added as a valid
        inequality and kept as the level's known bound (`CapacityRelaxation.integer_bound`).

        The linear relaxations' bound on plan changes was 7 on generated xl waitlist seed 5,
        where every plan found had 11 and the integer model proves 10.
        """
        capacity, current = self.capacity, self.outcome.batches
        objective = level.objective
        if capacity is None or not current or self.size < parameters.CAPACITY_PLAN_PAYS_FROM:
            return
        measure = objective.measures[0]
        value = self._minimised_value(measure, current)
        known = self.first_measure_bound
        if known is not None and value <= known + 1:
            # Proven already, or one unit above: the integer model could then only prove the
            # plan optimal, which took it over 45 s on xl waitlist seed 1 (plan 12, bound 11;
            # its presolve alone 20 s). The level's search gets that time instead.
            return
        seconds = (self.search_limit - self.elapsed()) * parameters.INTEGER_BOUND_SHARE
        bound = capacity.integer_bound(measure, seconds, self.options, reach=value)
        if bound is not None and (known is None or bound > known) and bound > objective.lowest[0]:
            self.first_measure_bound = bound
            self.model.add(objective.expressions[0] >= bound)
            weighted = self._stage_bound(objective, bound)
            level.known_bound = (
                weighted if level.known_bound is None else max(level.known_bound, weighted)
            )
        self._dive_towards_bounded_plan(level)

    def _dive_towards_bounded_plan(self, level: _Level) -> None:
        """After the integer bound, where the plan is still above it: a dive among the plan's
        starts and those of the best plan that bound's search met, the level's first measure
        alone its objective (`CapacityRelaxation.bounded_plan_starts`); a better plan becomes the
        level's start.

        The dives towards the weighted level's capacity plan end one or two plan changes apart
        from run to run (xl waitlist seed 5: 11 or 12, bound 10).
        """
        capacity, current = self.capacity, self.outcome.batches
        if capacity is None or not current or capacity.bounded_plan_starts is None:
            return
        if self._reaches_first_bound(current, level.objective.measures[0]):
            return
        left = self.search_limit - self.elapsed()
        deadline = self.elapsed() + left * parameters.CAPACITY_DIVE_SHARE
        if deadline - self.elapsed() < parameters.SUPPORT_DIVE_AT_LEAST:
            return
        allowed = self._allowed_starts(current, promises=False, chosen=capacity.bounded_plan_starts)
        dived = self._neighbourhood_plan(level.objective, allowed, current, deadline)
        adopted = self._adopt_dived(dived, current)
        if adopted is not None:
            self._offer_provisional(level, adopted)

    def _plan_on_relaxation_support(
        self, objective: StagedObjective, known_bound: int | None
    ) -> list[Batch] | None:
        """The best plan using only starts the relaxation's solution uses (a valid plan, teams checked).

        The neighbourhood is a small fraction of the whole (generated l waitlist seed 3: 359
        of 9,909 start choices) and CP-SAT solves it in seconds, often to the relaxation's bound,
        which proves the level at once; the whole model's search then starts from it. The stage's
        second measure gets a second dive: the relaxation re-solved for it with the first held,
        among its support, the plan's own starts and (for plan changes) those keeping promised
        dates.
        """
        relaxation = self.relaxation
        if relaxation is None or not self._relaxation_to_dive_on():
            return None
        deadline = self.elapsed() + (self.search_limit - self.elapsed()) * parameters.SUPPORT_SHARE
        # One measure at a time: the later ones would slow the dive down.
        first = staged_objective(self.model, [objective.measures[0]], self.measures, self.scales)
        allowed = self._allowed_starts(None, promises=False)
        plan = self._neighbourhood_plan(first, allowed, None, deadline, known_bound)
        if plan is None or len(objective.measures) < 2 or self._reaches_first_bound(plan):
            # At the bound the first measure is proven and the next gets a level of its own,
            # which starts with its own dive (`_dive_before_level`).
            return plan
        # The second measure only: a dive for the third too (wait days) cost l waitlist seeds 1-2
        # their proof in 120 s (docs/PERFORMANCE.md, "Issue 18, session 3").
        relaxation.hold_at_most(first.expression, self._minimised_value(first.measures[0], plan))
        measure = objective.measures[1]
        second = staged_objective(self.model, [measure], self.measures, self.scales)
        seconds = min(self.relaxation_left - self.relaxation_reserve, deadline - self.elapsed())
        bound = self._relaxed_bound(second.expression, seconds)
        if not relaxation.solved and measure != "plan_changes":
            return plan  # the plan's own starts alone: nothing to choose but lab days
        allowed = self._allowed_starts(plan, promises=measure == "plan_changes")
        better = self._neighbourhood_plan(second, allowed, plan, deadline, bound)
        if better is not None and self.problem.better(better, plan):
            return better
        return plan

    def _dive_before_level(self, objective: StagedObjective) -> list[Batch] | None:
        """Before a later level of a large model: the best plan of the neighbourhood made of the
        current plan's starts, the starts that keep a patient's communicated date, and those of
        the relaxation's solution for the level if it finished (earlier levels held): the whole
        model's, or where that is released, the starts, suites and staff one's (`_allowed_starts`).

        On xl waitlist the whole model's search brought plan changes only to 17-169 in minutes
        against a bound of 3; the neighbourhood contains the current plan, so it can only improve
        on it. The level's search starts from the result.
        """
        current = self.outcome.batches
        if (
            (self.relaxation is None and self.capacity is None)
            or self.size < parameters.SUPPORT_PLAN_PAYS_FROM
            or not current
        ):
            return None
        remaining = self.search_limit - self.elapsed()
        deadline = self.elapsed() + remaining * parameters.SUPPORT_SHARE
        best = current
        for _ in range(parameters.CAPACITY_DIVE_ROUNDS):
            left = self.search_limit - self.elapsed()
            towards = self._dive_towards_capacity_plan(
                objective, best, self.elapsed() + left * parameters.CAPACITY_DIVE_SHARE
            )
            if towards is None or not self.problem.better(towards, best):
                break
            best = towards
            if self._reaches_first_bound(best, objective.measures[0]):
                break  # the level's first measure is proven: its search takes the time left
        if self._proves_first_of_several(objective, best):
            best = self._dive_for_next_measure(objective, best) or best
        if deadline - self.elapsed() >= parameters.SUPPORT_DIVE_AT_LEAST:
            allowed = self._allowed_starts(best, promises=True)
            dived = self._neighbourhood_plan(
                objective, allowed, best, deadline, self.first_measure_bound
            )
            if dived is not None and self.problem.better(dived, best):
                best = dived
        if best is current:
            return None
        self._hint_plan(best)
        self.outcome.batches = best
        return best

    def _proves_first_of_several(self, objective: StagedObjective, plan: list[Batch]) -> bool:
        """Whether, where only the starts, suites and staff relaxation is left (the largest
        sites), a plan reaches the bound on the first of a level's several measures."""
        return (
            len(objective.measures) > 1
            and self.relaxation is None
            and self.capacity is not None
            and self._reaches_first_bound(plan, objective.measures[0])
        )

    def _dive_for_next_measure(
        self, objective: StagedObjective, plan: list[Batch]
    ) -> list[Batch] | None:
        """A better plan than `plan`, which proves the level's first measure: the starts, suites
        and staff LP solved for the next measure with the first held at the plan's value, then
        a dive among the plan's starts and those of that solution (None if none is better).

        The whole model's search moves wait days by a few days a second on xl (xl waitlist
        seed 1: 18,595 to 18,458 in 78 s after its 22 s presolve, bound 17,444), where the same
        dive at the end of the search took 129-479 days off in 5-9 s: done first, the search
        starts from its plan.
        """
        capacity = self.capacity
        assert capacity is not None
        first, following = objective.measures[0], objective.measures[1]
        capacity.hold_measure(first, self._minimised_value(first, plan))
        deadline = self.elapsed() + (self.search_limit - self.elapsed()) * parameters.SUPPORT_SHARE
        if capacity.lower_bound(following, deadline - self.elapsed()) is None:
            return None
        if deadline - self.elapsed() < parameters.SUPPORT_DIVE_AT_LEAST:
            return None
        allowed = self._allowed_starts(plan, promises=False)
        dived = self._neighbourhood_plan(objective, allowed, plan, deadline)
        return dived if dived is not None and self.problem.better(dived, plan) else None

    def _dive_towards_capacity_plan(
        self, objective: StagedObjective, current: list[Batch], deadline: float
    ) -> list[Batch] | None:
        """On the largest sites: the best plan among the current plan's starts and those of the
        best plan of the starts, suites and staff model for the level, searched from the current
        plan (`CapacityRelaxation.best_starts`).

        That plan ignores the labs, the deliveries and whole operator teams, so it is rarely
        valid, but a valid plan near it usually exists: generated xl waitlist seed 4 went from
        155 plan changes to 13 (bound 11) in 65 s; seed 5 from 173 to 12 (bound 7), then in a
        second round from that plan to 11 in 34 s (`CAPACITY_DIVE_ROUNDS`).
        """
        capacity = self.capacity
        if capacity is None or self.size < parameters.CAPACITY_PLAN_PAYS_FROM:
            return None
        seconds = (deadline - self.elapsed()) * parameters.CAPACITY_PLAN_SHARE
        chosen = capacity.best_starts(objective, seconds, self.options, start=current)
        if chosen is None or deadline - self.elapsed() < parameters.SUPPORT_DIVE_AT_LEAST:
            return None
        allowed = self._allowed_starts(current, promises=False, chosen=chosen)
        return self._neighbourhood_plan(objective, allowed, current, deadline)

    def _allowed_starts(
        self,
        current: list[Batch] | None,
        promises: bool,
        also: list[Batch] | None = None,
        chosen: set[tuple[str, int, int]] | None = None,
    ) -> dict[str, set[int]]:
        """Each patient's start indices in a neighbourhood: its start in `current` (and in `also`),
        the `chosen` (patient, start, class) keys, the starts keeping its communicated apheresis
        date (`promises`), and those the relaxation's last solution uses if it is solved."""
        allowed: dict[str, set[int]] = {}
        for patient_id, index, _ in chosen or ():
            allowed.setdefault(patient_id, set()).add(index)
        for batch in [*(current or []), *(also or [])]:
            if not batch.in_progress:
                starts = self.plan.options_of(batch.patient_id).starts
                allowed.setdefault(batch.patient_id, set()).update(
                    i for i, option in enumerate(starts) if option.slot.start == batch.start
                )
        for options in self.problem.patients if promises else []:
            previous = options.patient.previous_apheresis_date
            if previous is not None and options.uses_chair:
                allowed.setdefault(options.patient.id, set()).update(
                    i
                    for i, option in enumerate(options.starts)
                    if previous in option.apheresis_dates
                )
        relaxation = self.relaxation
        if relaxation is not None and relaxation.solved:
            for (patient_id, index, _), variable in self.plan.start_in_class.items():
                if relaxation.value(variable) >= parameters.SUPPORT_EPSILON:
                    allowed.setdefault(patient_id, set()).add(index)
        elif relaxation is None and self.capacity is not None and self.capacity.solved:
            # Released on the largest sites: the starts, suites and staff relaxation guides instead.
            for patient_id, index, _ in self.capacity.starts_used(parameters.SUPPORT_EPSILON):
                allowed.setdefault(patient_id, set()).add(index)
        return allowed

    def _minimised_value(self, measure: str, batches: list[Batch]) -> int:
        """A measure of a plan as the model minimises it (weight-scaled, negated when maximised)."""
        sign = -1 if measure in MAXIMISED else 1
        return round(sign * self.problem.measure_values(batches)[measure] * self.scales[measure])

    def _neighbourhood_plan(
        self,
        objective: StagedObjective,
        allowed: dict[str, set[int]],
        current: list[Batch] | None,
        deadline: float,
        known_bound: int | None = None,
    ) -> list[Batch] | None:
        """The best plan before `deadline` in which each patient may only take its `allowed` starts,
        every measure before the stage held at the `current` plan's value (which hints the search);
        None if none is found. `known_bound` (one-measure stages) stops the search when reached.

        The neighbourhood is the same model built over fewer options, every rule as in the whole:
        a clone of the whole with the other starts fixed spent most of a dive in presolve on xl.
        Shifts no team can staff are modelled exactly and it is solved again, a few rounds.
        """
        patients = [
            replace(
                options,
                starts=[
                    option
                    for index, option in enumerate(options.starts)
                    if index in allowed.get(options.patient.id, ())
                ],
            )
            for options in self.problem.patients
        ]
        neighbourhood = replace(self.problem, patients=patients)
        plan, measures, shift_loads = build_model(neighbourhood)
        teams = TeamRepair(neighbourhood, plan, shift_loads, hint_from_rejected=True)
        teams.model_exactly([shift for shift in self.teams.exact if shift in shift_loads])
        order: list[str] = list(self.problem.instance.objective_order)
        if current is not None:
            values = self.problem.measure_values(current)
            for measure in order[: order.index(objective.measures[0])]:
                sign = -1 if measure in MAXIMISED else 1
                scale = self.scales[measure]
                plan.model.add(sign * measures[measure] <= round(sign * values[measure] * scale))
        staged = staged_objective(plan.model, list(objective.measures), measures, self.scales)
        plan.model.minimize(staged.expression)
        # Only the starts and collection dates: the neighbourhood may know fewer lab days than
        # the whole model (days no start of it needs), so the plan's own QC days may not fit.
        choices = {
            variable.index
            for group in (plan.scheduled, plan.start_in_class, plan.apheresis_on)
            for variable in group.values()
        }
        decisions = batch_values(plan, current or [], self.problem.calendar)
        hint = (
            complete_values(
                plan.model,
                {index: value for index, value in decisions.items() if index in choices},
                max(1.0, deadline - self.elapsed()),
            )
            if current is not None
            else None
        )
        if len(staged.measures) > 1:
            known_bound = None  # in the whole model's weighting; this one weighs its own ranges
        if known_bound is not None:
            # Valid for the whole model, so for this part of it: the search may stop on reaching it.
            plan.model.add(staged.expression >= known_bound)
        rejected: tuple[list[Batch], list[Shift]] | None = None
        best: list[Batch] | None = None  # the best valid plan met near a rejected one
        for _ in range(parameters.SUPPORT_TEAM_ROUNDS):
            if self.stopped() or deadline - self.elapsed() < 0.1:
                break
            if hint is not None:
                set_hint(plan.model, hint)
            solver = cp_model.CpSolver()
            solver.parameters.max_time_in_seconds = deadline - self.elapsed()
            solver.parameters.num_workers = self.options.workers
            solver.parameters.random_seed = self.options.seed
            reporter = ProgressReporter(staged, self.started, self.options, known_bound)
            status = run_solver(solver, plan.model, reporter, self.options.stop_event)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                break
            batches = read_batches(plan, solver, self.problem.calendar)
            failed = teams.unstaffable(batches)
            if not failed:
                return best if best is not None and self.problem.better(best, batches) else batches
            # As in a level (`TeamRepair.nearby`): moving little of the plan usually staffs it,
            # in well under the time another solve of the neighbourhood takes.
            repaired = teams.nearby(
                staged.expression, solver, batches, failed, self._repair_seconds
            )
            # The whole model learns these shifts too: its search would meet them next.
            teams.model_exactly(failed)
            self.teams.model_exactly([shift for shift in teams.exact if shift in self.shift_loads])
            if repaired is not None:
                return repaired[0]
            near = teams.best_nearby(solver, batches, failed, self._repair_seconds)
            if near is not None and (best is None or self.problem.better(near, best)):
                best = near
            rejected = (batches, failed)
        if best is None and rejected is not None:
            best = teams.without_unstaffable(*rejected)
        return best

    def _conditional_bounds(self) -> None:
        """Every SPEC measure the search did not prove gets the relaxation's bound, conditional on
        the measures before it being at their reported values (SPEC 8, "Objective and bounds").

        The relaxation holds each earlier measure at most at its value (a superset of "at its
        value"), so its minimum is a valid bound; without it a level left unsolved would report
        only the trivial bound.
        """
        order = list(self.problem.instance.objective_order)
        reached = {level.measure: level for level in self.outcome.levels}
        if self.outcome.status == "SOLVED" and self.outcome.batches:
            self._structural_bounds(order)
            self._capacity_bounds(order)
            reached = {level.measure: level for level in self.outcome.levels}
        if (
            self.outcome.status != "SOLVED"
            or not self.outcome.batches
            or self.stopped()
            or all(m in reached and reached[m].proven for m in order)
            # Built only now (a site the first-come plan could take whole), it needs time left.
            or (self.relaxation is None and self.search_limit - self.elapsed() < 1.0)
            or self._relax() is None
        ):
            return
        relaxation = self.relaxation
        assert relaxation is not None

        def minimised(measure: str) -> cp_model.LinearExprT:
            return (-1 if measure in MAXIMISED else 1) * self.measures[measure]

        def bound(measure: str) -> int | None:
            seconds = min(
                self.relaxation_left, self.search_limit + self.relaxation_reserve - self.elapsed()
            )
            return self._relaxed_bound(minimised(measure), seconds)

        # (The last solve's values stay readable: `_search_on` dives on its support.)
        self._bound_unproven_levels(
            order, bound, lambda measure, held: relaxation.hold_at_most(minimised(measure), held)
        )

    def _bound_unproven_levels(
        self,
        order: Sequence[str],
        bound: Callable[[str], int | None],
        hold: Callable[[str, int], None],
    ) -> None:
        """Per SPEC measure in order: record `bound` (minimised, scaled) where no level proved it,
        then hold the measure at the plan's value for the next, unless it is the last."""
        assert self.outcome.batches is not None
        values = self.problem.measure_values(self.outcome.batches)
        reached = {level.measure: level for level in self.outcome.levels}
        for measure in order:
            sign = -1 if measure in MAXIMISED else 1
            scale = self.scales[measure]
            level = reached.get(measure)
            if level is None or not level.proven:
                lowest = bound(measure)
                if lowest is not None:
                    self._record_bound(measure, values[measure], sign * lowest / scale, level)
            if measure != order[-1]:
                hold(measure, round(sign * values[measure] * scale))

    def _search_on(self, last: _Level, hinted: bool) -> None:
        """The time the end-of-search bounds left goes back to the last level, from its plan,
        stopping at those bounds when a plan reaches them.

        The relaxation's solves at the end are given a reserve estimated from the first one; on
        generated l waitlist seed 4 they took 9 s of the 24 s kept, and the solve ended at 97 s
        of 120 on a plan 1 % from the bound they proved.
        """
        self.search_limit += self.relaxation_reserve + self.capacity_reserve
        self.relaxation_reserve = self.capacity_reserve = 0.0
        left = self.search_limit - self.elapsed()
        objective = last.objective
        reached = {level.measure: level for level in self.outcome.levels}
        levels = [reached.get(measure) for measure in objective.measures]
        if (
            # Without a relaxation there is no new bound or support to search on with, and no
            # time was kept back for it: a search again would only repeat its presolve.
            (self.relaxation is None and self.capacity is None)
            or left < parameters.SEARCH_ON_FROM
            or self.stopped()
            or self.outcome.status != "SOLVED"
            or any(level is None or level.bound is None for level in levels)
            or all(level is not None and level.proven for level in levels)
        ):
            return
        known = self._weighted_bound(objective, levels, last.known_bound)
        if not self._dive_on_last_bound(objective, left, last.rejected) and not hinted:
            self._hint_plan(self.outcome.batches)  # the level ended on a plan it kept, not solved
        left = self.search_limit - self.elapsed()
        resumed = _Level(
            objective,
            time.monotonic(),
            left,
            known_bound=known,
            checked_valid=True,  # the plan it starts from is valid: no stop for a rejected one
            resumed=True,
        )
        solved = self._solve_level(resumed, first=False, last=True)
        plan = solved.batches if solved is not None else resumed.provisional
        if plan is not None and not self.problem.better(plan, self.outcome.batches):
            plan = None
        current = plan if plan is not None else self.outcome.batches
        measured = [self._minimised_value(measure, current) for measure in objective.measures]
        # (The resumed level's bound starts at `known` and only grows.)
        proven = [resumed.known_bound or known]
        if solved is not None and solved.status == cp_model.OPTIMAL:
            proven.append(solved.objective)
        bounds = objective.bounds(measured, max(proven))
        values = self.problem.measure_values(current)
        for i, level in enumerate(levels):
            assert level is not None
            level.value = values[level.measure]
            # Both bounds hold: the earlier one over plans no worse than the plan it was read
            # at on the measures before, which the new plan is (the level's objective is held).
            self._record_bound(level.measure, level.value, objective.reported(i, bounds[i]), level)
        first = levels[0]
        assert first is not None
        first.seconds += time.monotonic() - resumed.started
        if plan is not None:
            self.outcome.batches = plan

    def _dive_on_last_bound(
        self, objective: StagedObjective, left: float, rejected: list[Batch] | None
    ) -> bool:
        """Before searching the last level again: the best plan among its current starts, those
        the relaxation's solution for the last measure uses (earlier measures held) and those of
        the level's last plan no team could staff (`rejected`).

        True if it found a better plan, now the outcome's and the hint. On generated l waitlist
        seed 4 it took wait days from 6,327 to within 0.2 % of the bound in 4 s, where the whole
        model's search had moved 6,338 to 6,327 in the 3 s before.
        """
        if not self._relaxation_to_dive_on():
            return False
        current = self.outcome.batches
        deadline = self.elapsed() + left * parameters.SEARCH_ON_DIVE_SHARE
        allowed = self._allowed_starts(current, promises=False, also=rejected)
        dived = self._neighbourhood_plan(objective, allowed, current, deadline)
        return self._adopt_dived(dived, current) is not None

    def _adopt_dived(self, dived: list[Batch] | None, current: list[Batch]) -> list[Batch] | None:
        """A dived plan that beats `current`, now the outcome's plan and the whole model's hint;
        None if there is none or it could not be hinted."""
        if dived is None or not self.problem.better(dived, current) or not self._hint_plan(dived):
            return None
        self.outcome.batches = dived
        return dived

    def _relaxation_to_dive_on(self) -> bool:
        """Whether the relaxation's last solve has a solution to dive on (where it is released,
        the starts, suites and staff one's: `_allowed_starts`), on a model large enough for a
        dive to pay (`SUPPORT_PLAN_PAYS_FROM`)."""
        if self.relaxation is not None:
            solved = self.relaxation.solved
        else:
            solved = self.relaxation_released and self.capacity is not None and self.capacity.solved
        return solved and self.size >= parameters.SUPPORT_PLAN_PAYS_FROM

    def _hint_plan(self, batches: list[Batch], seconds: float | None = None) -> bool:
        """Hint the whole model with a plan, every variable completed (in `seconds`, by default
        2 % of the time limit); False if that failed in time."""
        completed = complete_values(
            self.model,
            batch_values(self.plan, batches, self.problem.calendar),
            max(1.0, self.options.time_limit * 0.02) if seconds is None else seconds,
        )
        if completed is None:
            return False
        set_hint(self.model, completed)
        return True

    def _weighted_bound(
        self,
        objective: StagedObjective,
        levels: Sequence[LevelOutcome | None],
        searched: float | None,
    ) -> float:
        """A lower bound on the stage's weighted objective from its measures' reported bounds:
        the proven ones at their values, then the first unproven at its bound, the rest at their
        lowest; or the search's own (`searched`) if that is higher."""
        total: float = 0
        for i, level in enumerate(levels):
            assert level is not None and level.bound is not None
            sign = -1 if level.measure in MAXIMISED else 1
            if level.proven:
                total += objective.factors[i] * round(sign * level.bound * objective.scales[i])
                continue
            # A bound of a minimised value rounds up; the measure is an integer in scaled units.
            lowest = math.ceil(sign * level.bound * objective.scales[i] - 1e-6)
            total += objective.factors[i] * lowest
            total += sum(
                f * low
                for f, low in zip(
                    objective.factors[i + 1 :], objective.lowest[i + 1 :], strict=True
                )
            )
            break
        if searched is not None and searched > total:
            return searched
        return total

    def _structural_bounds(self, order: Sequence[str]) -> None:
        """The measures after scheduled weight get the per-patient floors at the reached weight
        (`structural_bounds`): a real bound even where the relaxation has no time to finish."""
        if "scheduled_weight" not in order or self.outcome.batches is None:
            return
        values = self.problem.measure_values(self.outcome.batches)
        weight = values["scheduled_weight"]
        reached = {level.measure: level for level in self.outcome.levels}
        for measure in order[order.index("scheduled_weight") + 1 :]:
            level = reached.get(measure)
            if level is not None and level.proven:
                continue
            if measure == "plan_changes":
                floor: float = plan_changes_floor(self.problem, weight)
            elif measure == "wait_days":
                floor = wait_days_floor(self.problem, weight)
            else:
                continue
            self._record_bound(measure, values[measure], floor, level)

    def _capacity_bound(self, measure: str) -> int | None:
        """The starts, suites and staff relaxation's bound on a measure (minimised, scaled), given the
        levels fixed so far; built on first use, on models large enough for it to pay."""
        if self.capacity is None:
            if (
                self.size < parameters.RELAXATION_PAYS_FROM
                or self.search_limit - self.elapsed() < 1
            ):
                return None
            self.capacity = CapacityRelaxation(self.problem)
            self.search_limit -= self.capacity.build_seconds
        started = time.monotonic()
        bound = self.capacity.lower_bound(
            measure, max(0.1, self.search_limit - self.elapsed()) * 0.25
        )
        if not self.outcome.levels:
            self.capacity_first_bound = bound
        # The end-of-search bounds solve it once per later measure, each a little slower than
        # the first (4 times) and about as slow as a later one (xl waitlist seed 1, with the
        # operators' hours: weight 2.3 s, then plan changes 8.1 s and wait days 7.6 s).
        spent = time.monotonic() - started
        reserve = max(self.capacity_reserve, (2 if self.outcome.levels else 4) * spent + 0.1)
        self.search_limit -= reserve - self.capacity_reserve
        self.capacity_reserve = reserve
        return bound

    def _capacity_bounds(self, order: Sequence[str]) -> None:
        """Every SPEC measure the search did not prove gets the starts, suites and staff
        relaxation's bound, conditional on the measures before it at the plan's values (SPEC 8)."""
        capacity = self.capacity
        if capacity is None or not self.outcome.batches or self.stopped():
            return  # (a cancelled solve stops at once, with the bounds it has)
        reserve, self.capacity_reserve = self.capacity_reserve, 0.0
        self.search_limit += reserve
        # A level that ran over its time (a large model's search stops late) must not leave
        # these bounds none: they get their reserve, within the search's own limit.
        deadline = max(self.search_limit, min(self.elapsed() + reserve, self.search_end))
        first = order[0]

        def bound(measure: str) -> int | None:
            if measure == first and self.capacity_first_bound is not None:
                return self.capacity_first_bound
            return capacity.lower_bound(measure, deadline - self.elapsed())

        self._bound_unproven_levels(order, bound, capacity.hold_measure)

    def _record_bound(
        self, measure: str, value: float, bound: float, level: LevelOutcome | None
    ) -> None:
        """Keep the tighter of a level's bound and `bound` (a new level if the search never got to it)."""
        maximised = measure in MAXIMISED
        if level is None:
            self.outcome.levels.append(LevelOutcome(measure, value, bound, bound == value))
            return
        if level.bound is None:
            level.bound = bound
        else:
            level.bound = min(level.bound, bound) if maximised else max(level.bound, bound)
        level.proven = level.bound == level.value

    def _steady_stage(self) -> StagedObjective | None:
        """A re-plan's last level: churn, the cost of moving patients without an event of their own."""
        if self.options.keep_steady is None:
            return None
        expression = churn_expression(self.plan, self.options.keep_steady, self.problem.calendar)
        return staged_objective(
            self.model, [STEADY_MEASURE], {STEADY_MEASURE: expression}, {STEADY_MEASURE: 1}
        )

    def _start_steady_level(self) -> None:
        """Record the churn of the plan the SPEC levels left (positions as without this level)."""
        assert self.options.keep_steady is not None
        left = [replace(batch) for batch in self.outcome.batches]
        assign_positions(left, self.problem.builder.classes)
        before = churn_of(
            left, self.options.keep_steady, self.problem.builder.classes, self.new_patients
        )
        self.outcome.steady = SteadyOutcome(before)

    def _churn_cost(self, batches: list[Batch]) -> int:
        assert self.options.keep_steady is not None
        return churn_of(
            batches, self.options.keep_steady, self.problem.builder.classes, self.new_patients
        ).cost

    def _better(self, first: list[Batch], second: list[Batch]) -> bool:
        """Better on the SPEC measures, or as good and (in a re-plan) steadier."""
        if self.problem.better(first, second):
            return True
        return (
            self.options.keep_steady is not None
            and not self.problem.better(second, first)
            and self._churn_cost(first) < self._churn_cost(second)
        )

    def _keep_steadier_start(self) -> None:
        """In a re-plan, the starting plan (the previous one where it still fits) when it is as
        good on the SPEC measures and steadier: what the churn level keeps when it had no time."""
        if (
            self.options.keep_steady is None
            or self.outcome.status != "SOLVED"
            or self.start is None
            or not self.outcome.batches
            or self.problem.better(self.outcome.batches, self.start)
            or self.problem.better(self.start, self.outcome.batches)
            or self._churn_cost(self.start) >= self._churn_cost(self.outcome.batches)
        ):
            return
        self.outcome.batches = self.start

    def _solve_level(self, level: _Level, first: bool, last: bool) -> _Solved | None:
        """Solve until a solution passes the exact team check; None when time runs out first."""
        if (
            not first
            and self.capacity is not None
            and self.size >= parameters.RELAXATION_RELEASED_FROM
        ):
            # A later level's search is the run's memory peak on the largest sites (xl waitlist
            # seed 1: 1,516 MiB, the starts, suites and staff LP's 150 MiB of it); that LP is
            # rebuilt for the bounds after it. The first level's search keeps it: the later
            # level's bound and dive go by its solution warm from the first level's basis. A cold
            # one is another optimal vertex, and its starts led the dive on xl waitlist seed 4 to
            # 14 plan changes (twice), the warm one's to 11, proven (docs/PERFORMANCE.md).
            self.capacity.release_linear()
        while True:
            remaining = min(
                level.budget - (time.monotonic() - level.started),
                self.search_limit - self.elapsed(),
            )
            if remaining <= 0.05:
                # Out of this level's share (a team repair ate the time, or presolve on a slow
                # machine): its best valid plan, else the plan it started from, leaves the later
                # measures their time. Under load the xl waitlist seed 5 first level (capped at
                # 30 s near its bound) met no solution of its own, and the later levels never
                # ran: 174 plan changes, where they reach 11.
                valid = level.provisional or self.outcome.batches
                if not last and (kept := self._plan_as_solved(level, valid)) is not None:
                    return kept
                remaining = self.search_limit - self.elapsed()
            too_short = self.too_short if self.outcome.status == "SOLVED" else 0.05
            if remaining <= too_short or self.stopped():
                self._keep_provisional(level)
                return None
            solver, status = self._solve_once(level, remaining - self._repair_reserve(remaining))
            if status == cp_model.INFEASIBLE and not self.outcome.levels:
                self.outcome = SearchOutcome("INFEASIBLE")
                return None
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                continue  # nothing yet within this level's share: go on with what is left
            if (
                status != cp_model.OPTIMAL
                and not level.interrupted
                and (kept := self._kept_plan_if_better(level, solver))
            ):
                # Out of time (not stopped by a team check) on a plan worse than one kept.
                return kept
            batches = read_batches(self.plan, solver, self.problem.calendar)
            failed = self.teams.unstaffable(batches)
            if not failed and level.interrupted and status != cp_model.OPTIMAL:
                # Stopped for an unstaffable incumbent, then ended on a valid plan: not the
                # level's result while its time lasts (generated l waitlist seed 3 stopped 56 s
                # early on 2 plan changes); the search goes on from it with those shifts exact.
                level.interrupted, level.checked_valid = False, True
                self._offer_provisional(level, batches)
                self.teams.model_exactly(sorted(level.unstaffable_seen))
                set_hint(self.model, all_values(solver))
                continue
            if not failed:
                return self._solved(level, solver, status, batches, solver)
            if first:
                # Until the level is solved again, a plan without the patients no team can take
                # is a valid fallback, usually far better than the first-come-first-served one.
                fallback = self.teams.without_unstaffable(batches, failed)
                if fallback is not None:
                    self._offer_provisional(level, fallback)
            self.teams.search_again_from(solver, sorted({*failed, *level.unstaffable_seen}))
            if level.interrupted and status != cp_model.OPTIMAL:
                # Stopped early with time left: the search goes on, now with those shifts exact.
                level.interrupted = False
                continue
            # At the search's end, half of what is left: the other half is for `best_nearby`.
            halfway = self.elapsed() + (self.search_limit - self.elapsed()) / 2
            repaired = self.teams.nearby(
                level.objective.expression,
                solver,
                batches,
                failed,
                partial(self._repair_seconds, halfway),
            )
            if repaired is not None:
                return self._solved(level, solver, status, *repaired)
            # No plan at its value: the best near it is kept in case no time is left to search again.
            level.rejected = batches
            near = self._plan_between(level, batches)
            if near is None:
                near = self.teams.best_nearby(solver, batches, failed, self._repair_seconds)
            if near is not None:
                self._offer_provisional(level, near)
            self._hint_provisional(level)

    def _plan_between(self, level: _Level, rejected: list[Batch]) -> list[Batch] | None:
        """A better valid plan than the level's best so far, among its starts, those of a plan no
        repair could staff and the relaxation's support (a dive, teams exact where they fail).

        The rejected plan is usually near the level's optimum and the kept one far from it; on
        generated l waitlist seed 3 the search ended on 1 plan change that no team could staff
        and the level kept a plan with 2 (in another run 20), where the optimum has 1.
        """
        kept = level.provisional or self.outcome.batches
        if not kept or self.size < parameters.SUPPORT_PLAN_PAYS_FROM:
            return None
        allowed = self._allowed_starts(kept, promises=False, also=rejected)
        deadline = self.elapsed() + self._repair_seconds()
        plan = self._neighbourhood_plan(level.objective, allowed, kept, deadline)
        return plan if plan is not None and self.problem.better(plan, kept) else None

    def _kept_plan_if_better(self, level: _Level, solver: cp_model.CpSolver) -> _Solved | None:
        """The plan so far (the start, or the earlier level's) or a better valid one met in the
        level, when time ran out on a worse solution.

        Small models are searched without the starting plan as a hint, so an unfinished search
        may hold a worse plan than the greedy (or previous) one; the schedule never is. A short
        solve after a team repair may end worse than a plan the level's search had checked.
        """
        start = self.outcome.batches
        if level.provisional is not None and (
            not start or self.problem.better(level.provisional, start)
        ):
            start = level.provisional
        if not start or not self.problem.better(
            start, read_batches(self.plan, solver, self.problem.calendar)
        ):
            return None
        return self._plan_as_solved(level, start)

    def _plan_as_solved(self, level: _Level, batches: list[Batch] | None) -> _Solved | None:
        """A valid plan (teams assigned) as an unproven result of the level."""
        if batches is None:
            return None
        fixed = solve_fixed(
            self.model, batch_values(self.plan, batches, self.problem.calendar), 3.0
        )
        if fixed is None:
            return None
        measured = [round(fixed.value(expression)) for expression in level.objective.expressions]
        objective = sum(f * v for f, v in zip(level.objective.factors, measured, strict=True))
        return _Solved(objective, int(cp_model.FEASIBLE), batches, all_values(fixed), measured)

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
        return _Solved(solver.objective_value, status, batches, all_values(valid), measured)

    def _solve_once(self, level: _Level, seconds: float) -> tuple[cp_model.CpSolver, int]:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = seconds
        solver.parameters.num_workers = self.options.workers
        solver.parameters.random_seed = self.options.seed
        solver.parameters.extra_subsolvers.append("max_lp")  # first pick with 2 workers
        if self.size < parameters.PROBING_PAYS_FROM:
            solver.parameters.cp_model_probing_level = 0
        if self.size < parameters.FURTHER_PRESOLVE_PAYS_FROM:
            solver.parameters.max_presolve_iterations = 1
        reporter = ProgressReporter(
            level.objective,
            self.started,
            self.options,
            level.known_bound,
            lambda incumbent: self._incumbent_staffable(level, incumbent),
        )
        status = run_solver(solver, self.model, reporter, self.options.stop_event)
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
        level, None (search on) once one was, or on a model too small for a stop to pay
        (`STOP_FOR_UNSTAFFABLE_FROM`).
        """
        batches = read_batches(self.plan, incumbent, self.problem.calendar)
        if failed := self.teams.unstaffable(batches):
            level.unstaffable_seen.update(failed)
            stop = not level.checked_valid and self.size >= parameters.STOP_FOR_UNSTAFFABLE_FROM
            return False if stop else None
        level.checked_valid = True
        self._offer_provisional(level, batches)
        return True

    def _hint_provisional(self, level: _Level) -> None:
        """Search on from the level's best valid plan rather than from a rejected one.

        From a rejected plan that no repair could staff the next solve of the level found nothing
        at all in 24 s (generated l waitlist seed 3), though valid plans were known.
        """
        if level.provisional is None or self.size < parameters.GREEDY_HINT_PAYS_FROM:
            return
        self._hint_plan(level.provisional, self._repair_seconds())

    def _offer_provisional(self, level: _Level, batches: list[Batch]) -> None:
        """Keep a valid plan for the level if it beats the one kept so far."""
        if level.provisional is None or self._better(batches, level.provisional):
            level.provisional = batches

    def _keep_provisional(self, level: _Level) -> None:
        """When time runs out on a level, keep the best valid plan met in it if it beats what we
        have; either way the level's measures are reported with the bound it had proved.

        Without the plan so far reported, a level that ran out before its first solution lost
        its bound: xl waitlist at 30 s reported the trivial bound on scheduled weight, though
        the relaxation had proved 601 before the level began.
        """
        provisional, outcome = level.provisional, self.outcome
        if level.resumed:
            return  # its caller (`_search_on`) weighs what it found against the fixed level
        objective = level.objective
        if provisional is not None and (
            not outcome.batches or self._better(provisional, outcome.batches)
        ):
            kept = provisional
        elif outcome.batches and objective.measures != (STEADY_MEASURE,):
            kept = outcome.batches  # the plan so far, at the earlier levels' values
        else:
            return
        if objective.measures == (STEADY_MEASURE,) and outcome.steady is not None:
            outcome.batches, outcome.steady.cost_bound = kept, level.known_bound
            return
        values = self.problem.measure_values(kept)
        measured = [self._minimised_value(measure, kept) for measure in objective.measures]
        for i, measure in enumerate(objective.measures):
            bound: float | None = None  # none proven: the trivial bound is reported
            if level.known_bound is not None:
                # Each later measure's bound is conditional on the plan's values before it (SPEC 8):
                # a search proven on the aggregate team bound, whose last plan no team could
                # staff, still bounds a valid plan at the same earlier values.
                bound = objective.reported(i, objective.bounds(measured, level.known_bound)[i])
            outcome.levels.append(
                LevelOutcome(measure, values[measure], bound, bound == values[measure])
            )
        outcome.status, outcome.batches = "SOLVED", kept

    def _fix_level(self, level: _Level, solved: _Solved) -> None:
        """Record the level's measures and constrain later levels to schedules at least this good on them."""
        set_hint(self.model, solved.values)
        objective = level.objective
        bound = (
            solved.objective
            if solved.status == cp_model.OPTIMAL or level.known_bound is None
            else level.known_bound
        )
        bounds = objective.bounds(solved.measured, bound)
        seconds = time.monotonic() - level.started
        if objective.measures == (STEADY_MEASURE,) and self.outcome.steady is not None:
            # Not a SPEC level: reported apart (`SearchOutcome.steady`), never in `levels`.
            steady = self.outcome.steady
            steady.cost_bound, steady.proven = bounds[0], bounds[0] == solved.measured[0]
            steady.seconds = seconds
            self.outcome.batches = solved.batches
            self.model.add(objective.expression <= round(solved.objective))
            return
        if self.relaxation is not None:
            # Later levels' relaxation bounds are conditional on this one (SPEC 8).
            self.relaxation.hold_at_most(objective.expression, round(solved.objective))
        if self.capacity is not None:
            self.capacity.hold_stage(objective, round(solved.objective))
        for i, measure in enumerate(objective.measures):
            self.outcome.levels.append(
                LevelOutcome(
                    measure,
                    objective.reported(i, solved.measured[i]),
                    objective.reported(i, bounds[i]),
                    bounds[i] == solved.measured[i],
                    seconds if i == 0 else 0.0,
                    level.first_solution,
                    len(self.teams.exact) - level.exact_shifts_before if i == 0 else 0,
                )
            )
        self.outcome.status, self.outcome.batches = "SOLVED", solved.batches
        if self.outcome.first_schedule_seconds is None:
            self.outcome.first_schedule_seconds = self.elapsed()
        self.model.add(objective.expression <= round(solved.objective))


def search(problem: PlanningProblem, options: SolveOptions, started: float) -> SearchOutcome:
    """Optimise the measures in `objective.order`, weighted lexicographically into one objective.

    In a re-plan (`SolveOptions.keep_steady`) a last level follows them: churn, the cost of
    moving patients without an event of their own, with every SPEC measure held.

    On the largest models the first measure is optimised alone first, then the others with it
    held. The first-come-first-served plan is the floor (the answer if the search finds nothing
    better in time) and, from 10 k model variables, the starting point. After every solve the
    teams are assigned exactly; a shift the aggregate bound let through without a possible team
    is modelled exactly and the level is solved again, so a level is fixed only at a value a
    valid schedule reaches.
    """
    return _Search(problem, options, started).run()
