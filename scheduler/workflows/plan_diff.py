"""What a re-plan changed, patient by patient, and which event caused it.

A change is attributed to the patient's own events (added, cancelled, delayed, failed, retest)
and to the resource events whose resource and dates the patient's old assignment used: a
suite down over its occupied interval, an absent operator on one of its steps, a QC capacity
change on one of its assay starts, a failed batch kept in its suite position. A change with no
such cause is a knock-on effect of the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from models import Assignment, Instance, Schedule
from models.events import (
    BatchFailed,
    Events,
    OperatorAbsent,
    PatientAdded,
    PatientCancelled,
    QcCapacityChanged,
    SuiteDown,
)
from models.timeutil import add_hours, local_instant
from validator import compute_objective

CHANGE_KINDS = ("moved", "newly_scheduled", "newly_unscheduled", "cancelled", "reseated")


@dataclass
class PatientChange:
    """One patient's change between the previous and the new plan."""

    patient: str
    change: str  # one of CHANGE_KINDS
    apheresis_from: date | None = None
    apheresis_to: date | None = None
    start_from: datetime | None = None
    start_to: datetime | None = None
    suite_from: str | None = None  # "S01/2"
    suite_to: str | None = None
    caused_by: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # why a patient is now unscheduled

    @property
    def apheresis_days(self) -> int | None:
        """Days the collection moved (positive: later)."""
        if self.apheresis_from is None or self.apheresis_to is None:
            return None
        return (self.apheresis_to - self.apheresis_from).days

    @property
    def start_days(self) -> int | None:
        """Calendar days the manufacturing start moved (local dates)."""
        if self.start_from is None or self.start_to is None:
            return None
        return (self.start_to.date() - self.start_from.date()).days

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "patient": self.patient,
            "change": self.change,
            "apheresis_from": _iso(self.apheresis_from),
            "apheresis_to": _iso(self.apheresis_to),
            "apheresis_days": self.apheresis_days,
            "start_from": _iso(self.start_from),
            "start_to": _iso(self.start_to),
            "start_days": self.start_days,
            "suite_from": self.suite_from,
            "suite_to": self.suite_to,
            "caused_by": list(self.caused_by),
            "reasons": list(self.reasons),
        }


