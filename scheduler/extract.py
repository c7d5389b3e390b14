"""From solver values to concrete batches: step shifts, operator teams and suite positions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from ortools.sat.python import cp_model

from models import Instance, Operator, Product
from models.instance import Hospital, OpenDateWindow, QcAssay, Step
from scheduler.calendar import SiteCalendar
from scheduler.options import SuiteClass
from scheduler.roster import Roster
from scheduler.variables import AssayPool, PlanVariables

# Where solution values are read from: a finished solve, or an incumbent during the search.
Solution = cp_model.CpSolver | cp_model.CpSolverSolutionCallback


@dataclass
class PlannedAssay:
    """One assay of a batch: sample day, start day, end day (day indices)."""

    assay: QcAssay
    sample_day: int
    start_day: int

    @property
    def end_day(self) -> int:
        """The day the assay finishes."""
        return self.start_day + self.assay.duration_days


@dataclass
class PlannedStep:
    """One step of a batch in a shift, with its team once assigned."""

    step: Step
    date: date
    shift_id: str
    operators: list[str] = field(default_factory=list)


@dataclass
class Batch:
    """A patient's (or in-progress) batch with every decision made."""

    patient_id: str
    in_progress: bool
    product: Product
    hospital: Hospital
    apheresis_date: date | None
    start: datetime
    end: datetime
    occupied_until: datetime
    end_day: int
    class_index: int
    steps: list[PlannedStep]
    assays: list[PlannedAssay]
    suite: str = ""
    position: int = 0
    release_day: int = 0
    delivery_day: int = 0


def read_batches(plan: PlanVariables, solver: Solution, calendar: SiteCalendar) -> list[Batch]:
    """The batches chosen by a solution (suite positions and teams still to assign)."""
    batches: list[Batch] = []
    flexible: dict[tuple[date, str, str], list[PlannedStep]] = defaultdict(list)
    pooled: dict[
        int, tuple[AssayPool, list[PlannedAssay]]
    ] = {}  # id(pool) -> the pool, its assays in this plan
    for options in plan.patients:
        patient = options.patient
        if not solver.value(plan.scheduled[patient.id]):
            continue
        (index, class_index) = next(
            (i, c)
            for i, option in enumerate(options.starts)
            for c in option.classes
            if solver.value(plan.start_in_class[(patient.id, i, c)])
        )
        option = options.starts[index]
        apheresis: date | None
        if options.uses_chair:
            apheresis = next(
                d
                for d in options.apheresis_dates
                if solver.value(plan.apheresis_on[(patient.id, d)])
            )
        else:
            apheresis = patient.collected_on
        steps = []
        for step in options.product.steps:
            day = calendar.date(option.slot.day + step.day_offset)
            planned = PlannedStep(step, day, option.slot.shift.id)
            steps.append(planned)
            if step.day_offset > 0:
                flexible[(day, options.product.id, step.id)].append(planned)
        assays = []
        for i, assay in enumerate(options.product.qc_assays):
            pool = plan.assay_pool.get((patient.id, i), {}).get(option.slot.day)
            if pool is None:
                assays.append(
                    PlannedAssay(
                        assay,
                        option.slot.day + assay.sample_day_offset,
                        _chosen_day(plan, solver, patient.id, i),
                    )
                )
            else:
                assays.append(
                    PlannedAssay(assay, option.slot.day + assay.sample_day_offset, pool.days[0])
                )
                pooled.setdefault(id(pool), (pool, []))[1].append(assays[-1])
        batches.append(
            Batch(
                patient.id,
                False,
                options.product,
                options.hospital,
                apheresis,
                option.slot.start,
                option.end,
                option.occupied_until,
                option.end_day,
                class_index,
                steps,
                assays,
            )
        )
    for commitment in plan.commitments:
        steps = []
        for remaining in commitment.steps:
            planned = PlannedStep(remaining.step, remaining.date, remaining.fixed_shift or "")
            steps.append(planned)
            if remaining.fixed_shift is None:
                flexible[(remaining.date, commitment.product.id, remaining.step.id)].append(planned)
        assays = [
            PlannedAssay(
                r.assay,
                calendar.day(r.sample_date),
                calendar.day(r.sample_date)
                if r.started_before_horizon
                else _chosen_day(plan, solver, commitment.batch.patient, i),
            )
            for i, r in enumerate(commitment.assays)
        ]
        batches.append(
            Batch(
                commitment.batch.patient,
                True,
                commitment.product,
                commitment.hospital,
                None,
                commitment.start,
                commitment.end,
                commitment.occupied_until,
                commitment.end_day,
                commitment.class_index,
                steps,
                assays,
                commitment.batch.suite,
                commitment.batch.position,
            )
        )
    for assay_pool, pool_assays in pooled.values():
        _hand_out_pool_days(assay_pool, pool_assays, solver)
    _spread_flexible_steps(plan, solver, calendar, flexible)
    windows = {o.patient.id: o.patient.infusion_window for o in plan.patients} | {
        c.batch.patient: c.batch.infusion_window for c in plan.commitments
    }
    for batch in batches:
        set_release_and_delivery(batch, windows[batch.patient_id], calendar)
    return batches


