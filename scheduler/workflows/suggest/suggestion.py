"""A verified suggestion, and how it is put in a coordinator's words."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from models import Assignment, Instance, Patient, Schedule
from scheduler.workflows.suggest.changes import (
    RULE_OF_KIND,
    Change,
)

PLAN = "published plan"


RESOLVE = "re-solve"


@dataclass(frozen=True)
class Suggestion:
    """Verified changes that together let the patient be scheduled, in a coordinator's words.

    `changes` are every change to make together (one for a single change); `change` is the
    first, smallest of them, and `rule` names their rules (`C5+C6` for a position and an
    operator-shift).
    """

    patient: str
    rule: str
    change: Change
    text: str
    verified_by: str  # PLAN or RESOLVE
    assignment: Assignment  # the patient's assignment in the verifying plan
    others_moved: int = 0  # patients whose apheresis date or start differs in the verifying plan
    changes: tuple[Change, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.changes:
            object.__setattr__(self, "changes", (self.change,))

    @property
    def size(self) -> int:
        """How big the changes are together, for ordering."""
        return sum(change.size for change in self.changes)

    def to_dict(self) -> dict[str, Any]:
        """The suggestion as JSON-ready data (`change` is the first of `changes`)."""
        return {
            "patient": self.patient,
            "rule": self.rule,
            "change": self.change.to_dict(),
            "changes": [change.to_dict() for change in self.changes],
            "size": self.size,
            "text": self.text,
            "verified_by": self.verified_by,
            "others_moved": self.others_moved,
            "assignment": self.assignment.model_dump(mode="json"),
        }


def make_suggestion(
    instance: Instance,
    schedule: Schedule,
    patient: Patient,
    changes: Change | tuple[Change, ...],
    assignment: Assignment,
    verified_by: str,
    moved: int,
) -> Suggestion:
    """A verified change, or set of changes, in a coordinator's words (each change named with its resource and date)."""
    together = (changes,) if isinstance(changes, Change) else changes
    texts = []
    for group in _same_shift_groups(together):
        if len(group) > 1:
            texts.append(_operators_text(group))
        else:
            texts.append(_TEXTS[group[0].kind](instance, patient, group[0], assignment))
    text = texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]
    rule = "+".join(dict.fromkeys(RULE_OF_KIND[change.kind] for change in together))
    return Suggestion(patient.id, rule, together[0], text, verified_by, assignment, moved, together)


def _more(amount: int, noun: str, plural: str) -> str:
    """`one more chair`, `2 more chairs`."""
    return f"one more {noun}" if amount == 1 else f"{amount} more {plural}"


def _day(day: date) -> str:
    return f"{day:%a %Y-%m-%d}"


def _chair_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    hospital = instance.hospital_by_id[change.resource]
    (day,) = change.dates
    chairs = hospital.chairs_on(day)
    now = f"it has {chairs}, all taken" if chairs else f"it collects nobody on {day:%A}s"
    return f"{_more(change.amount, 'apheresis chair', 'apheresis chairs')} at {hospital.id} ({hospital.name}) on {_day(day)} ({now})"


def _operator_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    (day,) = change.dates
    who = (
        f"e.g. roster {change.operator}"
        if change.operator
        else f"every {change.resource} operator is rostered then: a new, borrowed or newly trained one"
    )
    return f"one more {change.resource} operator on {_day(day)} shift {change.shift} ({who})"


def _qc_start_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    (day,) = change.dates
    capacity = instance.qc_lab.capacity_on(change.resource, day)
    what = _more(change.amount, f"{change.resource} start", f"{change.resource} starts")
    return f"{what} at the QC lab on {_day(day)} (it has {capacity}, all taken)"


def _same_shift_groups(changes: tuple[Change, ...]) -> list[list[Change]]:
    """The changes in order, operator-shifts of one skill on one shift together (said in one phrase)."""
    groups: dict[tuple[object, ...], list[Change]] = {}
    for index, change in enumerate(changes):
        key = (
            (change.resource, change.dates, change.shift)
            if change.kind == "operator_shift"
            else (index,)
        )
        groups.setdefault(key, []).append(change)
    return list(groups.values())


