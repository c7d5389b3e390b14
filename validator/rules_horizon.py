"""Rules about the horizon and work already under way: C10 horizon, C11 in progress (SPEC 3, 8)."""

from __future__ import annotations

from datetime import date, timedelta

import validator.violation as involved
from validator.context import MIDNIGHT, Batch, Context, is_before, same_instant
from validator.rules_release import sample_date, sampled_before_horizon
from validator.violation import Violation


def _listed_dates(ctx: Context, batch: Batch) -> list[tuple[str, date]]:
    """The dates C10 bounds, named for the message."""
    assignment = batch.assignment
    named: list[tuple[str, date]] = []
    patient = batch.patient
    if (
        patient is not None
        and patient.collected_on is None
        and assignment.apheresis_date is not None
    ):
        named.append(("apheresis_date", assignment.apheresis_date))
    # A listed step of an in-progress batch dated before the horizon is a done step: C11's.
    named += [
        (f"step {entry.step} date", entry.date)
        for entry in assignment.steps
        if batch.is_new or entry.date >= ctx.horizon_start
    ]
    assays = {assay.id: assay for assay in batch.product.qc_assays}
    for entry in assignment.qc:
        assay = assays.get(entry.assay)
        if assay is not None and sampled_before_horizon(
            ctx, batch, sample_date(batch, assay.sample_day_offset)
        ):
            continue  # already happened: exempt (SPEC 8)
        named += [
            (f"assay {entry.assay} start_date", entry.start_date),
            (f"assay {entry.assay} end_date", entry.end_date),
        ]
    named += [
        ("release_date", assignment.release_date),
        ("delivery_date", assignment.delivery_date),
    ]
    return named


def check_c10_horizon(ctx: Context) -> list[Violation]:
    """C10 horizon: every scheduled event lies in `[horizon.start, horizon.start + days)`.

    SPEC 8: a new batch starts at or after `horizon.start 00:00` and ends by the horizon end
    00:00 (local); a `collected_on` apheresis date is exempt. For an in-progress batch what already
    happened is exempt (start, done steps, assays sampled before the horizon); listed done steps
    are C11's.
    """
    found: list[Violation] = []
    first = ctx.instant(ctx.horizon_start, MIDNIGHT)
    last = ctx.instant(ctx.horizon_end, MIDNIGHT)
    for batch in ctx.batches:
        who = batch.patient_id
        if batch.is_new:
            if is_before(batch.start, first):
                found.append(
                    Violation(
                        "C10",
                        f"{who}: manufacturing_start {ctx.show(batch.start)} is before the horizon starts "
                        f"{ctx.show(first)}",
                        patients=(who,),
                        dates=(batch.start_date,),
                    )
                )
            end = ctx.utc(batch.assignment.manufacturing_end)
            if is_before(last, end):
                found.append(
                    Violation(
                        "C10",
                        f"{who}: manufacturing_end {ctx.show(end)} is after the horizon ends {ctx.show(last)}",
                        patients=(who,),
                        dates=(ctx.local_date(end),),
                    )
                )
        for what, day in _listed_dates(ctx, batch):
            if day >= ctx.horizon_end:
                found.append(
                    Violation(
                        "C10",
                        f"{who}: {what} {day} is on or after the horizon end {ctx.horizon_end}",
                        patients=(who,),
                        dates=(day,),
                    )
                )
            elif day < ctx.horizon_start:
                found.append(
                    Violation(
                        "C10",
                        f"{who}: {what} {day} is before the horizon start {ctx.horizon_start}",
                        patients=(who,),
                        dates=(day,),
                    )
                )
    return found


def check_c11_in_progress(ctx: Context) -> list[Violation]:
    """C11 in progress: an in-progress batch keeps its suite, position and manufacturing_start, has
    `"in_progress": true` and `"apheresis_date": null`, and does not list steps done before the horizon.

    The start is compared as an instant: the instance gives local naive time, the schedule an
    offset datetime.
    """
    found: list[Violation] = []
    for batch in ctx.batches:
        running = batch.in_progress
        if running is None:
            continue
        who, assignment = batch.patient_id, batch.assignment
        if not assignment.in_progress:
            found.append(
                Violation(
                    "C11",
                    f'{who}: in-progress batch\'s assignment has "in_progress": false',
                    patients=(who,),
                )
            )
        if assignment.apheresis_date is not None:
            found.append(
                Violation(
                    "C11",
                    f"{who}: in-progress batch has apheresis_date {assignment.apheresis_date}, must be null",
                    patients=(who,),
                    dates=(assignment.apheresis_date,),
                )
            )
        if (assignment.suite, assignment.position) != (running.suite, running.position):
            found.append(
                Violation(
                    "C11",
                    f"{who}: in-progress batch moved from suite {running.suite} position "
                    f"{running.position} to suite {assignment.suite} position {assignment.position}",
                    patients=(who,),
                    resources=(
                        involved.position(running.suite, running.position),
                        involved.position(assignment.suite, assignment.position),
                    ),
                )
            )
        stated = ctx.utc(assignment.manufacturing_start)
        if not same_instant(stated, batch.start):
            found.append(
                Violation(
                    "C11",
                    f"{who}: in-progress batch's manufacturing_start {ctx.show(stated)} differs from its "
                    f"actual start {ctx.show(batch.start)}",
                    patients=(who,),
                    dates=(ctx.local_date(stated), batch.start_date),
                )
            )
        steps = {step.id: step for step in batch.product.steps}
        for entry in assignment.steps:
            step = steps.get(entry.step)
            if (
                step is not None
                and batch.start_date + timedelta(days=step.day_offset) < ctx.horizon_start
            ):
                found.append(
                    Violation(
                        "C11",
                        f"{who}: step {step.id} was done on "
                        f"{batch.start_date + timedelta(days=step.day_offset)}, before the horizon, and "
                        "must not be listed",
                        patients=(who,),
                        dates=(batch.start_date + timedelta(days=step.day_offset),),
                    )
                )
    return found
