"""Key performance indicators of a plan, read from the schedule document and its instance.

`compute_kpis(instance, schedule)` returns a JSON-ready dict of plain numbers:

- `suite_utilisation` — occupied position-hours / available position-hours, `overall` and
  `by_suite`. Occupied: every assignment (new and in-progress) from `manufacturing_start` to
  `manufacturing_end + changeover_hours`, clipped to the horizon `[horizon.start 00:00,
  horizon end 00:00)` local. Available: positions × (real horizon hours − the suite's
  downtime hours inside the horizon, overlapping periods counted once).
- `operator_load` — assigned hands-on hours / rostered shift hours, `overall` and
  `by_skill`. Assigned: each scheduled step's `hours` × its number of operators. Rostered:
  each roster entry dated inside the horizon counts its shift's `hours`. By skill: steps
  needing the skill against the rostered hours of the operators who hold it (an operator
  with two skills counts in both).
- `qc_load` — assay starts / starts the lab could make, `overall` and `by_assay`. Starts:
  scheduled assays whose `start_date` lies in the horizon (in-progress assays sampled before
  it use no capacity). Capacity: `qc_lab.capacity[assay]` on every horizon date that is a
  lab working day and not a lab closed date.
- `ready_to_delivery_days` — `delivery_date − apheresis_window.earliest` in days over the
  scheduled new patients: `median`, `p90` and the number of `patients`.
- `vein_to_vein_days` — `delivery_date − apheresis_date` in days, same patients and stats.
- `patients`, `scheduled`, `unscheduled` (new patients) and `in_progress` (batches).
- `unscheduled_by_rule` — for every rule id (`C2`, `C5`, …) the number of unscheduled
  patients with at least one reason naming it (a patient blocked by two rules counts under
  both); `unscheduled_by_main_rule` counts each patient once, under its first reason's rule.
  A reason that starts with no rule id counts under `other`.

Each ratio entry is `{"ratio", <numerator>, <denominator>}`; `ratio` is `None` when the
denominator is 0. The median of an even count is the mean of the middle two; p90 is the
nearest rank: the smallest value that at least 90 % of the patients reach or beat, i.e.
`sorted(values)[ceil(0.9 n) − 1]`. With no patient both are `None`.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from typing import Any

from models import MEASURES, Instance, Schedule
from scheduler.reporting.plan_facts import (
    downtime_hours,
    horizon_of,
    lab_days,
    occupancies,
    overlap_hours,
    product_of,
    products_by_batch,
    step_of,
)

RULE_ID = re.compile(r"^\s*(C\d+)\b")
OTHER_REASON = "other"
DIGITS = 6  # rounding of hours and ratios: enough for hand checks, none of the float noise


def compute_kpis(instance: Instance, schedule: Schedule) -> dict[str, Any]:
    """Every KPI of the plan (definitions in the module docstring and docs/KPIS.md)."""
    new_patients = {patient.id for patient in instance.patients}
    scheduled = [a for a in schedule.assignments if not a.in_progress and a.patient in new_patients]
    return {
        "suite_utilisation": suite_utilisation(instance, schedule),
        "operator_load": operator_load(instance, schedule),
        "qc_load": qc_load(instance, schedule),
        "ready_to_delivery_days": day_stats(ready_to_delivery_days(instance, schedule)),
        "vein_to_vein_days": day_stats(vein_to_vein_days(instance, schedule)),
        "patients": len(instance.patients),
        "scheduled": len({a.patient for a in scheduled}),
        "unscheduled": len({u.patient for u in schedule.unscheduled}),
        "in_progress": sum(1 for a in schedule.assignments if a.in_progress),
        "unscheduled_by_rule": unscheduled_by_rule(schedule),
        "unscheduled_by_main_rule": unscheduled_by_main_rule(schedule),
    }


def ratio_entry(numerator: float, denominator: float, names: tuple[str, str]) -> dict[str, Any]:
    """`{"ratio": n/d, names[0]: n, names[1]: d}`, the ratio `None` when nothing was available."""
    ratio = round(numerator / denominator, DIGITS) if denominator > 0 else None
    return {"ratio": ratio, names[0]: _number(numerator), names[1]: _number(denominator)}


def _number(value: float) -> float | int:
    # Counts and whole hours read better as integers in JSON and in the workbook.
    rounded = round(value, DIGITS)
    return int(rounded) if float(rounded).is_integer() else rounded


def suite_utilisation(instance: Instance, schedule: Schedule) -> dict[str, Any]:
    """Occupied / available position-hours inside the horizon, overall and per suite."""
    horizon = horizon_of(instance)
    occupied: dict[str, float] = defaultdict(float)
    for batch in occupancies(instance, schedule):
        occupied[batch.assignment.suite] += overlap_hours(
            batch.start, batch.free_at, horizon.start, horizon.end
        )
    names = ("occupied_hours", "available_hours")
    by_suite = {}
    for suite in instance.suites:
        open_hours = horizon.hours - downtime_hours(instance, suite.id, horizon)
        by_suite[suite.id] = ratio_entry(occupied[suite.id], suite.positions * open_hours, names)
    overall = ratio_entry(
        sum(entry["occupied_hours"] for entry in by_suite.values()),
        sum(entry["available_hours"] for entry in by_suite.values()),
        names,
    )
    return {"overall": overall, "by_suite": by_suite}


def operator_load(instance: Instance, schedule: Schedule) -> dict[str, Any]:
    """Assigned hands-on hours / rostered shift hours, overall and per skill."""
    horizon = horizon_of(instance)
    products = products_by_batch(instance)
    assigned: dict[str, float] = defaultdict(float)
    for assignment in schedule.assignments:
        product = product_of(instance, products, assignment)
        for scheduled in assignment.steps:
            step = step_of(product, scheduled.step)
            assigned[step.skill] += step.hours * len(scheduled.operators)
    rostered: dict[str, float] = defaultdict(float)
    rostered_total = 0.0
    for operator in instance.operators:
        hours = sum(
            instance.shift_by_id[entry.shift].hours
            for entry in operator.roster
            if horizon.contains(entry.date)
        )
        rostered_total += hours
        for skill in operator.skills:
            rostered[skill] += hours
    names = ("assigned_hours", "rostered_hours")
    skills = sorted(set(assigned) | set(rostered))
    return {
        "overall": ratio_entry(sum(assigned.values()), rostered_total, names),
        "by_skill": {
            skill: ratio_entry(assigned[skill], rostered[skill], names) for skill in skills
        },
    }


def qc_load(instance: Instance, schedule: Schedule) -> dict[str, Any]:
    """Assay starts / lab capacity over the lab's working days in the horizon, overall and per assay."""
    starts: Counter[str] = Counter()
    capacity: Counter[str] = Counter()
    for day in lab_days(instance, schedule):
        starts.update(day.starts)
        capacity.update(day.capacity)
    names = ("starts", "capacity")
    assays = list(instance.qc_lab.capacity) + sorted(set(starts) - set(instance.qc_lab.capacity))
    return {
        "overall": ratio_entry(sum(starts.values()), sum(capacity.values()), names),
        "by_assay": {assay: ratio_entry(starts[assay], capacity[assay], names) for assay in assays},
    }


