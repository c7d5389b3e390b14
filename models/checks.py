"""Instance checks beyond field types (SPEC sections 5, 7 and 8 "References").

They read the raw JSON document, defensively, so that they can run even when some fields are
malformed: a user fixing a workbook sees every problem in one pass, not one stage at a time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, and where (a JSON path such as `patients[3].hospital`)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def _items(document: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    """The objects of a list field, with their indices (anything else is a type problem)."""
    value = document.get(key) if isinstance(document, dict) else None
    if not isinstance(value, list):
        return []
    return [(index, item) for index, item in enumerate(value) if isinstance(item, dict)]


def _ids(items: Iterable[tuple[int, dict[str, Any]]], key: str = "id") -> set[str]:
    return {item[key] for _, item in items if isinstance(item.get(key), str)}


def _unique(
    problems: list[Problem],
    path: str,
    items: list[tuple[int, dict[str, Any]]],
    what: str,
    key: str = "id",
) -> None:
    counts = Counter(item.get(key) for _, item in items if isinstance(item.get(key), str))
    for index, item in items:
        if isinstance(item.get(key), str) and counts[item[key]] > 1:
            problems.append(Problem(f"{path}[{index}].{key}", f"duplicate {what} id {item[key]!r}"))


def _window(problems: list[Problem], path: str, window: Any) -> None:
    if not isinstance(window, dict):
        return
    earliest, latest = str(window.get("earliest")), str(window.get("latest"))
    if _DATE.match(earliest) and _DATE.match(latest) and earliest > latest:
        problems.append(Problem(path, f"earliest {earliest} is after latest {latest}"))


def _reference(problems: list[Problem], path: str, value: Any, known: set[str], what: str) -> None:
    if isinstance(value, str) and value not in known:
        problems.append(Problem(path, f"unknown {what} {value!r}"))


def check_instance(document: dict[str, Any]) -> list[Problem]:
    """Every reference, uniqueness and window problem of an instance document (SPEC 7, 8)."""
    problems: list[Problem] = []
    site = document.get("site") if isinstance(document.get("site"), dict) else {}
    assert isinstance(site, dict)
    timezone = site.get("timezone")
    if isinstance(timezone, str):
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(Problem("site.timezone", f"unknown IANA timezone {timezone!r}"))
    shifts = _items(site, "shifts")
    _unique(problems, "site.shifts", shifts, "shift")
    objective = document.get("objective")
    order = objective.get("order") if isinstance(objective, dict) else None
    if isinstance(order, list):
        for index, measure in enumerate(order):
            if measure in order[:index]:
                problems.append(
                    Problem(f"objective.order[{index}]", f"measure {measure!r} listed twice")
                )

    products, suites, operators = (
        _items(document, "products"),
        _items(document, "suites"),
        _items(document, "operators"),
    )
    hospitals, patients, batches = (
        _items(document, "hospitals"),
        _items(document, "patients"),
        _items(document, "in_progress"),
    )
    _unique(problems, "products", products, "product")
    _unique(problems, "suites", suites, "suite")
    _unique(problems, "operators", operators, "operator")
    _unique(problems, "hospitals", hospitals, "hospital")
    _unique(problems, "patients", patients, "patient")
    _unique(problems, "in_progress", batches, "in-progress patient", key="patient")

    suite_types = {s["type"] for _, s in suites if isinstance(s.get("type"), str)}
    skills = {
        skill for _, op in operators for skill in (op.get("skills") or []) if isinstance(skill, str)
    }
    assays_used: set[str] = set()
    for p_index, product in products:
        path = f"products[{p_index}]"
        steps, assays = _items(product, "steps"), _items(product, "qc_assays")
        _unique(problems, f"{path}.steps", steps, "step")
        _unique(problems, f"{path}.qc_assays", assays, "assay")
        assays_used |= _ids(assays)
        for t_index, suite_type in enumerate(product.get("suite_types") or []):
            if isinstance(suite_type, str) and suite_type not in suite_types:
                problems.append(
                    Problem(f"{path}.suite_types[{t_index}]", f"no suite has type {suite_type!r}")
                )
        for s_index, step in steps:
            skill = step.get("skill")
            if isinstance(skill, str) and skill not in skills:
                problems.append(
                    Problem(
                        f"{path}.steps[{s_index}].skill",
                        f"no operator has skill {skill!r} (step {step.get('id')!r})",
                    )
                )

    for s_index, suite in suites:
        for u_index, period in _items(suite, "unavailable"):
            start, end = period.get("start"), period.get("end")
            if isinstance(start, str) and isinstance(end, str) and start >= end:
                problems.append(
                    Problem(
                        f"suites[{s_index}].unavailable[{u_index}]",
                        f"start {start} is not before end {end}",
                    )
                )

    shift_ids = _ids(shifts)
    for o_index, operator in operators:
        roster = operator.get("roster")
        if (
            isinstance(roster, list)
            and {
                e["shift"] if isinstance(e, dict) and isinstance(e.get("shift"), str) else None
                for e in roster
            }
            <= shift_ids
        ):
            continue  # the common case, in one pass (a roster has an entry per working day)
        for r_index, entry in _items(operator, "roster"):
            shift = entry.get("shift")
            if isinstance(shift, str) and shift not in shift_ids:
                problems.append(
                    Problem(
                        f"operators[{o_index}].roster[{r_index}].shift",
                        f"unknown shift {shift!r} (site shifts: {', '.join(sorted(shift_ids))})",
                    )
                )

    lab = document.get("qc_lab")
    capacity = lab.get("capacity") if isinstance(lab, dict) else None
    if isinstance(capacity, dict):
        for assay_id in sorted(assays_used - set(capacity)):
            problems.append(Problem("qc_lab.capacity", f"no capacity given for assay {assay_id!r}"))
        for assay_id in sorted(set(capacity) - assays_used):
            problems.append(
                Problem(f"qc_lab.capacity.{assay_id}", f"assay {assay_id!r} is used by no product")
            )
    by_date = lab.get("capacity_by_date") if isinstance(lab, dict) else None
    if isinstance(by_date, dict):
        for day, capacities in by_date.items():
            unknown = (
                [a for a in capacities if a not in assays_used]
                if isinstance(capacities, dict)
                else []
            )
            for assay_id in unknown:
                problems.append(
                    Problem(
                        f"qc_lab.capacity_by_date.{day}.{assay_id}",
                        f"assay {assay_id!r} is used by no product",
                    )
                )

    hospital_ids, product_ids = _ids(hospitals), _ids(products)
    suite_by_id: dict[str, dict[str, Any]] = {
        s["id"]: s for _, s in suites if isinstance(s.get("id"), str)
    }
    for index, patient in patients:
        path = f"patients[{index}]"
        _reference(problems, f"{path}.hospital", patient.get("hospital"), hospital_ids, "hospital")
        _reference(problems, f"{path}.product", patient.get("product"), product_ids, "product")
        _window(problems, f"{path}.apheresis_window", patient.get("apheresis_window"))
        _window(problems, f"{path}.infusion_window", patient.get("infusion_window"))
        previous = patient.get("previous")
        has_previous = isinstance(previous, dict) and previous.get("apheresis_date") is not None
        if patient.get("locked") is True and not has_previous:
            problems.append(
                Problem(f"{path}.locked", "a locked patient needs previous.apheresis_date")
            )

    new_ids = _ids(patients)
    for index, batch in batches:
        path = f"in_progress[{index}]"
        if isinstance(batch.get("patient"), str) and batch["patient"] in new_ids:
            problems.append(
                Problem(f"{path}.patient", f"{batch['patient']!r} is also a new patient's id")
            )
        _reference(problems, f"{path}.product", batch.get("product"), product_ids, "product")
        _reference(problems, f"{path}.hospital", batch.get("hospital"), hospital_ids, "hospital")
        _reference(problems, f"{path}.suite", batch.get("suite"), set(suite_by_id), "suite")
        batch_suite = suite_by_id.get(str(batch.get("suite")))
        positions, position = (batch_suite or {}).get("positions"), batch.get("position")
        if isinstance(positions, int) and isinstance(position, int) and position > positions:
            problems.append(
                Problem(
                    f"{path}.position",
                    f"suite {batch['suite']} has positions 1..{positions}, not {position}",
                )
            )
        _window(problems, f"{path}.infusion_window", batch.get("infusion_window"))
    return problems
