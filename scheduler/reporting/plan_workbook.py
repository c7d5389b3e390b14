"""A plan as the coordinator's workbook (docs/WORKBOOK.md, "Plan workbook").

Sheets: patients (one row per patient and in-progress batch, every date, suite and position),
suites (what occupies each suite position on each date), operators (hands-on hours per date,
shift and operator against the shift length), qc (assay starts per date against capacity),
unscheduled (one row per reason) and kpis. Dates and times are site-local and typed: real
Excel dates and date-times, numbers as numbers.
"""

from __future__ import annotations

import importlib
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from models import Assignment, Instance, Product, Schedule
from models.timeutil import add_hours, at_clock, local_instant, weekday_name
from models.workbook import Table, write_tables

PERCENT = "0%"
_RULE = re.compile(r"^(C(?:1[01]|[1-9]))\b")


def _horizon_dates(instance: Instance) -> list[date]:
    """Every date of the horizon."""
    return [instance.horizon.start + timedelta(days=n) for n in range(instance.horizon.days)]


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    """An instant as the site's wall-clock time (Excel cells carry no offset)."""
    return moment.astimezone(zone).replace(tzinfo=None)


def _product_of(instance: Instance) -> dict[str, Product]:
    """The product of every patient and in-progress batch."""
    products = {p.id: instance.product_by_id[p.product] for p in instance.patients}
    products |= {b.patient: instance.product_by_id[b.product] for b in instance.in_progress}
    return products


# --- patients -----------------------------------------------------------------------------------

PATIENT_COLUMNS = [
    "patient",
    "status",
    "hospital",
    "product",
    "material",
    "weight",
    "apheresis_date",
    "previous_apheresis_date",
    "date_changed",
    "suite",
    "position",
    "manufacturing_start",
    "manufacturing_end",
    "first_qc_start",
    "last_qc_end",
    "release_date",
    "delivery_date",
    "infusion_earliest",
    "infusion_latest",
    "wait_days",
    "reasons",
]


def _dates_of(assignment: Assignment | None, zone: ZoneInfo) -> list[Any]:
    """Suite, position and every date of an assignment (blanks when unscheduled)."""
    if assignment is None:
        return [None] * 8
    starts = [assay.start_date for assay in assignment.qc]
    ends = [assay.end_date for assay in assignment.qc]
    return [
        assignment.suite,
        assignment.position,
        _local(assignment.manufacturing_start, zone),
        _local(assignment.manufacturing_end, zone),
        min(starts, default=None),
        max(ends, default=None),
        assignment.release_date,
        assignment.delivery_date,
    ]


def patients_table(instance: Instance, schedule: Schedule) -> Table:
    """One row per patient (scheduled or not) and per in-progress batch."""
    zone = ZoneInfo(instance.site.timezone)
    reasons = {entry.patient: entry.reasons for entry in schedule.unscheduled}
    table = Table("patients", list(PATIENT_COLUMNS))
    for patient in instance.patients:
        assignment = schedule.assignment_of(patient.id)
        previous = patient.previous_apheresis_date
        scheduled_date = assignment.apheresis_date if assignment else None
        wait = (
            (assignment.delivery_date - patient.apheresis_window.earliest).days
            if assignment
            else None
        )
        table.rows.append(
            [
                patient.id,
                "scheduled" if assignment else "unscheduled",
                patient.hospital,
                patient.product,
                patient.material,
                patient.weight,
                scheduled_date,
                previous,
                (scheduled_date != previous) if assignment and previous else None,
                *_dates_of(assignment, zone),
                patient.infusion_window.earliest,
                patient.infusion_window.latest,
                wait,
                "; ".join(reasons.get(patient.id, [])) or None,
            ]
        )
    for batch in instance.in_progress:
        assignment = schedule.assignment_of(batch.patient)
        window = batch.infusion_window
        table.rows.append(
            [
                batch.patient,
                "in progress" if assignment else "unscheduled",
                batch.hospital,
                batch.product,
                None,
                None,
                None,
                None,
                None,
                *_dates_of(assignment, zone),
                window.earliest if window else None,
                window.latest if window else None,
                None,
                "; ".join(reasons.get(batch.patient, [])) or None,
            ]
        )
    return table


# --- suites -------------------------------------------------------------------------------------

Interval = tuple[datetime, datetime, str]


