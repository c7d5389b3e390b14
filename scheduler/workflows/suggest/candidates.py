"""Which changes to try for one patient: those its candidate starts need and the plan leaves short."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from models import Instance, Patient, Schedule
from models.timeutil import add_hours, at_clock, weekday_name
from scheduler.workflows.booking import PublishedPlan
from scheduler.workflows.suggest.changes import (
    MAX_WIDENING_DAYS,
    Change,
    operators_to_roster,
)
from scheduler.workflows.suggest.verify import TOLERANCE


@dataclass(frozen=True)
class _Reach:
    """Where the patient's batch could be: collection dates, start instants, occupied period."""

    apheresis_dates: list[date]
    first_start: datetime
    last_start: datetime
    occupied_until: datetime


def _reach(instance: Instance, patient: Patient, plan: PublishedPlan) -> _Reach:
    calendar = plan.calendar
    product = instance.product_by_id[patient.product]
    hospital = instance.hospital_by_id[patient.hospital]
    zone = calendar.zone
    window = patient.apheresis_window
    if patient.collected_on is not None:
        days = [patient.collected_on]
    elif patient.locked and patient.previous_apheresis_date is not None:
        days = [patient.previous_apheresis_date]
    else:
        days = [
            window.earliest + timedelta(days=i)
            for i in range((window.latest - window.earliest).days + 1)
        ]
    first = add_hours(
        at_clock(days[0], hospital.collection_end_time, zone),
        hospital.transit_hours + product.receipt_hours,
        zone,
    )
    last = calendar.horizon_end
    if patient.material == "fresh":
        last = min(
            last,
            add_hours(
                at_clock(days[-1], hospital.collection_end_time, zone),
                product.fresh_shelf_life_hours,
                zone,
            ),
        )
    until = add_hours(last, product.manufacturing_hours + product.changeover_hours, zone)
    return _Reach(
        [d for d in days if calendar.in_horizon(d)], max(first, calendar.horizon_start), last, until
    )


def candidate_families(
    instance: Instance, schedule: Schedule, patient: Patient, plan: PublishedPlan
) -> list[list[Change]]:
    """Candidate changes, grouped in families of growing size (k = 1, 2, … days); single ones alone."""
    reach = _reach(instance, patient, plan)
    families: list[list[Change]] = [[c] for c in _chairs(instance, patient, plan, reach)]
    families += [[c] for c in _operator_shifts(instance, patient, plan, reach)]
    product = instance.product_by_id[patient.product]
    families += [[c] for c in _qc_starts(instance, patient, plan, reach)]
    families += [[c] for c in _lab_days(instance, patient, plan, reach)]
    if instance.site.max_starts_per_day is not None:
        families.append([Change("start_limit", instance.site.id, ())])
    families += _window_families(instance, patient)
    families += _downtime_families(instance, patient, plan, reach)
    families += [
        [Change("suite_position", s.id, ())]
        for s in instance.suites
        if s.type in product.suite_types
    ]
    return families


def _chairs(
    instance: Instance, patient: Patient, plan: PublishedPlan, reach: _Reach
) -> Iterator[Change]:
    """One more chair on every collection date the patient could use that is full (or has none)."""
    if patient.collected_on is not None:
        return
    hospital = instance.hospital_by_id[patient.hospital]
    for day in reach.apheresis_dates:
        if day in hospital.closed_dates:
            continue
        if plan.chairs[(hospital.id, day)] >= hospital.free_chairs_on(day):
            yield Change("chair", hospital.id, (day,))


def _operator_shifts(
    instance: Instance, patient: Patient, plan: PublishedPlan, reach: _Reach
) -> Iterator[Change]:
    """One more operator on every (date, shift) where a step of the patient lacks exactly one."""
    product = instance.product_by_id[patient.product]
    roster = plan.problem.roster
    seen: set[tuple[date, str, str]] = set()
    for slot in plan.calendar.slots:
        if not reach.first_start <= slot.start <= reach.last_start:
            continue
        for step in product.steps:
            day = slot.date + timedelta(days=step.day_offset)
            shifts = [slot.shift] if step.day_offset == 0 else instance.site.shifts
            for shift in shifts:
                key = (day, shift.id, step.skill)
                if key in seen or step.hours > shift.hours or not plan.calendar.in_horizon(day):
                    continue
                seen.add(key)
                free = [
                    op
                    for op in roster.qualified(day, shift.id, step.skill)
                    if shift.hours - plan.operator_hours[(day, shift.id, op.id)] + TOLERANCE
                    >= step.hours
                ]
                if len(free) == step.operators - 1:
                    yield Change(
                        "operator_shift",
                        step.skill,
                        (day,),
                        shift=shift.id,
                        operator=operators_to_roster(instance, day, shift.id, step.skill)[0],
                    )


