"""Why a patient is unscheduled, in words a coordinator can act on (rule, resource, dates)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime

from models import Instance
from models.timeutil import weekday_name
from scheduler.extract import Batch
from scheduler.options import PatientOptions, StartOption, SuiteClass
from scheduler.roster import Roster

MAX_REASONS = 3


class ResourceUsage:
    """What a finished schedule uses of chairs, starts, suite classes, operators and the QC lab."""

    def __init__(self, instance: Instance, batches: list[Batch], calendar_start: date) -> None:
        self.instance = instance
        self.chairs: Counter[tuple[str, date]] = Counter()
        self.starts: Counter[date] = Counter()
        self.occupancy: dict[int, list[tuple[datetime, datetime, str]]] = defaultdict(list)
        self.operator_hours: defaultdict[tuple[date, str, str], float] = defaultdict(float)
        self.qc_starts: Counter[tuple[int, str]] = Counter()
        self.collected_by: dict[tuple[str, date], list[str]] = defaultdict(list)
        for batch in batches:
            if batch.apheresis_date is not None and not batch.in_progress:
                patient = next(p for p in instance.patients if p.id == batch.patient_id)
                if patient.collected_on is None:
                    self.chairs[(batch.hospital.id, batch.apheresis_date)] += 1
                    self.collected_by[(batch.hospital.id, batch.apheresis_date)].append(batch.patient_id)
            if batch.start.date() >= calendar_start:
                self.starts[batch.start.date()] += 1
            self.occupancy[batch.class_index].append((batch.start, batch.occupied_until, batch.patient_id))
            for step in batch.steps:
                for operator in step.operators:
                    self.operator_hours[(step.date, step.shift_id, operator)] += step.step.hours
            for assay in batch.assays:
                if assay.start_day >= 0:
                    self.qc_starts[(assay.start_day, assay.assay.id)] += 1


def explain_unscheduled(
    options: PatientOptions,
    usage: ResourceUsage,
    classes: list[SuiteClass],
    roster: Roster,
    calendar_start: date,
) -> list[str]:
    """Reasons a patient is not in the plan, most specific first, each starting with its rule id."""
    if not options.starts:
        reasons = [reason for reason, _ in options.rejections.most_common(MAX_REASONS)]
        return reasons or ["C2 apheresis: no apheresis date in the window can be used"]
    blocked: dict[str, list[tuple[StartOption, str]]] = defaultdict(list)
    for option in options.starts:
        reason = _first_blocking_rule(options, option, usage, classes, roster, calendar_start)
        blocked[reason.split(":", 1)[0]].append((option, reason))
    reasons = []
    for group in sorted(blocked.values(), key=len, reverse=True)[:MAX_REASONS]:
        option, reason = group[0]
        if len(group) > 1:
            last = group[-1][0]
            reason += (
                f"; likewise for {len(group) - 1} other candidate start(s) up to {last.slot.label}"
            )
        reasons.append(reason)
    return reasons


def _first_blocking_rule(
    options: PatientOptions,
    option: StartOption,
    usage: ResourceUsage,
    classes: list[SuiteClass],
    roster: Roster,
    calendar_start: date,
) -> str:
    instance = usage.instance
    hospital = options.hospital
    free_dates = []
    for day in option.apheresis_dates if options.uses_chair else []:
        chairs = hospital.apheresis_capacity.get(weekday_name(day), 0)  # type: ignore[call-overload]
        if usage.chairs[(hospital.id, day)] + hospital.booked_elsewhere.get(day, 0) < chairs:
            free_dates.append(day)
    if options.uses_chair and not free_dates:
        taken = ", ".join(
            f"{day:%a %Y-%m-%d} ({', '.join(usage.collected_by[(hospital.id, day)]) or 'booked elsewhere'})"
            for day in option.apheresis_dates
        )
        return f"C2 apheresis: every chair of {hospital.id} ({hospital.name}) is taken on the usable collection days {taken}"
    limit = instance.site.max_starts_per_day
    start_date = option.slot.date
    if limit is not None and usage.starts[start_date] >= limit:
        return f"C4 start: the site already has its {limit} manufacturing starts on {start_date:%a %Y-%m-%d}"
    if not any(_class_free(classes[c], option, usage) for c in option.classes):
        types = "/".join(options.product.suite_types)
        return (
            f"C5 suite: no {types} position is free from {option.slot.start:%a %Y-%m-%d %H:%M} "
            f"to {option.occupied_until:%a %Y-%m-%d %H:%M} (all taken by other batches)"
        )
    for step in options.product.steps:
        day = date.fromordinal(option.slot.date.toordinal() + step.day_offset)
        shifts = [option.slot.shift.id] if step.day_offset == 0 else [s.id for s in instance.site.shifts]
        if not any(_team_free(step.skill, step.operators, step.hours, day, shift, usage, roster, instance) for shift in shifts):
            return (
                f"C6 steps: not enough {step.skill!r} operators with {step.hours:g} free hours rostered on "
                f"{day:%a %Y-%m-%d} for {step.id!r}, day {step.day_offset} of a start on {option.slot.label}"
            )
    for index, assay in enumerate(options.product.qc_assays):
        days = option.assay_days[index]
        capacity = instance.qc_lab.capacity[assay.id]
        if all(usage.qc_starts[(day, assay.id)] >= capacity for day in days):
            first = date.fromordinal(calendar_start.toordinal() + days[0])
            return (
                f"C7 qc: the lab's {capacity} daily {assay.id!r} starts are all used on the days it could start "
                f"({first:%a %Y-%m-%d} + {len(days) - 1} more) for a start on {option.slot.label}"
            )
    return (
        f"C1 coverage: a start on {option.slot.label} fits each resource alone but not all together "
        "without displacing patients of equal or higher priority"
    )


def _class_free(suite_class: SuiteClass, option: StartOption, usage: ResourceUsage) -> bool:
    intervals = usage.occupancy.get(suite_class.index, [])
    points = [option.slot.start] + [s for s, _, _ in intervals if option.slot.start <= s < option.occupied_until]
    return all(
        sum(1 for s, until, _ in intervals if s <= point < until) < suite_class.capacity for point in points
    )


def _team_free(skill: str, needed: int, hours: float, day: date, shift_id: str, usage: ResourceUsage,
               roster: Roster, instance: Instance) -> bool:
    shift_hours = instance.shift_by_id[shift_id].hours
    free = [
        op for op in roster.qualified(day, shift_id, skill)
        if usage.operator_hours[(day, shift_id, op.id)] + hours <= shift_hours + 1e-9
    ]
    return len(free) >= needed
