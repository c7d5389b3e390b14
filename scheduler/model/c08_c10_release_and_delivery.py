"""C8 release, C9 delivery and C10 horizon: the product arrives inside the infusion window and the horizon."""

from __future__ import annotations

from ortools.sat.python import cp_model

from scheduler.model.variables import PlanVariables
from scheduler.problem.calendar import SiteCalendar


def add_release_and_delivery(plan: PlanVariables, calendar: SiteCalendar) -> None:
    """C8–C10: delivery = max(release + return transit, infusion earliest) <= infusion latest, inside the horizon.

    `delivery_day` is only bounded from below by the release chain; minimising wait_days
    makes it exact, and the schedule recomputes every date from the chosen starts anyway.
    """
    model = plan.model
    last_day = calendar.days - 1
    for options in plan.patients:
        patient_id = options.patient.id
        product, hospital = options.product, options.hospital
        scheduled = plan.scheduled[patient_id]
        after_release = product.qp_release_days + hospital.return_transit_days
        window = options.patient.infusion_window
        latest = last_day if window.latest is None else min(last_day, calendar.day(window.latest))
        delivery = model.new_int_var(0, max(latest, 0), f"delivery[{patient_id}]")
        plan.delivery_day[patient_id] = delivery
        model.add(delivery <= last_day * scheduled)
        model.add(delivery >= calendar.day(window.earliest) * scheduled)
        # Per start, all of release chain and window at once: much tighter than each term alone.
        model.add(
            delivery
            >= sum(
                literal * option.earliest_delivery
                for index, option in enumerate(options.starts)
                for literal in plan.starts(patient_id, index)
            )
        )
        for assay_index, assay in enumerate(product.qc_assays):
            # An assay that ends in time on its last possible day for every start is covered
            # by the per-start bound above (usually all but the longest, sterility).
            if not options.assay_never_decides_delivery(assay_index):
                model.add(
                    delivery
                    >= _assay_end_expr(
                        plan, patient_id, assay_index, assay.duration_days + after_release
                    )
                )
    for commitment in plan.commitments:
        batch_id = commitment.batch.patient
        after_release = commitment.product.qp_release_days + commitment.hospital.return_transit_days
        latest = last_day
        batch_window = commitment.batch.infusion_window
        if batch_window is not None and batch_window.latest is not None:
            latest = min(latest, calendar.day(batch_window.latest))
        if commitment.end_day + after_release > latest:
            model.add_bool_or([])  # infeasible commitment; explained by the option builder
        for assay_index, remaining in enumerate(commitment.assays):
            if remaining.started_before_horizon:
                continue
            model.add(
                _assay_end_expr(
                    plan, batch_id, assay_index, remaining.assay.duration_days + after_release
                )
                <= latest
            )


def _assay_end_expr(
    plan: PlanVariables, owner: str, assay_index: int, offset: int
) -> cp_model.LinearExprT:
    starts = plan.assay_start.get((owner, assay_index), {})
    return sum(literal * (day + offset) for day, literal in starts.items())
