"""What a run's end says about the patients, and summaries over runs with 95 % intervals.

Treated weight and patients count the plan's new patients (those of the simulated instance,
with their own weight, not a rescue's higher one) whose product reaches them inside the
horizon; drop-outs are counted apart and never as untreated. Late: delivered after the end of
the original infusion window (only a rescue can be: its window has no end).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import date
from typing import Any

from models import Instance, Schedule
from scheduler.workflows.simulate.clairvoyant import Clairvoyant
from scheduler.workflows.simulate.play import Played

Z95 = 1.959963984540054

# Per-run measures: name -> whether more is better (None: neither, a count of events).
MEASURES: dict[str, bool | None] = {
    "treated_weight": True,
    "treated_patients": True,
    "late_patients": False,
    "untreated_patients": False,
    "late_or_untreated": False,
    "dropouts": None,
    "failed_batches": None,
    "rescued_patients": True,
    "rescue_delay_days_mean": False,
    "date_changes": False,
    "dates_withdrawn": False,
    "vein_to_vein_days_mean": False,
}


def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 6) if values else None


def _count(
    instance: Instance,
    delivered: dict[str, tuple[date, date | None]],
    dropped: set[str],
) -> dict[str, Any]:
    """Measures over the instance's new patients from who got which delivery."""
    weight = treated = late = untreated = 0.0
    vein_to_vein: list[float] = []
    for patient in instance.patients:
        if patient.id in dropped:
            continue
        if patient.id not in delivered:
            untreated += 1
            continue
        delivery, collected = delivered[patient.id]
        weight += patient.weight
        treated += 1
        latest = patient.infusion_window.latest
        if latest is not None and delivery > latest:
            late += 1
        if collected is not None:
            vein_to_vein.append((delivery - collected).days)
    return {
        "treated_weight": round(weight, 6),
        "treated_patients": int(treated),
        "late_patients": int(late),
        "untreated_patients": int(untreated),
        "late_or_untreated": int(late + untreated),
        "dropouts": len(dropped & {p.id for p in instance.patients}),
        "vein_to_vein_days_mean": _mean(vein_to_vein),
        "vein_to_vein_days": vein_to_vein,
    }


def played_measures(instance: Instance, played: Played) -> dict[str, Any]:
    """The measures of one run under one policy (or doing nothing)."""
    delivered: dict[str, tuple[date, date | None]] = {}
    dropped: set[str] = set()
    rescue_delays: list[float] = []
    failed = rescued = 0
    for patient, life in played.lives.items():
        if life.dropped_on is not None:
            dropped.add(patient)
        failed += len(life.failures)
        if life.dropped_on is not None or life.lost or life.record is None:
            continue
        delivery = life.record.delivery_date
        delivered[patient] = (delivery, life.first_apheresis)
        if life.failures:
            rescued += 1
            rescue_delays.append((delivery - life.failures[0]).days)
    measures = _count(instance, delivered, dropped)
    measures |= {
        "failed_batches": failed,
        "rescued_patients": rescued,
        "rescue_delay_days_mean": _mean(rescue_delays),
        "rescue_delay_days": rescue_delays,
        "date_changes": sum(life.date_changes for life in played.lives.values()),
        "dates_withdrawn": sum(life.withdrawn for life in played.lives.values()),
        "event_days": played.event_days,
        "quiet_days": played.quiet_days,
        "restaffed_days": played.restaffed_days,
        "events": played.events,
        "solver_fallbacks": played.solver_fallbacks,
        "time_limited_solves": played.time_limited_solves,
        "failed_solves": played.failed_solves,
        "absences_covered": played.absences_covered,
        "skipped_events": list(played.skipped),
        "final_status": played.schedule.status,
    }
    return measures


def clairvoyant_measures(
    instance: Instance, schedule: Schedule, seer: Clairvoyant
) -> dict[str, Any]:
    """The measures of the clairvoyant plan (no rescue delays: it never waits for a failure)."""
    communicated = {a.patient: a.apheresis_date for a in schedule.assignments}
    delivered: dict[str, tuple[date, date | None]] = {}
    changes = 0
    for assignment in seer.schedule.assignments:
        if assignment.in_progress:
            continue
        delivered[assignment.patient] = (assignment.delivery_date, assignment.apheresis_date)
        before = communicated.get(assignment.patient)
        if before is not None and assignment.apheresis_date != before:
            changes += 1
    # As in play: drop-outs are counted apart, patients whose two batches fail are untreated.
    measures = _count(instance, delivered, seer.dropped)
    measures |= {
        "failed_batches": None,
        "rescued_patients": len([p for p in seer.rescued if p in delivered]),
        "rescue_delay_days_mean": None,
        "rescue_delay_days": [],
        "date_changes": changes,
        "dates_withdrawn": None,
        "time_limited": seer.time_limited,
        "absences_covered": seer.absences_covered,
        "problems": seer.problems or [],
        "final_status": seer.schedule.status,
    }
    return measures


def summarize(values: Sequence[float | None]) -> dict[str, Any]:
    """Mean, standard deviation and a 95 % normal-approximation interval of the mean."""
    present = [float(v) for v in values if v is not None]
    n = len(present)
    if n == 0:
        return {"n": 0, "mean": None, "std": None, "ci95": None, "min": None, "max": None}
    mean = statistics.fmean(present)
    std = statistics.stdev(present) if n > 1 else 0.0
    half = Z95 * std / math.sqrt(n) if n > 1 else 0.0
    return {
        "n": n,
        "mean": round(mean, 6),
        "std": round(std, 6),
        "ci95": [round(mean - half, 6), round(mean + half, 6)],
        "min": round(min(present), 6),
        "max": round(max(present), 6),
    }