def _operators_text(group: list[Change]) -> str:
    """Several more operators of one skill on one shift: `2 more cryo operators on … (e.g. roster OP2 and OP3)`."""
    first = group[0]
    (day,) = first.dates
    names = [change.operator for change in group if change.operator]
    unnamed = len(group) - len(names)
    new = f"{unnamed} new, borrowed or newly trained"
    if not names:
        who = f"every {first.resource} operator is rostered then: {new}"
    else:
        who = "e.g. roster " + " and ".join(names) + (f", and {new}" if unnamed else "")
    return (
        f"{len(group)} more {first.resource} operators on {_day(day)} shift {first.shift} ({who})"
    )


def _qc_open_day_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    (day,) = change.dates
    tests = change.resource.split(",")
    which = tests[0] if len(tests) == 1 else ", ".join(tests[:-1]) + " and " + tests[-1]
    return f"open the QC lab on {_day(day)} (now a closed date) to start the {which} test{'s' if len(tests) > 1 else ''}"


def _start_limit_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    limit = instance.site.max_starts_per_day
    start = assignment.manufacturing_start.date()
    what = _more(change.amount, "manufacturing start", "manufacturing starts")
    return f"{what} on {_day(start)} (max_starts_per_day {limit} to {(limit or 0) + change.amount})"


def _window_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    earliest, latest = change.dates
    k = change.amount
    if change.kind == "apheresis_window":
        window = patient.apheresis_window
        if change.edge == "later":
            return (
                f"apheresis window {k} day(s) longer: collect up to {_day(latest)} (now until "
                f"{_day(window.latest)}); collection on {_day(assignment.apheresis_date or latest)}"
            )
        return (
            f"apheresis window opening {k} day(s) earlier: collect from {_day(earliest)} (now from "
            f"{_day(window.earliest)}); collection on {_day(assignment.apheresis_date or earliest)}"
        )
    infusion = patient.infusion_window
    if change.edge == "later":
        return (
            f"infusion window {k} day(s) longer: until {_day(latest)} (now {infusion.latest}); "
            f"delivery on {_day(assignment.delivery_date)}"
        )
    return (
        f"infusion window opening {k} day(s) earlier: from {_day(earliest)} (now {infusion.earliest}); "
        f"delivery on {_day(assignment.delivery_date)}"
    )


def _downtime_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    suite = instance.suite_by_id[change.resource]
    assert change.period is not None
    period = suite.unavailable[change.period]
    what = f"the {period.reason} downtime" if period.reason else "the downtime"
    span = f"{period.start:%Y-%m-%d %H:%M}..{period.end:%Y-%m-%d %H:%M}"
    days = timedelta(days=change.amount)
    if (period.end - period.start) <= days:
        return f"cancel {what} of suite {suite.id} ({span})"
    if change.edge == "end":
        return f"end {what} of suite {suite.id} ({span}) {change.amount} day(s) earlier, at {period.end - days:%Y-%m-%d %H:%M}"
    return f"start {what} of suite {suite.id} ({span}) {change.amount} day(s) later, at {period.start + days:%Y-%m-%d %H:%M}"


def _suite_position_text(
    instance: Instance, patient: Patient, change: Change, assignment: Assignment
) -> str:
    suite = instance.suite_by_id[change.resource]
    start = assignment.manufacturing_start
    return (
        f"one more {suite.type} position in suite {suite.id} (now {suite.positions}) from "
        f"{start:%a %Y-%m-%d %H:%M}, manufacturing until {assignment.manufacturing_end:%a %Y-%m-%d %H:%M}"
    )


_TEXTS = {
    "chair": _chair_text,
    "operator_shift": _operator_text,
    "qc_start": _qc_start_text,
    "qc_open_day": _qc_open_day_text,
    "start_limit": _start_limit_text,
    "apheresis_window": _window_text,
    "infusion_window": _window_text,
    "downtime_shortened": _downtime_text,
    "suite_position": _suite_position_text,
}