def _hand_out_pool_days(pool: AssayPool, planned: list[PlannedAssay], solver: Solution) -> None:
    """Give a pool's assays the lab days its counts chose (any order: the day never moves a delivery)."""
    if not pool.flows:
        return  # one allowed day, already set
    days = [day for day in pool.days for _ in range(solver.value(pool.flows[day]))]
    for assay, day in zip(planned, days, strict=True):
        assay.start_day = day


def _chosen_day(plan: PlanVariables, solver: Solution, owner: str, assay_index: int) -> int:
    return next(
        day
        for day, literal in plan.assay_start[(owner, assay_index)].items()
        if solver.value(literal)
    )


def _spread_flexible_steps(
    plan: PlanVariables,
    solver: Solution,
    calendar: SiteCalendar,
    flexible: dict[tuple[date, str, str], list[PlannedStep]],
) -> None:
    # Patients are interchangeable for a step kind on a date: fill shifts to the solved counts.
    counts: dict[tuple[int, str, str], list[tuple[str, cp_model.IntVar]]] = defaultdict(list)
    for (count_day, shift_id, count_product, count_step), count in sorted(plan.step_count.items()):
        counts[(count_day, count_product, count_step)].append((shift_id, count))
    for (day, product_id, step_id), planned in flexible.items():
        queue = list(planned)
        for shift_id, count in counts.get((calendar.day(day), product_id, step_id), []):
            for _ in range(solver.value(count)):
                queue.pop(0).shift_id = shift_id
        assert not queue, f"step counts do not cover {step_id} on {day}"


def set_release_and_delivery(
    batch: Batch, window: OpenDateWindow | None, calendar: SiteCalendar
) -> None:
    """C8/C9: release after the last assay and manufacturing end; delivery not before the window opens."""
    release = (
        max([batch.end_day] + [a.end_day for a in batch.assays]) + batch.product.qp_release_days
    )
    delivery = release + batch.hospital.return_transit_days
    if window is not None:
        delivery = max(delivery, calendar.day(window.earliest))
    batch.release_day, batch.delivery_day = release, delivery


def assign_operators(
    batches: list[Batch], instance: Instance, roster: Roster
) -> list[tuple[date, str]]:
    """Give every step a team (C6) shift by shift; return the shifts where no team assignment exists."""
    by_slot: dict[tuple[date, str], list[PlannedStep]] = defaultdict(list)
    for batch in batches:
        for planned in batch.steps:
            by_slot[(planned.date, planned.shift_id)].append(planned)
    failed = []
    for (day, shift_id), steps in sorted(by_slot.items()):
        if not _assign_shift_team(
            steps, roster.on_shift(day, shift_id), instance.shift_by_id[shift_id].hours
        ):
            failed.append((day, shift_id))
    return failed


def drop_unstaffable(
    batches: list[Batch], failed: list[tuple[date, str]], instance: Instance, roster: Roster
) -> list[Batch] | None:
    """The plan without the fewest, lightest new patients that make the failed shifts unstaffable.

    Every shift is then staffed again; None if even the in-progress work cannot be.
    """
    weight = {p.id: p.weight for p in instance.patients}
    kept = list(batches)
    for day, shift_id in failed:
        while True:
            steps = [s for b in kept for s in b.steps if (s.date, s.shift_id) == (day, shift_id)]
            if _assign_shift_team(
                steps, roster.on_shift(day, shift_id), instance.shift_by_id[shift_id].hours
            ):
                break
            victims = [
                b
                for b in kept
                if not b.in_progress
                and any((s.date, s.shift_id) == (day, shift_id) for s in b.steps)
            ]
            if not victims:
                return None
            kept.remove(min(victims, key=lambda b: (weight[b.patient_id], b.start, b.patient_id)))
    if assign_operators(kept, instance, roster):
        return None
    return kept


def _assign_shift_team(
    steps: list[PlannedStep], operators: list[Operator], shift_hours: float
) -> bool:
    """Team assignment for one shift: a quick fill first, an exact tiny CP-SAT model when that fails."""
    return _fill_shift_team(steps, operators, shift_hours) or _solve_shift_team(
        steps, operators, shift_hours
    )


def _fill_shift_team(
    steps: list[PlannedStep], operators: list[Operator], shift_hours: float
) -> bool:
    """Steps with the fewest qualified operators first, each to those with the most hours left."""
    left = {op.id: shift_hours for op in operators}
    qualified = {id(s): [op.id for op in operators if s.step.skill in op.skills] for s in steps}
    chosen: dict[int, list[str]] = {}
    for planned in sorted(steps, key=lambda s: (len(qualified[id(s)]), -s.step.hours)):
        able = [op for op in qualified[id(planned)] if left[op] + 1e-9 >= planned.step.hours]
        if len(able) < planned.step.operators:
            return False
        team = sorted(able, key=lambda op: (-left[op], op))[: planned.step.operators]
        for op in team:
            left[op] -= planned.step.hours
        chosen[id(planned)] = sorted(team)
    for planned in steps:
        planned.operators = chosen[id(planned)]
    return True