def ready_to_delivery_days(instance: Instance, schedule: Schedule) -> list[int]:
    """`delivery_date − apheresis_window.earliest` in days, per scheduled new patient."""
    patients = {patient.id: patient for patient in instance.patients}
    return [
        (a.delivery_date - patients[a.patient].apheresis_window.earliest).days
        for a in schedule.assignments
        if not a.in_progress and a.patient in patients
    ]


def vein_to_vein_days(instance: Instance, schedule: Schedule) -> list[int]:
    """`delivery_date − apheresis_date` in days, per scheduled new patient."""
    patients = {patient.id for patient in instance.patients}
    return [
        (a.delivery_date - a.apheresis_date).days
        for a in schedule.assignments
        if not a.in_progress and a.patient in patients and a.apheresis_date is not None
    ]


def day_stats(days: list[int]) -> dict[str, Any]:
    """Median, nearest-rank p90 and count of a list of day counts (`None` stats when empty)."""
    if not days:
        return {"median": None, "p90": None, "patients": 0}
    return {
        "median": _number(statistics.median(days)),
        "p90": percentile(days, 90),
        "patients": len(days),
    }


def percentile(values: list[int], percent: float) -> int:
    """Nearest-rank percentile: the smallest value with at least `percent` % of values at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def rule_of(reason: str) -> str:
    """The rule id a reason starts with (`C5 suite: …` → `C5`), or `other`."""
    match = RULE_ID.match(reason)
    return match.group(1) if match else OTHER_REASON


def unscheduled_by_rule(schedule: Schedule) -> dict[str, int]:
    """Unscheduled patients per rule named in any of their reasons, in rule order."""
    counts: Counter[str] = Counter()
    for entry in schedule.unscheduled:
        counts.update({rule_of(reason) for reason in entry.reasons})
    return _in_rule_order(counts)


def unscheduled_by_main_rule(schedule: Schedule) -> dict[str, int]:
    """Unscheduled patients per rule of their first reason (sums to the unscheduled count)."""
    counts = Counter(rule_of(entry.reasons[0]) for entry in schedule.unscheduled if entry.reasons)
    return _in_rule_order(counts)


def _in_rule_order(counts: Counter[str]) -> dict[str, int]:
    # C2 before C10 (numeric order), `other` last: the order of SPEC section 3.
    def key(rule: str) -> tuple[int, int]:
        return (1, 0) if rule == OTHER_REASON else (0, int(rule[1:]))

    return {rule: counts[rule] for rule in sorted(counts, key=key)}


def _percent(entry: dict[str, Any]) -> str:
    ratio = entry["ratio"]
    return "n/a" if ratio is None else f"{100 * ratio:.1f} %"


def _amount(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _ratio_text(entry: dict[str, Any], used: str, available: str, unit: str) -> str:
    return f"{_percent(entry)} ({_amount(entry[used])} of {_amount(entry[available])} {unit})"


def _stats_text(stats: dict[str, Any]) -> str:
    if stats["patients"] == 0:
        return "n/a (no scheduled patient)"
    count = stats["patients"]
    return f"median {_amount(stats['median'])}, p90 {stats['p90']} ({count} patient{'' if count == 1 else 's'})"


def _rules_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{rule}: {count}" for rule, count in counts.items()) or "none"


def format_kpis(kpis: dict[str, Any]) -> list[tuple[str, str]]:
    """The KPIs as (label, value text) rows for the CLI summary and the workbook's kpis sheet."""
    rows = [
        ("Patients scheduled", f"{kpis['scheduled']} of {kpis['patients']}"),
        ("Patients unscheduled", str(kpis["unscheduled"])),
        ("Unscheduled by main rule", _rules_text(kpis["unscheduled_by_main_rule"])),
        ("Unscheduled by any rule", _rules_text(kpis["unscheduled_by_rule"])),
        ("In-progress batches", str(kpis["in_progress"])),
        ("Ready to delivery (days)", _stats_text(kpis["ready_to_delivery_days"])),
        ("Vein-to-vein (days)", _stats_text(kpis["vein_to_vein_days"])),
    ]
    suites = kpis["suite_utilisation"]
    rows.append(
        (
            "Suite position utilisation",
            _ratio_text(suites["overall"], "occupied_hours", "available_hours", "position-hours"),
        )
    )
    rows += [
        (
            f"Suite {suite} utilisation",
            _ratio_text(entry, "occupied_hours", "available_hours", "position-hours"),
        )
        for suite, entry in suites["by_suite"].items()
    ]
    operators = kpis["operator_load"]
    rows.append(
        (
            "Operator hands-on load",
            _ratio_text(operators["overall"], "assigned_hours", "rostered_hours", "h"),
        )
    )
    rows += [
        (
            f"Operator load, skill {skill}",
            _ratio_text(entry, "assigned_hours", "rostered_hours", "h"),
        )
        for skill, entry in operators["by_skill"].items()
    ]
    lab = kpis["qc_load"]
    rows.append(("QC load", _ratio_text(lab["overall"], "starts", "capacity", "starts")))
    rows += [
        (f"QC load, assay {assay}", _ratio_text(entry, "starts", "capacity", "starts"))
        for assay, entry in lab["by_assay"].items()
    ]
    return rows


def compare_plans(plans: list[tuple[Instance, Schedule]]) -> dict[str, Any]:
    """Plans side by side (a plan and its what-if scenarios): objective and KPIs per plan, and labelled rows."""
    columns: list[dict[str, Any]] = []
    tables: list[dict[str, str]] = []
    for instance, schedule in plans:
        kpis = compute_kpis(instance, schedule)
        objective: dict[str, Any] = (
            {} if schedule.objective is None else schedule.objective.model_dump()
        )
        columns.append(
            {
                "name": instance.name,
                "status": schedule.status,
                "objective": objective or None,
                "kpis": kpis,
            }
        )
        measures = {
            m: "" if objective.get(m) is None else _amount(float(objective[m])) for m in MEASURES
        }
        tables.append(measures | dict(format_kpis(kpis)))
    labels = list(dict.fromkeys(label for table in tables for label in table))
    rows = [[label] + [table.get(label, "") for table in tables] for label in labels]
    return {"plans": columns, "header": ["measure"] + [c["name"] for c in columns], "rows": rows}