def _occupancy(instance: Instance, schedule: Schedule) -> dict[tuple[str, int], list[Interval]]:
    """Batches, changeovers and downtime on every suite position, as aware intervals."""
    zone = ZoneInfo(instance.site.timezone)
    products = _product_of(instance)
    busy: dict[tuple[str, int], list[Interval]] = defaultdict(list)
    for assignment in schedule.assignments:
        key = (assignment.suite, assignment.position)
        end = assignment.manufacturing_end
        busy[key].append((assignment.manufacturing_start, end, assignment.patient))
        product = products.get(assignment.patient)
        if product is not None and product.changeover_hours > 0:
            busy[key].append((end, add_hours(end, product.changeover_hours, zone), "changeover"))
    for suite in instance.suites:
        for period in suite.unavailable:
            closed = (
                local_instant(period.start, zone),
                local_instant(period.end, zone),
                "downtime",
            )
            for position in range(1, suite.positions + 1):
                busy[(suite.id, position)].append(closed)
    return busy


def suites_table(instance: Instance, schedule: Schedule) -> Table:
    """One row per suite position, one column per date: who (or what) occupies it that day."""
    zone = ZoneInfo(instance.site.timezone)
    days = _horizon_dates(instance)
    busy = _occupancy(instance, schedule)
    table = Table("suites", ["suite", "type", "position", *days])
    midnights = [at_clock(day, time(0, 0), zone) for day in [*days, days[-1] + timedelta(days=1)]]
    for suite in instance.suites:
        for position in range(1, suite.positions + 1):
            intervals = sorted(busy.get((suite.id, position), []))
            cells = []
            for day_start, day_end in pairwise(midnights):
                labels = [
                    label for start, end, label in intervals if start < day_end and end > day_start
                ]
                cells.append(" / ".join(dict.fromkeys(labels)) or None)
            table.rows.append([suite.id, suite.type, position, *cells])
    return table


# --- operators ----------------------------------------------------------------------------------

OPERATOR_COLUMNS = ["date", "weekday", "shift", "operator", "steps", "hours", "shift_hours", "load"]


def operators_table(instance: Instance, schedule: Schedule) -> Table:
    """Per date, shift and rostered operator: the steps assigned and their hours against the shift."""
    products = _product_of(instance)
    hours_of = {(p.id, s.id): s.hours for p in instance.products for s in p.steps}
    work: dict[tuple[date, str, str], list[tuple[str, float]]] = defaultdict(list)
    for assignment in schedule.assignments:
        product = products.get(assignment.patient)
        for step in assignment.steps:
            hours = hours_of.get((product.id, step.step), 0.0) if product else 0.0
            for operator in step.operators:
                work[(step.date, step.shift, operator)].append(
                    (f"{assignment.patient} {step.step}", hours)
                )
    first, last = instance.horizon.start, _horizon_dates(instance)[-1]
    slots = set(work) | {
        (entry.date, entry.shift, operator.id)
        for operator in instance.operators
        for entry in operator.roster
        if first <= entry.date <= last
    }
    shift_order = {shift.id: n for n, shift in enumerate(instance.site.shifts)}
    operator_order = {operator.id: n for n, operator in enumerate(instance.operators)}
    table = Table("operators", list(OPERATOR_COLUMNS), formats={"load": PERCENT})
    for day, shift, operator in sorted(
        slots,
        key=lambda s: (s[0], shift_order.get(s[1], 99), operator_order.get(s[2], 1 << 30), s[2]),
    ):
        tasks = work.get((day, shift, operator), [])
        hours = sum(h for _, h in tasks)
        length = instance.shift_by_id[shift].hours if shift in instance.shift_by_id else None
        table.rows.append(
            [
                day,
                weekday_name(day),
                shift,
                operator,
                "; ".join(name for name, _ in tasks) or None,
                hours,
                length,
                hours / length if length else None,
            ]
        )
    return table


# --- qc -----------------------------------------------------------------------------------------

QC_COLUMNS = ["date", "weekday", "assay", "starts", "capacity", "load", "lab_open", "patients"]


def qc_table(instance: Instance, schedule: Schedule) -> Table:
    """Per horizon date and assay: starts against the lab's capacity (open days, and any day with starts)."""
    starts: dict[tuple[date, str], list[str]] = defaultdict(list)
    for assignment in schedule.assignments:
        for scheduled in assignment.qc:
            starts[(scheduled.start_date, scheduled.assay)].append(assignment.patient)
    lab = instance.qc_lab
    table = Table("qc", list(QC_COLUMNS), formats={"load": PERCENT})
    for day in _horizon_dates(instance):
        is_open = lab.is_open(day)
        for assay, capacity in lab.capacity.items():
            patients = starts.get((day, assay), [])
            if not is_open and not patients:
                continue
            table.rows.append(
                [
                    day,
                    weekday_name(day),
                    assay,
                    len(patients),
                    capacity,
                    len(patients) / capacity if capacity else None,
                    is_open,
                    ", ".join(patients) or None,
                ]
            )
    return table