@dataclass
class Diff:
    """The changes of a re-plan, and the measures before and after."""

    instance_from: str
    instance_to: str
    as_of: datetime
    changes: list[PatientChange]
    started: list[str]  # patients whose manufacturing started before as_of (now in progress)
    objective_from: dict[str, float] | None
    objective_to: dict[str, float] | None
    # The schedule's optional `churn` (re-plans keeping steady): patients moved without an event
    # of their own, and before the churn level.
    churn: dict[str, Any] | None = None

    def of(self, patient_id: str) -> PatientChange | None:
        """The change of one patient, if it changed."""
        return next((c for c in self.changes if c.patient == patient_id), None)

    def count(self, kind: str) -> int:
        """How many patients changed this way."""
        return sum(1 for c in self.changes if c.change == kind)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (dates ISO, datetimes with their offset)."""
        return {
            "instance_from": self.instance_from,
            "instance_to": self.instance_to,
            "as_of": self.as_of.strftime("%Y-%m-%dT%H:%M"),
            "counts": {kind: self.count(kind) for kind in CHANGE_KINDS},
            "changes": [c.to_dict() for c in self.changes],
            "started": list(self.started),
            "objective_from": self.objective_from,
            "objective_to": self.objective_to,
            "churn": self.churn,
        }


def _iso(value: date | datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _seat(assignment: Assignment) -> str:
    return f"{assignment.suite}/{assignment.position}"


def diff_schedules(
    old_instance: Instance,
    previous: Schedule,
    new_instance: Instance,
    schedule: Schedule,
    events: Events,
    as_of: datetime,
) -> Diff:
    """Patient by patient, how the new schedule differs from the previous one, and why."""
    zone = ZoneInfo(new_instance.site.timezone)
    old = {a.patient: a for a in previous.assignments}
    new = {a.patient: a for a in schedule.assignments}
    unscheduled = {u.patient: u.reasons for u in schedule.unscheduled}
    left_out_before = {u.patient for u in previous.unscheduled}
    in_progress_now = {b.patient for b in new_instance.in_progress}
    started = sorted(p for p, a in old.items() if not a.in_progress and p in in_progress_now)
    causes = _Causes(old_instance, previous, events, zone)
    changes: list[PatientChange] = []
    for event in events.events:
        if isinstance(event, PatientCancelled) and event.patient in old:
            before = old[event.patient]
            changes.append(
                PatientChange(
                    event.patient,
                    "cancelled",
                    before.apheresis_date,
                    None,
                    _local(before.manufacturing_start, zone),
                    None,
                    _seat(before),
                    None,
                    [event.label],
                )
            )
    for patient in new_instance.patients:
        if patient.id in left_out_before and patient.id not in new:
            continue  # still unscheduled: no change
        change = _change(
            patient.id,
            old.get(patient.id),
            new.get(patient.id),
            unscheduled.get(patient.id, []),
            zone,
        )
        if change is not None:
            change.caused_by = causes.of(patient.id, old.get(patient.id))
            changes.append(change)
    return Diff(
        old_instance.name,
        new_instance.name,
        as_of,
        changes,
        started,
        _measures(old_instance, previous),
        _measures(new_instance, schedule),
        getattr(schedule, "churn", None),
    )


def _change(
    patient_id: str,
    before: Assignment | None,
    after: Assignment | None,
    reasons: list[str],
    zone: ZoneInfo,
) -> PatientChange | None:
    if before is None and after is None:
        return PatientChange(patient_id, "newly_unscheduled", reasons=reasons) if reasons else None
    if before is None:
        assert after is not None
        return PatientChange(
            patient_id,
            "newly_scheduled",
            None,
            after.apheresis_date,
            None,
            _local(after.manufacturing_start, zone),
            None,
            _seat(after),
        )
    if after is None:
        return PatientChange(
            patient_id,
            "newly_unscheduled",
            before.apheresis_date,
            None,
            _local(before.manufacturing_start, zone),
            None,
            _seat(before),
            None,
            reasons=reasons,
        )
    change = PatientChange(
        patient_id,
        "moved",
        before.apheresis_date,
        after.apheresis_date,
        _local(before.manufacturing_start, zone),
        _local(after.manufacturing_start, zone),
        _seat(before),
        _seat(after),
    )
    if (
        before.in_progress
        or before.apheresis_date != after.apheresis_date
        or change.start_from != change.start_to
    ):
        return change
    if change.suite_from != change.suite_to:
        change.change = "reseated"
        return change
    return None


def _local(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone)


def _measures(instance: Instance, schedule: Schedule) -> dict[str, float] | None:
    if not schedule.assignments and schedule.status in ("INFEASIBLE", "UNKNOWN"):
        return None
    return compute_objective(instance, schedule)


def patients_with_own_events(events: Events) -> set[str]:
    """The patients an event is about (added, cancelled, delayed, failed, retest)."""
    own: set[str] = set()
    for event in events.events:
        if isinstance(event, PatientAdded):
            own.add(event.patient.id)
        elif isinstance(patient := getattr(event, "patient", None), str):
            own.add(patient)
    return own


def _concerns(event: object, patient_id: str) -> bool:
    """Whether the event is about this patient (added, cancelled, delayed, failed, retest)."""
    if isinstance(event, PatientAdded):
        return event.patient.id == patient_id
    return getattr(event, "patient", None) == patient_id


class _Causes:
    """Which events touched a patient or the resources its old assignment used."""

    def __init__(
        self, instance: Instance, previous: Schedule, events: Events, zone: ZoneInfo
    ) -> None:
        self.instance, self.previous, self.events, self.zone = instance, previous, events, zone
        self.products = {p.id: p for p in instance.products}
        self.product_of = {p.id: p.product for p in instance.patients} | {
            b.patient: b.product for b in instance.in_progress
        }

    def of(self, patient_id: str, before: Assignment | None) -> list[str]:
        """Labels of the events that caused this patient's change."""
        found: list[str] = []
        for event in self.events.events:
            if _concerns(event, patient_id) or (
                before is not None and self._used_by(event, before)
            ):
                found.append(event.label)
        return list(dict.fromkeys(found))

    def _used_by(self, event: object, before: Assignment) -> bool:
        if isinstance(event, SuiteDown):
            if before.suite != event.suite:
                return False
            start, until = self._occupied(before)
            down_start = local_instant(event.start, self.zone).astimezone(UTC)
            down_end = local_instant(event.end, self.zone).astimezone(UTC)
            return start < down_end and down_start < until
        if isinstance(event, OperatorAbsent):
            absent = set(event.dates)
            return any(s.date in absent and event.operator in s.operators for s in before.steps)
        if isinstance(event, QcCapacityChanged):
            changed = set(event.dates)
            return any(q.assay == event.assay and q.start_date in changed for q in before.qc)
        if isinstance(event, BatchFailed):
            failed = self.previous.assignment_of(event.patient)
            if failed is None or (failed.suite, failed.position) != (before.suite, before.position):
                return False
            free_from = local_instant(event.suite_free_from, self.zone).astimezone(UTC)
            return (
                failed.manufacturing_start.astimezone(UTC)
                < before.manufacturing_start.astimezone(UTC)
                < free_from
            )
        return False

    def _occupied(self, assignment: Assignment) -> tuple[datetime, datetime]:
        product = self.products.get(self.product_of.get(assignment.patient, ""))
        changeover = product.changeover_hours if product is not None else 0.0
        until = add_hours(assignment.manufacturing_end, changeover, self.zone)
        return assignment.manufacturing_start.astimezone(UTC), until.astimezone(UTC)