def _solve_shift_team(
    steps: list[PlannedStep], operators: list[Operator], shift_hours: float
) -> bool:
    """Exact team assignment for one shift: a tiny CP-SAT model."""
    model = cp_model.CpModel()
    takes: dict[tuple[int, str], cp_model.IntVar] = {}
    for s, planned in enumerate(steps):
        qualified = [op for op in operators if planned.step.skill in op.skills]
        literals = []
        for op in qualified:
            takes[(s, op.id)] = model.new_bool_var(f"{s}-{op.id}")
            literals.append(takes[(s, op.id)])
        model.add(sum(literals) == planned.step.operators)
    hundredths = round(shift_hours * 100)
    for op in operators:
        load = [
            takes[(s, op.id)] * round(p.step.hours * 100)
            for s, p in enumerate(steps)
            if (s, op.id) in takes
        ]
        if load:
            model.add(sum(load) <= hundredths)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 10
    if solver.solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return False
    for s, planned in enumerate(steps):
        planned.operators = sorted(
            op_id for (i, op_id), lit in takes.items() if i == s and solver.value(lit)
        )
    return True


def assign_positions(batches: list[Batch], classes: list[SuiteClass]) -> None:
    """Colour each pooled class's batches onto its (suite, position) members in start order (C5)."""
    by_class: dict[int, list[Batch]] = defaultdict(list)
    for batch in batches:
        by_class[batch.class_index].append(batch)
    for class_index, members in by_class.items():
        free_from: dict[tuple[str, int], datetime] = {}
        # In-progress batches are fixed; they start first in a pooled class, so place them first.
        ordered = sorted(members, key=lambda b: (b.start, not b.in_progress, b.patient_id))
        for batch in ordered:
            if batch.in_progress:
                free_from[(batch.suite, batch.position)] = batch.occupied_until
                continue
            member = next(
                m
                for m in classes[class_index].members
                if m not in free_from or free_from[m] <= batch.start
            )
            batch.suite, batch.position = member
            free_from[member] = batch.occupied_until


def batch_values(
    plan: PlanVariables, batches: list[Batch], calendar: SiteCalendar
) -> dict[int, int]:
    """The model variable values (by variable index) that describe these batches: a search hint.

    Only decisions are given; variables defined by them (counts, loads) are completed by the caller.
    """
    values: dict[int, int] = {}
    for variable in plan.scheduled.values():
        values[variable.index] = 0
    for group in (plan.start_in_class, plan.apheresis_on, plan.step_count):
        for variable in group.values():
            values[variable.index] = 0
    for days in plan.assay_start.values():
        for choice in days.values():
            if isinstance(choice, cp_model.IntVar):
                values[choice.index] = 0
    # Each pool is listed under every (patient, assay, start day) it serves: reset it once.
    every_pool = {id(pool): pool for pools in plan.assay_pool.values() for pool in pools.values()}
    for each_pool in every_pool.values():
        for flow in each_pool.flows.values():
            values[flow.index] = 0
    for variable in plan.delivery_day.values():
        values[variable.index] = 0
    step_counts: dict[tuple[int, str, str, str], int] = defaultdict(int)
    for batch in batches:
        owner = batch.patient_id
        if not batch.in_progress:
            options = plan.options_of(owner)
            index = next(i for i, o in enumerate(options.starts) if o.slot.start == batch.start)
            start_day: int | None = options.starts[index].slot.day
            values[plan.scheduled[owner].index] = 1
            values[plan.start_in_class[(owner, index, batch.class_index)].index] = 1
            if options.uses_chair and batch.apheresis_date is not None:
                values[plan.apheresis_on[(owner, batch.apheresis_date)].index] = 1
            values[plan.delivery_day[owner].index] = batch.delivery_day
            flexible_offsets = {s.id for s in options.product.steps if s.day_offset > 0}
        else:
            start_day = None  # an in-progress batch: no pooled assays
            flexible_offsets = {
                r.step.id
                for c in plan.commitments
                if c.batch.patient == owner
                for r in c.steps
                if r.fixed_shift is None
            }
        for planned in batch.steps:
            if planned.step.id in flexible_offsets:
                step_counts[
                    (
                        calendar.day(planned.date),
                        planned.shift_id,
                        batch.product.id,
                        planned.step.id,
                    )
                ] += 1
        for assay_index, assay in enumerate(batch.assays):
            pool = plan.assay_pool.get((owner, assay_index), {}).get(start_day)  # type: ignore[arg-type]
            if pool is not None and pool.flows:
                # A day the model left out (after one that never fills) counts on the pool's last day.
                day = assay.start_day if assay.start_day in pool.flows else pool.days[-1]
                values[pool.flows[day].index] += 1
            literal = plan.assay_start.get((owner, assay_index), {}).get(assay.start_day)
            if isinstance(literal, cp_model.IntVar):
                values[literal.index] = 1
    for key, count in step_counts.items():
        if key in plan.step_count:
            values[plan.step_count[key].index] = count
    return values