# --- unscheduled and kpis -----------------------------------------------------------------------


def unscheduled_table(instance: Instance, schedule: Schedule) -> Table:
    """One row per reason a patient is left out, with the rule it names."""
    table = Table("unscheduled", ["patient", "hospital", "product", "rule", "reason"])
    patients = {p.id: p for p in instance.patients}
    for entry in schedule.unscheduled:
        patient = patients.get(entry.patient)
        for reason in entry.reasons:
            rule = _RULE.match(reason)
            table.rows.append(
                [
                    entry.patient,
                    patient.hospital if patient else None,
                    patient.product if patient else None,
                    rule.group(1) if rule else None,
                    reason,
                ]
            )
    return table


def basic_kpis(instance: Instance, schedule: Schedule) -> dict[str, Any]:
    """Counts and objective of a plan: the fallback while `scheduler.kpis` is not there."""
    new = [a for a in schedule.assignments if not a.in_progress]
    values: dict[str, Any] = {
        "status": schedule.status,
        "patients": len(instance.patients),
        "scheduled_patients": len(new),
        "unscheduled_patients": len(schedule.unscheduled),
        "in_progress_batches": len(schedule.assignments) - len(new),
    }
    for measure in instance.objective_order:
        values[f"objective.{measure}"] = (
            getattr(schedule.objective, measure) if schedule.objective else None
        )
    values["solve_seconds"] = schedule.solve_seconds
    return values


def plan_kpis(instance: Instance, schedule: Schedule) -> dict[str, Any]:
    """The plan's KPIs: `scheduler.kpis.compute_kpis` when that module exists, else `basic_kpis`."""
    try:
        module = importlib.import_module("scheduler.reporting.kpis")
    except ModuleNotFoundError as exc:
        if exc.name != "scheduler.reporting.kpis":
            raise  # the module is there but something it needs is not: say so
        return basic_kpis(instance, schedule)
    compute = getattr(module, "compute_kpis", None)
    if compute is None:
        return basic_kpis(instance, schedule)
    found = compute(instance, schedule)
    return dict(found.model_dump() if hasattr(found, "model_dump") else found)


def _flat(values: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested KPI values as (dotted name, cell value) pairs."""
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flat(value, f"{name}.")
        elif isinstance(value, (list, tuple)):
            scalar = all(isinstance(v, (str, int, float)) for v in value)
            yield name, ", ".join(map(str, value)) if scalar else json.dumps(value, default=str)
        elif value is None or isinstance(value, (str, int, float, bool, date)):
            yield name, value
        else:
            yield name, str(value)


def kpis_table(instance: Instance, schedule: Schedule) -> Table:
    """One row per KPI."""
    return Table(
        "kpis",
        ["kpi", "value"],
        [[name, value] for name, value in _flat(plan_kpis(instance, schedule))],
    )


def schedule_tables(instance: Instance, schedule: Schedule) -> list[Table]:
    """Every sheet of the plan workbook, in order."""
    return [
        patients_table(instance, schedule),
        suites_table(instance, schedule),
        operators_table(instance, schedule),
        qc_table(instance, schedule),
        unscheduled_table(instance, schedule),
        kpis_table(instance, schedule),
    ]


def suggestions_table(
    suggestions: dict[str, list[Any]], reasons: dict[str, str] | None = None
) -> Table:
    """One row per verified suggestion for an unscheduled patient (scheduler/suggest.py), smallest first.

    A suggestion of several changes to make together is one row (its rule `C2+C6`, its text
    naming each change); a patient nothing can help gets one row with the reason (`reasons`).
    """
    table = Table("suggestions", ["patient", "rank", "rule", "change", "verified_by"])
    for patient_id, found in suggestions.items():
        for rank, suggestion in enumerate(found, start=1):
            table.rows.append(
                [patient_id, rank, suggestion.rule, suggestion.text, suggestion.verified_by]
            )
        if not found and reasons and patient_id in reasons:
            table.rows.append([patient_id, None, None, reasons[patient_id], None])
    return table


def write_schedule(
    instance: Instance,
    schedule: Schedule,
    target: str | Path,
    suggestions: dict[str, list[Any]] | None = None,
    reasons: dict[str, str] | None = None,
) -> Path:
    """Write the plan workbook (.xlsx) or a folder of CSV files; with suggestions (and reasons), a sheet of them too."""
    tables = schedule_tables(instance, schedule)
    if suggestions is not None:
        tables.append(suggestions_table(suggestions, reasons))
    return write_tables(tables, target)
