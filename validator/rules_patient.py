"""Rules about patients and their material: C1 coverage, C2 apheresis, C3 material (SPEC 3, 8)."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date

import validator.violation as involved
from models.timeutil import weekday_name
from validator.context import Context, is_before, plus_hours
from validator.violation import Violation

# SPEC 8 Format: at least one reason begins with a rule id C1…C11 (not C0, not C12).
_RULE_ID = re.compile(r"^C(?:1[01]|[1-9])(?!\d)")


def check_c1_coverage(ctx: Context, require_complete: bool) -> list[Violation]:
    """C1 coverage: every patient and in-progress batch appears exactly once.

    A patient is in `assignments` or in `unscheduled` with a reason that begins with a rule id;
    an in-progress batch is always assigned; no unknown ids; a new patient's assignment does not
    claim `in_progress` (an in-progress batch claiming `false` is C11's). With `require_complete`
    false (an INFEASIBLE/UNKNOWN answer without a plan) missing entries are not reported.
    """
    found: list[Violation] = []
    schedule = ctx.schedule
    assigned = Counter(a.patient for a in schedule.assignments)
    unscheduled = Counter(u.patient for u in schedule.unscheduled)
    known = set(ctx.patients) | set(ctx.in_progress)

    for patient_id in sorted((set(assigned) | set(unscheduled)) - known):
        found.append(
            Violation(
                "C1",
                f"{patient_id}: unknown patient id (not a patient or in-progress batch of the instance)",
                patients=(patient_id,),
            )
        )

    for entry in schedule.unscheduled:
        if entry.patient in ctx.in_progress:
            found.append(
                Violation(
                    "C1",
                    f"{entry.patient}: in-progress batch is listed as unscheduled; in-progress batches "
                    "are always assigned",
                    patients=(entry.patient,),
                )
            )
        if not any(_RULE_ID.match(reason.strip()) for reason in entry.reasons):
            found.append(
                Violation(
                    "C1",
                    f"{entry.patient}: no unscheduled reason begins with a rule id C1..C11 (reasons: "
                    f"{entry.reasons!r})",
                    patients=(entry.patient,),
                )
            )

    for assignment in schedule.assignments:
        if assignment.patient in ctx.patients and assignment.in_progress:
            found.append(
                Violation(
                    "C1",
                    f'{assignment.patient}: new patient\'s assignment has "in_progress": true',
                    patients=(assignment.patient,),
                )
            )

    for patient_id in sorted(known):
        times = assigned[patient_id] + unscheduled[patient_id]
        if times > 1:
            found.append(
                Violation(
                    "C1",
                    f"{patient_id}: appears {times} times (assignments {assigned[patient_id]}, "
                    f"unscheduled {unscheduled[patient_id]}); must appear exactly once",
                    patients=(patient_id,),
                )
            )
        elif require_complete and patient_id in ctx.in_progress and assigned[patient_id] == 0:
            # An in-progress batch listed as unscheduled is reported above; here only absence.
            if unscheduled[patient_id] == 0:
                found.append(
                    Violation(
                        "C1",
                        f"{patient_id}: in-progress batch is not in assignments",
                        patients=(patient_id,),
                    )
                )
        elif require_complete and times == 0:
            found.append(
                Violation(
                    "C1",
                    f"{patient_id}: patient is neither in assignments nor in unscheduled",
                    patients=(patient_id,),
                )
            )
    return found


def check_c2_apheresis(ctx: Context) -> list[Violation]:
    """C2 apheresis: window, hospital closed dates, chairs; `collected_on` and `locked` patients.

    SPEC 8: a `collected_on` patient has that date, uses no chair and is exempt from window,
    closed dates and horizon; chairs count the plan's collections plus `booked_elsewhere` on dates
    the plan collects someone; a missing weekday key is capacity 0.
    """
    found: list[Violation] = []
    chairs: dict[tuple[str, date], list[str]] = defaultdict(list)
    for batch, patient in ctx.with_patients():
        day = batch.assignment.apheresis_date
        who = batch.patient_id
        if day is None:
            found.append(
                Violation(
                    "C2",
                    f"{who}: new patient has no apheresis_date",
                    patients=(who,),
                    resources=(involved.hospital(batch.hospital.id),),
                )
            )
            continue
        if patient.collected_on is not None:
            if day != patient.collected_on:
                found.append(
                    Violation(
                        "C2",
                        f"{who}: apheresis_date {day} differs from collected_on {patient.collected_on} "
                        "(the collection already happened)",
                        patients=(who,),
                        resources=(involved.hospital(batch.hospital.id),),
                        dates=(day, patient.collected_on),
                    )
                )
            continue
        previous = patient.previous_apheresis_date
        if patient.locked and day != previous:
            found.append(
                Violation(
                    "C2",
                    f"{who}: locked patient must keep apheresis date {previous}, not {day}",
                    patients=(who,),
                    resources=(involved.hospital(batch.hospital.id),),
                    dates=involved.dates_of(day, previous),
                )
            )
        window = patient.apheresis_window
        if not window.earliest <= day <= window.latest:
            found.append(
                Violation(
                    "C2",
                    f"{who}: apheresis_date {day} is outside the apheresis window {window.earliest}..{window.latest}",
                    patients=(who,),
                    resources=(involved.hospital(batch.hospital.id),),
                    dates=(day,),
                )
            )
        if day in batch.hospital.closed_dates:
            found.append(
                Violation(
                    "C2",
                    f"{who}: hospital {batch.hospital.id} is closed for apheresis on {day}",
                    patients=(who,),
                    resources=(involved.hospital(batch.hospital.id),),
                    dates=(day,),
                )
            )
        chairs[(batch.hospital.id, day)].append(who)

    for (hospital_id, day), patient_ids in sorted(chairs.items()):
        hospital = ctx.instance.hospital_by_id[hospital_id]
        per_weekday = {str(key): count for key, count in hospital.apheresis_capacity.items()}
        capacity = per_weekday.get(weekday_name(day), 0)  # SPEC 5: a missing weekday key is 0
        elsewhere = hospital.booked_elsewhere.get(day, 0)
        if len(patient_ids) + elsewhere > capacity:
            found.append(
                Violation(
                    "C2",
                    f"{', '.join(sorted(patient_ids))}: hospital {hospital_id} has {capacity} apheresis "
                    "chair(s) on "
                    f"{weekday_name(day)} {day} but {len(patient_ids)} plan collection(s) + {elsewhere} "
                    "booked elsewhere",
                    patients=tuple(sorted(patient_ids)),
                    resources=(involved.hospital(hospital_id),),
                    dates=(day,),
                )
            )
    return found


def check_c3_material(ctx: Context) -> list[Violation]:
    """C3 material: start after arrival + receipt; fresh material starts within its shelf-life.

    `collected = apheresis_date + collection_end` (local); hours are real hours, so the bounds
    are computed on UTC instants and hold across daylight-saving changes (SPEC 2, 8).
    """
    found: list[Violation] = []
    for batch, patient in ctx.with_patients():
        # A collected_on patient's material was collected on that date whatever the plan says.
        day = patient.collected_on or batch.assignment.apheresis_date
        if day is None:
            continue  # reported by C2
        product, hospital = batch.product, batch.hospital
        collected = ctx.instant(day, hospital.collection_end_time)
        ready = plus_hours(collected, hospital.transit_hours + product.receipt_hours)
        if is_before(batch.start, ready):
            found.append(
                Violation(
                    "C3",
                    f"{batch.patient_id}: manufacturing_start {ctx.show(batch.start)} is before the "
                    "material is received at "
                    f"{ctx.show(ready)} (collected {ctx.show(collected)} at {hospital.id} + "
                    f"{hospital.transit_hours:g} h transit "
                    f"+ {product.receipt_hours:g} h receipt)",
                    patients=(batch.patient_id,),
                    resources=(involved.hospital(hospital.id),),
                    dates=(day, batch.start_date),
                )
            )
        if patient.material == "fresh":
            expiry = plus_hours(collected, product.fresh_shelf_life_hours)
            if is_before(expiry, batch.start):
                found.append(
                    Violation(
                        "C3",
                        f"{batch.patient_id}: fresh material collected {ctx.show(collected)} expires at "
                        f"{ctx.show(expiry)} "
                        f"({product.fresh_shelf_life_hours:g} h shelf-life) before manufacturing_start "
                        f"{ctx.show(batch.start)}",
                        patients=(batch.patient_id,),
                        resources=(involved.hospital(hospital.id),),
                        dates=(day, batch.start_date),
                    )
                )
    return found
