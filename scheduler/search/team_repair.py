"""C6 made exact where the aggregate operator bound let through a plan no team can staff.

The model bounds each shift's step demand by operator hours per skill set (a Hall condition):
necessary, not sufficient. After a solve the teams are assigned per shift
(`problem.teams.assign_operators`); a shift that cannot be staffed is modelled exactly per
operator (`model.c06_operator_staffing.add_exact_shift_team`) and the level is searched again,
unless moving little of the rejected solution, at the same objective value, already staffs it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from ortools.sat.python import cp_model

from scheduler.model.c06_operator_staffing import ShiftLoad, add_exact_shift_team
from scheduler.model.decode import read_batches
from scheduler.model.variables import PlanVariables
from scheduler.problem.batches import Batch
from scheduler.problem.planning import PlanningProblem
from scheduler.problem.teams import assign_operators, drop_unstaffable
from scheduler.search.solver_values import all_values, set_hint, solve_fixed

Shift = tuple[date, str]


class TeamRepair:
    """The exact team rule, added shift by shift to one model as the search needs it."""

    def __init__(
        self,
        problem: PlanningProblem,
        plan: PlanVariables,
        shift_loads: dict[Shift, ShiftLoad],
        hint_from_rejected: bool,
    ) -> None:
        self.problem, self.plan, self.shift_loads = problem, plan, shift_loads
        # Large models search on from the rejected solution (one shift away from valid);
        # small ones are faster from scratch (docs/PERFORMANCE.md).
        self.hint_from_rejected = hint_from_rejected
        self.exact: set[Shift] = set()

    def unstaffable(self, batches: list[Batch]) -> list[Shift]:
        """Assign teams to the batches; the shifts no team can staff (C6)."""
        return assign_operators(batches, self.problem.instance, self.problem.roster)

    def without_unstaffable(self, batches: list[Batch], failed: list[Shift]) -> list[Batch] | None:
        """A valid plan: the rejected one minus the lightest patients of its unstaffable shifts."""
        return drop_unstaffable(batches, failed, self.problem.instance, self.problem.roster)

    def model_exactly(self, failed: list[Shift]) -> None:
        """C6 exactly (per operator) on shifts no team could staff."""
        for slot in failed:
            if slot not in self.exact:
                self.exact.add(slot)
                add_exact_shift_team(
                    self.plan.model,
                    self.shift_loads[slot],
                    self.problem.roster,
                    self.problem.instance,
                )

    def search_again_from(self, rejected: cp_model.CpSolver, failed: list[Shift]) -> None:
        """Model the failed shifts exactly; the next search starts from the rejected solution on large models."""
        model = self.plan.model
        variables_before = len(model.proto.variables)
        self.model_exactly(failed)
        if self.hint_from_rejected:
            set_hint(model, {i: v for i, v in all_values(rejected).items() if i < variables_before})
        else:
            model.clear_hints()  # type: ignore[no-untyped-call]

    def nearby(
        self,
        objective: cp_model.LinearExpr,
        rejected: cp_model.CpSolver,
        batches: list[Batch],
        failed: list[Shift],
        seconds_left: Callable[[], float],
    ) -> tuple[list[Batch], cp_model.CpSolver] | None:
        """The rejected solution made staffable by changing little of it, at the same objective value.

        First only the shifts of flexible steps move (every other choice kept); then the patients
        working on the dates of the unstaffable shifts, and those not scheduled, may change too.
        The objective stays at the rejected solution's value, so the proof of the level still holds.
        Each repair solve gets `seconds_left()`, asked afresh as the search's time runs down.
        """
        for free in (set(), self._around(rejected, batches, failed)):
            for _ in range(3):  # a move may overload another shift: model it exactly and try again
                moved = self._solve_around(objective, rejected, free, seconds_left())
                if moved is None:
                    break
                batches = read_batches(self.plan, moved, self.problem.calendar)
                failed = self.unstaffable(batches)
                if not failed:
                    return batches, moved
                self.model_exactly(failed)
        return None

    def best_nearby(
        self,
        rejected: cp_model.CpSolver,
        batches: list[Batch],
        failed: list[Shift],
        seconds_left: Callable[[], float],
    ) -> list[Batch] | None:
        """The best staffable plan a short solve finds changing only the patients working on the
        dates of the unstaffable shifts and those not scheduled; None if none in time.

        For when `nearby` fails: its plan may be a little worse than the rejected one, but near a
        good rejected plan it is usually far better than the last valid plan met (generated l
        waitlist seed 3: the last solution was 7 units from its bound and no plan at its value
        could be staffed).
        """
        free = self._around(rejected, batches, failed)
        for _ in range(3):  # a move may overload another shift: model it exactly and try again
            moved = self._solve_around(None, rejected, free, seconds_left())
            if moved is None:
                return None
            found = read_batches(self.plan, moved, self.problem.calendar)
            failed = self.unstaffable(found)
            if not failed:
                return found
            self.model_exactly(failed)
        return None

    def _around(
        self, rejected: cp_model.CpSolver, batches: list[Batch], failed: list[Shift]
    ) -> set[str]:
        """The patients working on the dates of the failed shifts, and those not scheduled."""
        days = {day for day, _ in failed}
        touching = {
            b.patient_id
            for b in batches
            if not b.in_progress and any(s.date in days for s in b.steps)
        }
        return touching | {p for p, v in self.plan.scheduled.items() if not rejected.value(v)}

    def _solve_around(
        self,
        objective: cp_model.LinearExpr | None,
        rejected: cp_model.CpSolver,
        free: set[str],
        seconds: float,
    ) -> cp_model.CpSolver | None:
        """A solution keeping every choice of `rejected` but those of the `free` patients and the
        step shifts: at the value of `objective` it reached, or (None) the best one found."""
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
        decisions = {v.index: rejected.value(v) for v in kept}
        if objective is None:
            return solve_fixed(plan.model, decisions, seconds, minimise=True)
        same = objective <= round(rejected.objective_value)
        return solve_fixed(plan.model, decisions, seconds, same)
