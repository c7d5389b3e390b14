"""Rules about manufacturing: C4 start, C5 suite, C6 steps (SPEC 3, 8)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import combinations

import validator.violation as involved
from models.instance import Step
from models.schedule import ScheduledStep
from validator.context import HOURS_TOLERANCE, Batch, Context, Occupancy, plus_hours, same_instant
from validator.violation import Violation


def _starts_a_shift(ctx: Context, batch: Batch) -> bool:
    # A gap-shifted shift start could in principle land on the next local date, so the shifts
    # of the previous date are tried too.
    for day in (batch.start_date, batch.start_date - timedelta(days=1)):
        for shift in ctx.instance.site.shifts:
            if same_instant(ctx.shift_start(day, shift), batch.start):
                return True
    return False


def check_c4_start(ctx: Context) -> list[Violation]:
    """C4 start: a new batch starts at a site shift's start; day-0 steps are in that shift;
    at most `site.max_starts_per_day` starts per local date.

    The per-day count covers new and in-progress batches, on dates on or after
    `horizon.start` only (SPEC 8). An in-progress start is the instance's fact, not checked
    against the shifts.
    """
    found: list[Violation] = []
    for batch in ctx.new_batches:
        if not _starts_a_shift(ctx, batch):
            shifts = ", ".join(f"{s.id} {s.start}" for s in ctx.instance.site.shifts)
            found.append(
                Violation(
                    "C4",
                    f"{batch.patient_id}: manufacturing_start {ctx.show(batch.start)} is not the start of "
                    f"a site shift ({shifts})",
                    patients=(batch.patient_id,),
                    dates=(batch.start_date,),
                )
            )
    for batch in ctx.batches:
        steps = {step.id: step for step in batch.product.steps}
        for entry in batch.assignment.steps:
            step, shift = steps.get(entry.step), ctx.shifts.get(entry.shift)
            if step is None or shift is None or step.day_offset != 0:
                continue  # unknown step or shift: C6
            if not same_instant(ctx.shift_start(entry.date, shift), batch.start):
                found.append(
                    Violation(
                        "C4",
                        f"{batch.patient_id}: day-0 step {entry.step} is in shift {entry.shift} of {entry.date} "
                        f"(starting {ctx.show(ctx.shift_start(entry.date, shift))}), "
                        f"not in the shift that starts manufacturing at {ctx.show(batch.start)}",
                        patients=(batch.patient_id,),
                        resources=(involved.shift(entry.shift),),
                        dates=involved.dates_of(entry.date, batch.start_date),
                    )
                )

    limit = ctx.instance.site.max_starts_per_day
    if limit is not None:
        starts: dict[date, list[str]] = defaultdict(list)
        for occupancy in ctx.occupancies():
            day = ctx.local_date(occupancy.start)
            if day >= ctx.horizon_start:
                starts[day].append(occupancy.patient_id)
        for day, patient_ids in sorted(starts.items()):
            if len(patient_ids) > limit:
                found.append(
                    Violation(
                        "C4",
                        f"{', '.join(sorted(patient_ids))}: {len(patient_ids)} manufacturing starts on "
                        f"{day}, more than max_starts_per_day {limit}",
                        patients=tuple(sorted(patient_ids)),
                        resources=(involved.Resource("site", ctx.instance.site.id),),
                        dates=(day,),
                    )
                )
    return found


def _overlaps(
    first_start: datetime, first_end: datetime, second_start: datetime, second_end: datetime
) -> bool:
    # Half-open intervals [start, end): touching is not overlapping (SPEC 8).
    return first_start < second_end and second_start < first_end


def check_c5_suite(ctx: Context) -> list[Violation]:
    """C5 suite: compatible suite type, existing position, `manufacturing_end = start + hours`,
    no overlap of `[start, end + changeover)` on a position, none with a suite's unavailable periods.

    In-progress batches occupy the position the instance gives them, assigned or not.
    Unavailable periods are local naive times of the site (SPEC 5), read with fold=0.
    """
    found: list[Violation] = []
    for batch in ctx.batches:
        who = batch.patient_id
        suite = ctx.instance.suite_by_id.get(batch.suite_id)
        if suite is None:
            found.append(
                Violation(
                    "C5",
                    f"{who}: unknown suite {batch.suite_id}",
                    patients=(who,),
                    resources=(involved.suite(batch.suite_id),),
                )
            )
        else:
            if suite.type not in batch.product.suite_types:
                found.append(
                    Violation(
                        "C5",
                        f"{who}: suite {suite.id} is of type {suite.type}, product {batch.product.id} "
                        f"needs {' or '.join(batch.product.suite_types)}",
                        patients=(who,),
                        resources=(involved.suite(suite.id),),
                    )
                )
            if not 1 <= batch.position <= suite.positions:
                found.append(
                    Violation(
                        "C5",
                        f"{who}: suite {suite.id} has positions 1..{suite.positions}, not {batch.position}",
                        patients=(who,),
                        resources=(
                            involved.suite(suite.id),
                            involved.position(suite.id, batch.position),
                        ),
                    )
                )
        expected_end = plus_hours(batch.start, batch.product.manufacturing_hours)
        stated_end = ctx.utc(batch.assignment.manufacturing_end)
        if not same_instant(stated_end, expected_end):
            found.append(
                Violation(
                    "C5",
                    f"{who}: manufacturing_end {ctx.show(stated_end)} should be {ctx.show(expected_end)} "
                    f"(manufacturing_start {ctx.show(batch.start)} + "
                    f"{batch.product.manufacturing_hours:g} h)",
                    patients=(who,),
                    resources=(involved.position(batch.suite_id, batch.position),),
                    dates=(batch.start_date, ctx.local_date(stated_end)),
                )
            )
    found += _position_overlaps(ctx)
    found += _downtime_overlaps(ctx)
    return found


def _placed(ctx: Context) -> list[Occupancy]:
    # Only batches on an existing suite position can clash with each other.
    placed = []
    for occupancy in ctx.occupancies():
        suite = ctx.instance.suite_by_id.get(occupancy.suite_id)
        if suite is not None and 1 <= occupancy.position <= suite.positions:
            placed.append(occupancy)
    return placed


def _position_overlaps(ctx: Context) -> list[Violation]:
    found: list[Violation] = []
    by_position: dict[tuple[str, int], list[Occupancy]] = defaultdict(list)
    for occupancy in _placed(ctx):
        by_position[(occupancy.suite_id, occupancy.position)].append(occupancy)
    for (suite_id, position), occupants in sorted(by_position.items()):
        occupants.sort(key=lambda o: (o.start, o.patient_id))
        for first, second in combinations(occupants, 2):
            if _overlaps(first.start, first.occupied_end, second.start, second.occupied_end):
                found.append(
                    Violation(
                        "C5",
                        f"{first.patient_id}, {second.patient_id}: overlap on suite {suite_id} "
                        f"position {position} (manufacturing + changeover): "
                        f"{first.patient_id} occupies {ctx.show(first.start)}..{ctx.show(first.occupied_end)}, "
                        f"{second.patient_id} occupies {ctx.show(second.start)}..{ctx.show(second.occupied_end)}",
                        patients=(first.patient_id, second.patient_id),
                        resources=(involved.suite(suite_id), involved.position(suite_id, position)),
                        dates=_overlap_dates(
                            ctx, first.start, first.occupied_end, second.start, second.occupied_end
                        ),
                    )
                )
    return found


def _downtime_overlaps(ctx: Context) -> list[Violation]:
    found: list[Violation] = []
    for occupancy in _placed(ctx):
        suite = ctx.instance.suite_by_id[occupancy.suite_id]
        for period in suite.unavailable:
            down_start = ctx.utc(period.start)
            down_end = ctx.utc(period.end)
            if _overlaps(occupancy.start, occupancy.occupied_end, down_start, down_end):
                why = f" ({period.reason})" if period.reason else ""
                found.append(
                    Violation(
                        "C5",
                        f"{occupancy.patient_id}: suite {suite.id} is unavailable "
                        f"{ctx.show(down_start)}..{ctx.show(down_end)}{why} "
                        f"while position {occupancy.position} is occupied "
                        f"{ctx.show(occupancy.start)}..{ctx.show(occupancy.occupied_end)}",
                        patients=(occupancy.patient_id,),
                        resources=(
                            involved.suite(suite.id),
                            involved.position(suite.id, occupancy.position),
                        ),
                        dates=_overlap_dates(
                            ctx, occupancy.start, occupancy.occupied_end, down_start, down_end
                        ),
                    )
                )
    return found


def _required_steps(ctx: Context, batch: Batch) -> list[str]:
    # An in-progress batch lists only the steps dated on or after horizon.start (C11).
    return [
        step.id
        for step in batch.product.steps
        if batch.is_new or batch.start_date + timedelta(days=step.day_offset) >= ctx.horizon_start
    ]


@dataclass(frozen=True)
class _Staff:
    """Who can work when: skills and rostered `(date, shift)` per operator id."""

    skills: dict[str, set[str]]
    rostered: dict[str, set[tuple[date, str]]]

    @classmethod
    def of(cls, ctx: Context) -> _Staff:
        operators = ctx.instance.operators
        return cls(
            skills={o.id: set(o.skills) for o in operators},
            rostered={o.id: {(r.date, r.shift) for r in o.roster} for o in operators},
        )


# Hours per (operator, date, shift), with who used them, for the shift-length check.
_Load = dict[tuple[str, date, str], list[tuple[str, str, float]]]


def check_c6_steps(ctx: Context) -> list[Violation]:
    """C6 steps: one scheduled step per product step, on `start date + day_offset`, in a site
    shift, with exactly `step.operators` distinct, qualified, rostered operators; per operator
    and `(date, shift)` the step hours fit the shift (across all batches).

    A listed step of an in-progress batch dated before the horizon is C11's.
    """
    found: list[Violation] = []
    staff = _Staff.of(ctx)
    load: _Load = defaultdict(list)
    for batch in ctx.batches:
        found += _step_coverage(ctx, batch)
        steps = {step.id: step for step in batch.product.steps}
        for entry in batch.assignment.steps:
            step = steps.get(entry.step)
            if step is None:
                found.append(
                    Violation(
                        "C6",
                        f"{batch.patient_id}: unknown step {entry.step} for product {batch.product.id}",
                        patients=(batch.patient_id,),
                    )
                )
                continue
            if (
                not batch.is_new
                and batch.start_date + timedelta(days=step.day_offset) < ctx.horizon_start
            ):
                continue  # a done step of an in-progress batch, listed by mistake: C11's
            found += _step_entry(ctx, batch, entry, step, staff)
            if entry.shift in ctx.shifts:
                for operator_id in dict.fromkeys(entry.operators):
                    if operator_id in staff.skills:
                        load[(operator_id, entry.date, entry.shift)].append(
                            (batch.patient_id, step.id, step.hours)
                        )
    found += _shift_overloads(ctx, load)
    return found


def _step_coverage(ctx: Context, batch: Batch) -> list[Violation]:
    """Every required step listed, none twice."""
    found: list[Violation] = []
    steps = {step.id: step for step in batch.product.steps}
    listed = Counter(entry.step for entry in batch.assignment.steps)
    for step_id, times in sorted(listed.items()):
        if step_id in steps and times > 1:
            found.append(
                Violation(
                    "C6",
                    f"{batch.patient_id}: step {step_id} is listed {times} times",
                    patients=(batch.patient_id,),
                )
            )
    for step_id in _required_steps(ctx, batch):
        if listed[step_id] == 0:
            day = batch.start_date + timedelta(days=steps[step_id].day_offset)
            found.append(
                Violation(
                    "C6",
                    f"{batch.patient_id}: step {step_id} (due {day}) is not scheduled",
                    patients=(batch.patient_id,),
                    dates=(day,),
                )
            )
    return found


def _step_entry(
    ctx: Context, batch: Batch, entry: ScheduledStep, step: Step, staff: _Staff
) -> list[Violation]:
    """One listed step: its date, shift and operators."""
    found: list[Violation] = []
    who = batch.patient_id
    when = f"{entry.date} shift {entry.shift}"
    expected = batch.start_date + timedelta(days=step.day_offset)
    if entry.date != expected:
        found.append(
            Violation(
                "C6",
                f"{who}: step {step.id} is on {entry.date}, should be {expected} "
                f"(manufacturing start date {batch.start_date} + {step.day_offset} days)",
                patients=(who,),
                dates=(entry.date, expected),
            )
        )
    if entry.shift not in ctx.shifts:
        found.append(
            Violation(
                "C6",
                f"{who}: step {step.id} on {entry.date} is in unknown shift {entry.shift}",
                patients=(who,),
                resources=(involved.shift(entry.shift),),
                dates=(entry.date,),
            )
        )
    for operator_id, times in sorted(Counter(entry.operators).items()):
        if times > 1:
            found.append(
                Violation(
                    "C6",
                    f"{who}: operator {operator_id} is listed {times} times on step {step.id} ({when})",
                    patients=(who,),
                    resources=(involved.operator(operator_id), involved.shift(entry.shift)),
                    dates=(entry.date,),
                )
            )
    distinct = list(dict.fromkeys(entry.operators))
    if len(distinct) != step.operators:
        found.append(
            Violation(
                "C6",
                f"{who}: step {step.id} on {when} has {len(distinct)} distinct operator(s), needs {step.operators}",
                patients=(who,),
                resources=(involved.shift(entry.shift),),
                dates=(entry.date,),
            )
        )
    for operator_id in distinct:
        if operator_id not in staff.skills:
            found.append(
                Violation(
                    "C6",
                    f"{who}: unknown operator {operator_id} on step {step.id} ({when})",
                    patients=(who,),
                    resources=(involved.operator(operator_id),),
                    dates=(entry.date,),
                )
            )
            continue
        if step.skill not in staff.skills[operator_id]:
            found.append(
                Violation(
                    "C6",
                    f"{who}: operator {operator_id} lacks skill {step.skill} (step {step.id}, {when})",
                    patients=(who,),
                    resources=(involved.operator(operator_id),),
                    dates=(entry.date,),
                )
            )
        # Nobody is rostered on an unknown shift; that is reported once above.
        if (
            entry.shift in ctx.shifts
            and (entry.date, entry.shift) not in staff.rostered[operator_id]
        ):
            found.append(
                Violation(
                    "C6",
                    f"{who}: operator {operator_id} is not rostered on {when} (step {step.id})",
                    patients=(who,),
                    resources=(involved.operator(operator_id), involved.shift(entry.shift)),
                    dates=(entry.date,),
                )
            )
    return found


def _shift_overloads(ctx: Context, load: _Load) -> list[Violation]:
    """Per operator and (date, shift), the hours of the steps assigned fit the shift's length."""
    found: list[Violation] = []
    for (operator_id, day, shift_id), uses in sorted(load.items()):
        total = sum(hours for _, _, hours in uses)
        limit = ctx.shifts[shift_id].hours
        if total > limit + HOURS_TOLERANCE:
            detail = ", ".join(f"{who} {step_id} {hours:g} h" for who, step_id, hours in uses)
            found.append(
                Violation(
                    "C6",
                    f"{operator_id}: {total:g} h of steps on {day} shift {shift_id} exceed the shift's "
                    f"{limit:g} h ({detail})",
                    patients=tuple(sorted({who for who, _, _ in uses})),
                    resources=(involved.operator(operator_id), involved.shift(shift_id)),
                    dates=(day,),
                )
            )
    return found


def _overlap_dates(
    ctx: Context,
    first_start: datetime,
    first_end: datetime,
    second_start: datetime,
    second_end: datetime,
) -> tuple[date, ...]:
    """The local dates on which two overlapping intervals start and stop overlapping."""
    return involved.dates_of(
        ctx.local_date(max(first_start, second_start)), ctx.local_date(min(first_end, second_end))
    )