def format_diff(diff: Diff) -> list[str]:
    """The diff as lines a coordinator reads: a summary, then one line per changed patient."""
    counts = ", ".join(f"{diff.count(kind)} {kind.replace('_', ' ')}" for kind in CHANGE_KINDS)
    lines = [f"re-plan as of {diff.as_of:%a %Y-%m-%d %H:%M}: {counts}"]
    if diff.started:
        lines.append(f"  fixed (manufacturing started before as_of): {', '.join(diff.started)}")
    if diff.objective_from and diff.objective_to:
        lines.append(
            "  "
            + ", ".join(
                f"{measure} {_number(diff.objective_from[measure])} -> {_number(diff.objective_to[measure])}"
                for measure in diff.objective_to
            )
        )
    if diff.churn is not None:
        lines.append("  " + _churn_line(diff.churn))
    for change in diff.changes:
        if (
            change.change != "reseated"
        ):  # same dates on another position: nobody outside the site notices
            lines.append("  " + _change_line(change))
    return lines


def _churn_line(churn: dict[str, Any]) -> str:
    """How steady the re-plan kept the patients without an event of their own."""
    line = (
        f"{churn['moved']} patients moved without an event of their own (start, suite or team;"
        f" was {churn['before']} before the steadiness level"
    )
    if churn.get("bound") is not None:
        line += f", at least {churn['bound']} needed" if churn["bound"] else ", none needed"
    return line + ")"


def _change_line(change: PatientChange) -> str:
    parts = [f"{change.patient} {change.change.replace('_', ' ')}"]
    if change.apheresis_from != change.apheresis_to:
        parts.append(
            f"apheresis {_day(change.apheresis_from)} -> {_day(change.apheresis_to)}{_by(change.apheresis_days)}"
        )
    if change.start_from != change.start_to:
        parts.append(
            f"start {_moment(change.start_from)} -> {_moment(change.start_to)}{_by(change.start_days)}"
        )
    if change.suite_from != change.suite_to:
        parts.append(f"suite {change.suite_from or '-'} -> {change.suite_to or '-'}")
    line = "; ".join(parts)
    if change.reasons:
        line += f" ({'; '.join(change.reasons)})"
    cause = ", ".join(change.caused_by) if change.caused_by else "knock-on (no event of its own)"
    return f"{line} — caused by {cause}"


def _day(value: date | None) -> str:
    return "-" if value is None else f"{value:%a %Y-%m-%d}"


def _moment(value: datetime | None) -> str:
    return "-" if value is None else f"{value:%a %Y-%m-%d %H:%M}"


def _by(days: int | None) -> str:
    return "" if not days else f" ({days:+d} d)"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


__all__ = [
    "CHANGE_KINDS",
    "Diff",
    "PatientChange",
    "diff_schedules",
    "format_diff",
    "patients_with_own_events",
]
