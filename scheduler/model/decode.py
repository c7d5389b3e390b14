"""From CP-SAT values to batches, and from batches back to CP-SAT values (hints, fixed solves)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from ortools.sat.python import cp_model

from scheduler.model.variables import AssayPool, PlanVariables
from scheduler.problem.batches import Batch, PlannedAssay, PlannedStep, set_release_and_delivery
from scheduler.problem.calendar import SiteCalendar

# Where solution values are read from: a finished solve, or an incumbent during the search.
Solution = cp_model.CpSolver | cp_model.CpSolverSolutionCallback


def read_batches(plan: PlanVariables, solver: Solution, calendar: SiteCalendar) -> list[Batch]:
    """The batches chosen by a solution (suite positions and teams still to assign)."""
    batches: list[Batch] = []
    flexible: dict[tuple[date, str, str], list[PlannedStep]] = defaultdict(list)
    owner: dict[int, str] = {}  # id(flexible step) -> patient or batch id
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
                owner[id(planned)] = patient.id
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
                owner[id(planned)] = commitment.batch.patient
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
    _spread_flexible_steps(plan, solver, calendar, flexible, owner)
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
    owner: dict[int, str],
) -> None:
    # Patients are interchangeable for a step kind on a date: fill shifts to the solved counts,
    # in a re-plan with the steps that were in that shift before first.
    counts: dict[tuple[int, str, str], list[tuple[str, cp_model.IntVar]]] = defaultdict(list)
    for (count_day, shift_id, count_product, count_step), count in sorted(plan.step_count.items()):
        counts[(count_day, count_product, count_step)].append((shift_id, count))
    for (day, product_id, step_id), planned in flexible.items():
        queue = list(planned)
        for shift_id, count in counts.get((calendar.day(day), product_id, step_id), []):
            before = [plan.previous_shifts.get((owner[id(s)], step_id, day)) for s in queue]
            queue = [
                s
                for _, s in sorted(
                    enumerate(queue),
                    key=lambda item: (
                        0 if before[item[0]] == shift_id else 1 if before[item[0]] is None else 2,
                        item[0],
                    ),
                )
            ]
            for _ in range(solver.value(count)):
                queue.pop(0).shift_id = shift_id
        assert not queue, f"step counts do not cover {step_id} on {day}"


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
            if owner in plan.delivery_day:  # (a relaxation without deliveries has none)
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
