"""In-progress batches (C11) as commitments: fixed start and position, the work left inside the horizon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from models import InProgress, Product
from models.instance import Hospital, QcAssay, Step
from models.timeutil import add_hours, at_clock
from scheduler.problem import reasons
from scheduler.problem.options import OptionBuilder, class_of_position


@dataclass(frozen=True)
class RemainingStep:
    """A step of an in-progress batch still to be done inside the horizon."""

    step: Step
    date: date
    day: int
    fixed_shift: str | None  # day-0 steps are done in the start shift


@dataclass(frozen=True)
class RemainingAssay:
    """An assay of an in-progress batch: already started (before the horizon) or still to start."""

    assay: QcAssay
    sample_date: date
    started_before_horizon: bool
    allowed_days: tuple[int, ...]


@dataclass
class Commitment:
    """An in-progress batch (C11): fixed suite position and start, remaining work to plan."""

    batch: InProgress
    product: Product
    hospital: Hospital
    start: datetime
    end: datetime
    occupied_until: datetime
    end_day: int
    class_index: int
    steps: list[RemainingStep]
    assays: list[RemainingAssay]
    problems: list[str]


def commitment_of(builder: OptionBuilder, batch: InProgress) -> Commitment:
    """The fixed and remaining work of one in-progress batch, with what makes it impossible."""
    product = builder.instance.product_by_id[batch.product]
    hospital = builder.instance.hospital_by_id[batch.hospital]
    zone = builder.calendar.zone
    start = builder.calendar.local(batch.manufacturing_start)
    end = add_hours(start, product.manufacturing_hours, zone)
    occupied_until = add_hours(end, product.changeover_hours, zone)
    start_date = start.date()
    problems: list[str] = []
    suite = builder.instance.suite_by_id[batch.suite]
    if suite.type not in product.suite_types:
        problems.append(
            reasons.in_progress_wrong_suite_type(
                batch.patient, suite.id, suite.type, product.suite_types
            )
        )
    class_index = class_of_position(builder.classes, batch.suite, batch.position)
    suite_class = builder.classes[class_index]
    if not suite_class.free_during(start, occupied_until):
        problems.append(
            reasons.in_progress_overlaps_downtime(
                batch.patient, batch.suite, batch.position, occupied_until
            )
        )
    start_shift = next(
        (
            s.id
            for s in builder.instance.site.shifts
            if at_clock(start_date, s.start_time, zone) == start
        ),
        None,
    )
    steps: list[RemainingStep] = []
    for step in product.steps:
        day = start_date + timedelta(days=step.day_offset)
        if day < builder.calendar.start_date:
            continue  # done before the horizon
        fixed = start_shift if step.day_offset == 0 else None
        remaining = RemainingStep(step, day, builder.calendar.day(day), fixed)
        steps.append(remaining)
        if not builder.calendar.in_horizon(day):
            problems.append(reasons.in_progress_step_after_horizon(batch.patient, step.id, day))
        elif step.day_offset == 0 and start_shift is None:
            problems.append(reasons.in_progress_start_off_shift(batch.patient, start, step.id))
        elif not (
            builder.step_shifts(step, day)
            if fixed is None
            else [fixed]
            if builder.roster.can_staff(day, fixed, step.skill, step.operators)
            and step.hours <= builder.instance.shift_by_id[fixed].hours
            else []
        ):
            problems.append(reasons.in_progress_step_unstaffed(batch.patient, step, day))
    assays: list[RemainingAssay] = []
    start_day = builder.calendar.day(start_date)
    for assay in product.qc_assays:
        sample_day = start_day + assay.sample_day_offset
        sample = builder.calendar.date(sample_day)
        if sample_day < 0:
            assays.append(RemainingAssay(assay, sample, True, (sample_day,)))
            if sample_day + assay.duration_days >= builder.calendar.days:
                problems.append(reasons.in_progress_assay_after_horizon(batch.patient, assay.id))
            continue
        days = builder.assay_start_days(assay, sample_day)
        assays.append(RemainingAssay(assay, sample, False, days))
        if not days:
            problems.append(reasons.in_progress_assay_no_lab_day(batch.patient, assay, sample))
    end_day = builder.manufacturing_end_day(end)
    # The earliest release: every assay on its first allowed day (assays with none are reported above).
    assay_ends = [a.allowed_days[0] + a.assay.duration_days for a in assays if a.allowed_days]
    release = max([end_day, *assay_ends]) + product.qp_release_days
    delivery = release + hospital.return_transit_days
    window = batch.infusion_window
    if window is not None:
        delivery = max(delivery, builder.calendar.day(window.earliest))
        if window.latest is not None and delivery > builder.calendar.day(window.latest):
            problems.append(
                reasons.in_progress_delivery_after_window(
                    batch.patient, hospital.id, builder.calendar.date(delivery), window.latest
                )
            )
    if delivery >= builder.calendar.days:
        problems.append(
            reasons.in_progress_delivery_after_horizon(
                batch.patient, builder.calendar.date(delivery), builder.calendar.end_date
            )
        )
    if release < 0:
        problems.append(
            reasons.in_progress_released_before_horizon(
                batch.patient, builder.calendar.date(release), builder.calendar.start_date
            )
        )
    return Commitment(
        batch,
        product,
        hospital,
        start,
        end,
        occupied_until,
        end_day,
        class_index,
        steps,
        assays,
        problems,
    )
