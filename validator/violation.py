"""The result type of the validator: one broken rule, in words a coordinator can act on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

# Output order: format problems first (they may make later findings moot), then the SPEC rules
# in numeric order (C2 before C10, not string order), then objective mismatches.
RULES: tuple[str, ...] = (
    "FORMAT",
    "C1",
    "C2",
    "C3",
    "C4",
    "C5",
    "C6",
    "C7",
    "C8",
    "C9",
    "C10",
    "C11",
    "OBJECTIVE",
)


class Resource(NamedTuple):
    """A resource a violation involves: `kind` is hospital, suite, position, operator, shift, assay, qc_lab or site."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


def hospital(hospital_id: str) -> Resource:
    """A hospital (its apheresis chairs, its deliveries)."""
    return Resource("hospital", hospital_id)


def suite(suite_id: str) -> Resource:
    """A cleanroom suite."""
    return Resource("suite", suite_id)


def position(suite_id: str, number: int) -> Resource:
    """One position of a suite, written `S01/2`."""
    return Resource("position", f"{suite_id}/{number}")


def operator(operator_id: str) -> Resource:
    """A manufacturing operator."""
    return Resource("operator", operator_id)


def shift(shift_id: str) -> Resource:
    """A site shift."""
    return Resource("shift", shift_id)


def assay(assay_id: str) -> Resource:
    """A QC assay (its daily starts)."""
    return Resource("assay", assay_id)


@dataclass(frozen=True)
class Violation:
    """One broken rule: `rule` is `C1`…`C11`, `FORMAT` or `OBJECTIVE`; `message` names who, what and when.

    `patients`, `resources` and `dates` repeat the who, what and when of the message as data
    (optional, for tools such as `scheduler.analyze`); equality and order use `rule` and
    `message` only, so a violation is the same finding whatever detail it carries.
    """

    rule: str
    message: str
    patients: tuple[str, ...] = field(default=(), compare=False)
    resources: tuple[Resource, ...] = field(default=(), compare=False)
    dates: tuple[date, ...] = field(default=(), compare=False)

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


def sort_key(violation: Violation) -> tuple[int, str, str]:
    """Sort by rule (in `RULES` order), then message."""
    index = RULES.index(violation.rule) if violation.rule in RULES else len(RULES)
    return (index, violation.rule, violation.message)


QC_LAB = Resource("qc_lab", "QC")


def dates_of(*days: date | None) -> tuple[date, ...]:
    """The distinct known dates among `days`, in the order given (None is left out)."""
    return tuple(dict.fromkeys(day for day in days if day is not None))
