"""Concrete changes to an instance, in a coordinator's terms, and how each is made.

A `Change` is one thing a coordinator could arrange: one more apheresis chair on a date (C2),
one more operator-shift of a skill (C6), one more QC start on a date or a closed lab day opened
(C7), one more manufacturing start a day (C4), a window widened by k days (C2, C9, C10), a suite
downtime shortened by k days or one more suite position (C5). `apply_changes` makes several at
once on a copy of the instance; `RANK` orders them by size (scheduler/suggest.py, scheduler/relaxed.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from models import Instance
from models.timeutil import weekday_name

MAX_WIDENING_DAYS = 14
# Ranks of the change kinds (smaller is a smaller change); windows and downtime add k days.
RANK = {
    "chair": 1,
    "operator_shift": 2,
    "qc_start": 3,
    "qc_open_day": 4,
    "start_limit": 5,
    "apheresis_window": 10,
    "infusion_window": 10,
    "downtime_shortened": 30,
    "suite_position": 60,
}
# Kinds whose amount is days (added to the rank); the others count resources (multiplying it).
DAY_KINDS = ("apheresis_window", "infusion_window", "downtime_shortened")
RULE_OF_KIND = {
    "chair": "C2",
    "operator_shift": "C6",
    "qc_start": "C7",
    "qc_open_day": "C7",
    "start_limit": "C4",
    "apheresis_window": "C2",
    "infusion_window": "C9",
    "downtime_shortened": "C5",
    "suite_position": "C5",
}


@dataclass(frozen=True)
class Change:
    """One concrete change to the instance.

    `resource` is what changes: a hospital (chair), a skill (operator_shift), an assay (qc_start,
    qc_open_day; a lab day opened for several assays names them comma-separated), the site
    (start_limit), a suite (downtime_shortened, suite_position) or the patient (windows). `dates` are the dates involved (for a window: its new earliest and latest),
    `amount` how much (chairs, operators, starts, positions, days). `operator` names the operator
    to roster, `shift` the shift; `edge` says which end of a window or downtime moves
    (`earlier`/`later`, `start`/`end`) and `period` which downtime of the suite.
    """

    kind: str
    resource: str
    dates: tuple[date, ...]
    amount: int = 1
    shift: str | None = None
    operator: str | None = None
    edge: str | None = None
    period: int | None = None

    @property
    def size(self) -> int:
        """How big the change is, for ordering: its kind's rank plus k for k days of window or downtime,
        its rank times the amount for chairs, operators, starts and positions."""
        if self.kind in DAY_KINDS:
            return RANK[self.kind] + self.amount
        return RANK[self.kind] * self.amount

    def to_dict(self) -> dict[str, Any]:
        """The change as JSON-ready data (absent details left out)."""
        data: dict[str, Any] = {
            "kind": self.kind,
            "resource": self.resource,
            "dates": [day.isoformat() for day in self.dates],
            "amount": self.amount,
        }
        for name in ("shift", "operator", "edge", "period"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
        return data


def apply_change(instance: Instance, change: Change) -> Instance:
    """A copy of the instance with the change made (the instance itself is left alone)."""
    return apply_changes(instance, [change])


def apply_changes(instance: Instance, changes: list[Change] | tuple[Change, ...]) -> Instance:
    """A copy of the instance with every change made (the instance itself is left alone)."""
    doc = instance.model_dump(mode="json")
    # A cancelled downtime is deleted from its suite's list: later periods first keeps indices valid.
    for change in sorted(
        changes, key=lambda c: -(c.period or 0) if c.kind == "downtime_shortened" else 0
    ):
        _EDITS[change.kind](doc, change, instance)
    return Instance.model_validate(doc)


def operators_to_roster(
    instance: Instance, day: date, shift_id: str, skill: str, count: int = 1
) -> list[str | None]:
    """`count` distinct qualified operators not on that shift, preferably off that whole day; None for each one missing."""
    qualified = [op for op in instance.operators if skill in op.skills]
    off_shift = [
        op for op in qualified if not any(r.date == day and r.shift == shift_id for r in op.roster)
    ]
    off_day = [op for op in off_shift if not any(r.date == day for r in op.roster)]
    chosen = off_day + [op for op in off_shift if op not in off_day]
    names: list[str | None] = [op.id for op in chosen[:count]]
    return names + [None] * (count - len(names))


# ----- applying a change ---------------------------------------------------------------------


def _by_id(items: list[dict[str, Any]], item_id: str) -> dict[str, Any]:
    return next(item for item in items if item["id"] == item_id)


def _edit_chair(doc: dict[str, Any], change: Change, instance: Instance) -> None:
    # One more chair on one date only: that weekday gains a chair and every other such date of
    # the horizon books it elsewhere, which the format expresses exactly.
    hospital = _by_id(doc["hospitals"], change.resource)
    (day,) = change.dates
    weekday = weekday_name(day)
    capacity = hospital.setdefault("apheresis_capacity", {})
    capacity[weekday] = capacity.get(weekday, 0) + change.amount
    booked = hospital.setdefault("booked_elsewhere", {})
    start = instance.horizon.start
    for offset in range(instance.horizon.days):
        other = start + timedelta(days=offset)
        if other != day and weekday_name(other) == weekday:
            booked[other.isoformat()] = booked.get(other.isoformat(), 0) + change.amount


def _edit_operator_shift(doc: dict[str, Any], change: Change, instance: Instance) -> None:
    (day,) = change.dates
    entry = {"date": day.isoformat(), "shift": change.shift}
    if change.operator is not None and any(o["id"] == change.operator for o in doc["operators"]):
        _by_id(doc["operators"], change.operator).setdefault("roster", []).append(entry)
    else:
        # Several new operators of one skill in one set of changes each need their own id.
        taken = {o["id"] for o in doc["operators"]}
        new_id = change.operator or f"NEW-{change.resource}"
        number = 1
        while new_id in taken:
            number += 1
            new_id = f"{change.operator or f'NEW-{change.resource}'}-{number}"
        doc["operators"].append({"id": new_id, "skills": [change.resource], "roster": [entry]})


def _edit_qc_start(doc: dict[str, Any], change: Change, instance: Instance) -> None:
    # One more start on that date only: the date's own capacity (qc_lab.capacity_by_date).
    (day,) = change.dates
    by_date = doc["qc_lab"].setdefault("capacity_by_date", {})
    on_day = by_date.setdefault(day.isoformat(), {})
    on_day[change.resource] = instance.qc_lab.capacity_on(change.resource, day) + change.amount


def _edit_qc_open_day(doc: dict[str, Any], change: Change, instance: Instance) -> None:
    closed = {day.isoformat() for day in change.dates}
    doc["qc_lab"]["closed_dates"] = [
        d for d in doc["qc_lab"].get("closed_dates", []) if d not in closed
    ]


def _edit_start_limit(doc: dict[str, Any], change: Change, instance: Instance) -> None:
    doc["site"]["max_starts_per_day"] = doc["site"]["max_starts_per_day"] + change.amount


def _edit_window(doc: dict[str, Any], change: Change, instance: Instance) -> None:
    patient = _by_id(doc["patients"], change.resource)
    earliest, latest = change.dates
    patient[change.kind] = {
        **patient[change.kind],
        "earliest": earliest.isoformat(),
        "latest": latest.isoformat(),
    }


def _edit_downtime(doc: dict[str, Any], change: Change, instance: Instance) -> None:
    suite = _by_id(doc["suites"], change.resource)
    assert change.period is not None
    period = suite["unavailable"][change.period]
    old_start = datetime.fromisoformat(period["start"])
    old_end = datetime.fromisoformat(period["end"])
    days = timedelta(days=change.amount)
    start, end = (
        (old_start, old_end - days) if change.edge == "end" else (old_start + days, old_end)
    )
    if end <= start:
        del suite["unavailable"][change.period]
    else:
        period["start"], period["end"] = f"{start:%Y-%m-%dT%H:%M}", f"{end:%Y-%m-%dT%H:%M}"


def _edit_suite_position(doc: dict[str, Any], change: Change, instance: Instance) -> None:
    suite = _by_id(doc["suites"], change.resource)
    suite["positions"] += change.amount


_EDITS = {
    "chair": _edit_chair,
    "operator_shift": _edit_operator_shift,
    "qc_start": _edit_qc_start,
    "qc_open_day": _edit_qc_open_day,
    "start_limit": _edit_start_limit,
    "apheresis_window": _edit_window,
    "infusion_window": _edit_window,
    "downtime_shortened": _edit_downtime,
    "suite_position": _edit_suite_position,
}
