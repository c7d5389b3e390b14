"""Rules about testing and release: C7 qc, C8 release, C9 delivery (SPEC 3, 8)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import validator.violation as involved
from models.timeutil import weekday_name
from validator.context import Batch, Context
from validator.violation import Violation


def sample_date(batch: Batch, sample_day_offset: int) -> date:
    """The sample date of an assay: manufacturing start date + `sample_day_offset`."""
    return batch.start_date + timedelta(days=sample_day_offset)


def sampled_before_horizon(ctx: Context, batch: Batch, sampled: date) -> bool:
    """An in-progress assay sampled before the horizon: started on its sample date, no capacity (C11)."""
    return not batch.is_new and sampled < ctx.horizon_start


def check_c7_qc(ctx: Context) -> list[Violation]:
    """C7 qc: one scheduled assay per product assay, started within `max_wait_days` of its sample
    date on a QC working day that is not a lab closed date, ending `duration_days` later; at most
    `qc_lab.capacity[assay]` starts of an assay per date (new and in progress); the optional
    `qc_lab.capacity_by_date[date][assay]` replaces it on that date.

    SPEC 8: a given `sample_date` equals the computed one. In-progress assays sampled before the
    horizon start on their sample date, use no capacity and are exempt from working days.
    """
    found: list[Violation] = []
    lab = ctx.instance.qc_lab
    starts: dict[tuple[date, str], list[str]] = defaultdict(list)
    for batch in ctx.batches:
        who = batch.patient_id
        assays = {assay.id: assay for assay in batch.product.qc_assays}
        listed = Counter(entry.assay for entry in batch.assignment.qc)
        for assay_id in assays:
            if listed[assay_id] == 0:
                found.append(
                    Violation(
                        "C7",
                        f"{who}: assay {assay_id} (sampled "
                        f"{sample_date(batch, assays[assay_id].sample_day_offset)}) is not scheduled",
                        patients=(who,),
                        resources=(involved.assay(assay_id),),
                        dates=(sample_date(batch, assays[assay_id].sample_day_offset),),
                    )
                )
            elif listed[assay_id] > 1:
                found.append(
                    Violation(
                        "C7",
                        f"{who}: assay {assay_id} is listed {listed[assay_id]} times",
                        patients=(who,),
                        resources=(involved.assay(assay_id),),
                    )
                )
        for entry in batch.assignment.qc:
            assay = assays.get(entry.assay)
            if assay is None:
                found.append(
                    Violation(
                        "C7",
                        f"{who}: unknown assay {entry.assay} for product {batch.product.id}",
                        patients=(who,),
                        resources=(involved.assay(entry.assay),),
                    )
                )
                continue
            sampled = sample_date(batch, assay.sample_day_offset)
            if entry.sample_date is not None and entry.sample_date != sampled:
                found.append(
                    Violation(
                        "C7",
                        f"{who}: assay {assay.id} sample_date {entry.sample_date} should be {sampled} "
                        f"(start date {batch.start_date} + {assay.sample_day_offset} days)",
                        patients=(who,),
                        resources=(involved.assay(assay.id),),
                        dates=involved.dates_of(entry.sample_date, sampled),
                    )
                )
            expected_end = entry.start_date + timedelta(days=assay.duration_days)
            if entry.end_date != expected_end:
                found.append(
                    Violation(
                        "C7",
                        f"{who}: assay {assay.id} end_date {entry.end_date} should be {expected_end} "
                        f"(start {entry.start_date} + {assay.duration_days} days)",
                        patients=(who,),
                        resources=(involved.assay(assay.id),),
                        dates=(entry.end_date, expected_end),
                    )
                )
            if sampled_before_horizon(ctx, batch, sampled):
                if entry.start_date != sampled:
                    found.append(
                        Violation(
                            "C7",
                            f"{who}: assay {assay.id} sampled {sampled} before the horizon is taken as "
                            f"started on its sample date, not {entry.start_date}",
                            patients=(who,),
                            resources=(involved.assay(assay.id),),
                            dates=(sampled, entry.start_date),
                        )
                    )
                continue
            latest = sampled + timedelta(days=assay.max_wait_days)
            if not sampled <= entry.start_date <= latest:
                found.append(
                    Violation(
                        "C7",
                        f"{who}: assay {assay.id} starts {entry.start_date}, outside {sampled}..{latest} "
                        f"(sample date + max wait of {assay.max_wait_days} day(s))",
                        patients=(who,),
                        resources=(involved.assay(assay.id),),
                        dates=(entry.start_date, sampled, latest),
                    )
                )
            if weekday_name(entry.start_date) not in lab.working_days:
                found.append(
                    Violation(
                        "C7",
                        f"{who}: assay {assay.id} starts {weekday_name(entry.start_date)} "
                        f"{entry.start_date}, not a QC-lab working day",
                        patients=(who,),
                        resources=(involved.assay(assay.id), involved.QC_LAB),
                        dates=(entry.start_date,),
                    )
                )
            if entry.start_date in lab.closed_dates:
                found.append(
                    Violation(
                        "C7",
                        f"{who}: assay {assay.id} starts {entry.start_date}, a QC-lab closed date",
                        patients=(who,),
                        resources=(involved.assay(assay.id), involved.QC_LAB),
                        dates=(entry.start_date,),
                    )
                )
            starts[(entry.start_date, assay.id)].append(who)
    for (day, assay_id), patient_ids in sorted(starts.items()):
        capacity = lab.capacity_on(assay_id, day)
        if len(patient_ids) > capacity:
            found.append(
                Violation(
                    "C7",
                    f"{', '.join(sorted(patient_ids))}: {len(patient_ids)} {assay_id} assay start(s) on "
                    f"{day}, QC capacity is {capacity}",
                    patients=tuple(sorted(patient_ids)),
                    resources=(involved.assay(assay_id), involved.QC_LAB),
                    dates=(day,),
                )
            )
    return found


def check_c8_release(ctx: Context) -> list[Violation]:
    """C8 release: `release_date = max(assay end dates, manufacturing_end local date) + qp_release_days`.

    Uses the schedule's stated assay end dates and manufacturing_end; C5 and C7 check those.
    """
    found: list[Violation] = []
    for batch in ctx.batches:
        assay_ids = {assay.id for assay in batch.product.qc_assays}
        end_date = ctx.local_date(ctx.utc(batch.assignment.manufacturing_end))
        ends = [entry.end_date for entry in batch.assignment.qc if entry.assay in assay_ids]
        last = max([end_date, *ends])
        expected = last + timedelta(days=batch.product.qp_release_days)
        if batch.assignment.release_date != expected:
            found.append(
                Violation(
                    "C8",
                    f"{batch.patient_id}: release_date {batch.assignment.release_date} should be {expected} "
                    f"(last of manufacturing end {end_date} and assay ends = {last}, + "
                    f"{batch.product.qp_release_days} QP days)",
                    patients=(batch.patient_id,),
                    dates=(batch.assignment.release_date, expected),
                )
            )
    return found


def check_c9_delivery(ctx: Context) -> list[Violation]:
    """C9 delivery: `delivery_date = max(release + return_transit_days, infusion earliest)`, and not
    after `infusion_window.latest`. An in-progress batch has a window only if the instance gives one.
    """
    found: list[Violation] = []
    for batch in ctx.batches:
        who, assignment = batch.patient_id, batch.assignment
        window = (
            batch.patient.infusion_window
            if batch.patient is not None
            else (batch.in_progress.infusion_window if batch.in_progress else None)
        )
        arrives = assignment.release_date + timedelta(days=batch.hospital.return_transit_days)
        expected = max(arrives, window.earliest) if window is not None else arrives
        if assignment.delivery_date != expected:
            why = f"release {assignment.release_date} + {batch.hospital.return_transit_days} transit days"
            if window is not None:
                why += f", infusion window opens {window.earliest}"
            found.append(
                Violation(
                    "C9",
                    f"{who}: delivery_date {assignment.delivery_date} should be {expected} ({why})",
                    patients=(who,),
                    resources=(involved.hospital(batch.hospital.id),),
                    dates=(assignment.delivery_date, expected),
                )
            )
        if (
            window is not None
            and window.latest is not None
            and assignment.delivery_date > window.latest
        ):
            found.append(
                Violation(
                    "C9",
                    f"{who}: delivery_date {assignment.delivery_date} is after the infusion window closes "
                    f"on {window.latest}",
                    patients=(who,),
                    resources=(involved.hospital(batch.hospital.id),),
                    dates=(assignment.delivery_date, window.latest),
                )
            )
    return found