def _qc_starts(
    instance: Instance, patient: Patient, plan: PublishedPlan, reach: _Reach
) -> Iterator[Change]:
    """One more start of an assay on every lab day in the patient's reach whose starts are all taken."""
    lab = instance.qc_lab
    product = instance.product_by_id[patient.product]
    first, last = reach.first_start.date(), reach.last_start.date()
    for assay in product.qc_assays:
        day = first + timedelta(days=assay.sample_day_offset)
        latest = last + timedelta(days=assay.sample_day_offset + assay.max_wait_days)
        while day <= latest:
            open_day = lab.is_open(day)
            used = plan.qc_starts[(plan.calendar.day(day), assay.id)]
            if (
                open_day
                and plan.calendar.in_horizon(day)
                and used >= lab.capacity_on(assay.id, day)
            ):
                yield Change("qc_start", assay.id, (day,))
            day += timedelta(days=1)


def _lab_days(
    instance: Instance, patient: Patient, plan: PublishedPlan, reach: _Reach
) -> Iterator[Change]:
    """The lab's closed working days on which one of the patient's assays could start."""
    lab = instance.qc_lab
    product = instance.product_by_id[patient.product]
    first, last = reach.first_start.date(), reach.last_start.date()
    for assay in product.qc_assays:
        earliest = first + timedelta(days=assay.sample_day_offset)
        latest = last + timedelta(days=assay.sample_day_offset + assay.max_wait_days)
        for day in sorted(lab.closed_dates):
            if earliest <= day <= latest and weekday_name(day) in lab.working_days:
                yield Change("qc_open_day", assay.id, (day,))


def _window_families(instance: Instance, patient: Patient) -> list[list[Change]]:
    """The apheresis window later or earlier, the infusion window longer or opening earlier, by k days."""
    families = []
    horizon_start = instance.horizon.start
    if patient.collected_on is None and not patient.locked:
        window = patient.apheresis_window
        families.append(
            [
                Change(
                    "apheresis_window",
                    patient.id,
                    (window.earliest, window.latest + timedelta(days=k)),
                    amount=k,
                    edge="later",
                )
                for k in range(1, MAX_WIDENING_DAYS + 1)
            ]
        )
        earlier = [
            Change(
                "apheresis_window",
                patient.id,
                (window.earliest - timedelta(days=k), window.latest),
                amount=k,
                edge="earlier",
            )
            for k in range(1, MAX_WIDENING_DAYS + 1)
            if window.earliest - timedelta(days=k) >= horizon_start
        ]
        if earlier:
            families.append(earlier)
    infusion = patient.infusion_window
    if infusion.latest is not None:
        families.append(
            [
                Change(
                    "infusion_window",
                    patient.id,
                    (infusion.earliest, infusion.latest + timedelta(days=k)),
                    amount=k,
                    edge="later",
                )
                for k in range(1, MAX_WIDENING_DAYS + 1)
            ]
        )
    end = horizon_start + timedelta(days=instance.horizon.days)
    if infusion.earliest >= end - timedelta(
        days=1
    ):  # only a window opening at the horizon's end can block
        latest = infusion.latest if infusion.latest is not None else end
        families.append(
            [
                Change(
                    "infusion_window",
                    patient.id,
                    (infusion.earliest - timedelta(days=k), latest),
                    amount=k,
                    edge="earlier",
                )
                for k in range(1, MAX_WIDENING_DAYS + 1)
            ]
        )
    return families


def _downtime_families(
    instance: Instance, patient: Patient, plan: PublishedPlan, reach: _Reach
) -> list[list[Change]]:
    """Every downtime of a suitable suite in the patient's reach, shortened from either end by k days."""
    product = instance.product_by_id[patient.product]
    families = []
    for suite in instance.suites:
        if suite.type not in product.suite_types:
            continue
        for index, period in enumerate(suite.unavailable):
            start, end = plan.calendar.local(period.start), plan.calendar.local(period.end)
            if end <= reach.first_start or start >= reach.occupied_until:
                continue
            days = max(1, -(-(end - start) // timedelta(days=1)))
            for edge in ("end", "start"):
                families.append(
                    [
                        Change(
                            "downtime_shortened",
                            suite.id,
                            (period.start.date(), period.end.date()),
                            amount=k,
                            edge=edge,
                            period=index,
                        )
                        for k in range(1, days + 1)
                    ]
                )
    return families
