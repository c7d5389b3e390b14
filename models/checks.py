"""Instance checks beyond field types (SPEC sections 5, 7 and 8 "References")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.instance import Instance


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, and where (a JSON path such as `patients[3].hospital`)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def _duplicates(ids: Iterable[str]) -> set[str]:
    return {identifier for identifier, count in Counter(ids).items() if count > 1}


def _unique_ids(problems: list[Problem], path: str, ids: list[str], what: str) -> None:
    duplicated = _duplicates(ids)
    for index, identifier in enumerate(ids):
        if identifier in duplicated:
            problems.append(Problem(f"{path}[{index}].id", f"duplicate {what} id {identifier!r}"))


def check_instance(instance: Instance) -> list[Problem]:
    """Every reference, uniqueness and window problem of a type-correct instance."""
    problems: list[Problem] = []
    _check_site(instance, problems)
    _check_products(instance, problems)
    _check_suites(instance, problems)
    _check_operators(instance, problems)
    _check_qc_lab(instance, problems)
    _check_hospitals(instance, problems)
    _check_patients(instance, problems)
    _check_in_progress(instance, problems)
    return problems


def _check_site(instance: Instance, problems: list[Problem]) -> None:
    try:
        ZoneInfo(instance.site.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            Problem("site.timezone", f"unknown IANA timezone {instance.site.timezone!r}")
        )
    _unique_ids(problems, "site.shifts", [s.id for s in instance.site.shifts], "shift")
    order = instance.objective.order
    for index, measure in enumerate(order):
        if measure in order[:index]:
            problems.append(Problem(f"objective.order[{index}]", f"measure {measure!r} listed twice"))


def _check_products(instance: Instance, problems: list[Problem]) -> None:
    _unique_ids(problems, "products", [p.id for p in instance.products], "product")
    suite_types = {suite.type for suite in instance.suites}
    skills = {skill for operator in instance.operators for skill in operator.skills}
    for p_index, product in enumerate(instance.products):
        path = f"products[{p_index}]"
        _unique_ids(problems, f"{path}.steps", [s.id for s in product.steps], "step")
        _unique_ids(problems, f"{path}.qc_assays", [a.id for a in product.qc_assays], "assay")
        for t_index, suite_type in enumerate(product.suite_types):
            if suite_type not in suite_types:
                problems.append(
                    Problem(f"{path}.suite_types[{t_index}]", f"no suite has type {suite_type!r}")
                )
        for s_index, step in enumerate(product.steps):
            if step.skill not in skills:
                problems.append(
                    Problem(
                        f"{path}.steps[{s_index}].skill",
                        f"no operator has skill {step.skill!r} (step {step.id!r})",
                    )
                )


def _check_suites(instance: Instance, problems: list[Problem]) -> None:
    _unique_ids(problems, "suites", [s.id for s in instance.suites], "suite")
    for s_index, suite in enumerate(instance.suites):
        for u_index, period in enumerate(suite.unavailable):
            if period.start >= period.end:
                problems.append(
                    Problem(
                        f"suites[{s_index}].unavailable[{u_index}]",
                        f"start {period.start:%Y-%m-%dT%H:%M} is not before end {period.end:%Y-%m-%dT%H:%M}",
                    )
                )


def _check_operators(instance: Instance, problems: list[Problem]) -> None:
    _unique_ids(problems, "operators", [o.id for o in instance.operators], "operator")
    shift_ids = {shift.id for shift in instance.site.shifts}
    for o_index, operator in enumerate(instance.operators):
        for r_index, entry in enumerate(operator.roster):
            if entry.shift not in shift_ids:
                problems.append(
                    Problem(
                        f"operators[{o_index}].roster[{r_index}].shift",
                        f"unknown shift {entry.shift!r} (site shifts: {', '.join(sorted(shift_ids))})",
                    )
                )


def _check_qc_lab(instance: Instance, problems: list[Problem]) -> None:
    used = {assay.id for product in instance.products for assay in product.qc_assays}
    for assay_id in sorted(used - set(instance.qc_lab.capacity)):
        problems.append(Problem("qc_lab.capacity", f"no capacity given for assay {assay_id!r}"))
    for assay_id in sorted(set(instance.qc_lab.capacity) - used):
        problems.append(
            Problem(f"qc_lab.capacity.{assay_id}", f"assay {assay_id!r} is used by no product")
        )


def _check_hospitals(instance: Instance, problems: list[Problem]) -> None:
    _unique_ids(problems, "hospitals", [h.id for h in instance.hospitals], "hospital")


def _window_problem(path: str, earliest: object, latest: object) -> Problem:
    return Problem(path, f"earliest {earliest} is after latest {latest}")


def _check_patients(instance: Instance, problems: list[Problem]) -> None:
    ids = [p.id for p in instance.patients]
    _unique_ids(problems, "patients", ids, "patient")
    for index, patient in enumerate(instance.patients):
        path = f"patients[{index}]"
        if patient.hospital not in instance.hospital_by_id:
            problems.append(Problem(f"{path}.hospital", f"unknown hospital {patient.hospital!r}"))
        if patient.product not in instance.product_by_id:
            problems.append(Problem(f"{path}.product", f"unknown product {patient.product!r}"))
        window = patient.apheresis_window
        if window.earliest > window.latest:
            problems.append(_window_problem(f"{path}.apheresis_window", window.earliest, window.latest))
        infusion = patient.infusion_window
        if infusion.latest is not None and infusion.earliest > infusion.latest:
            problems.append(
                _window_problem(f"{path}.infusion_window", infusion.earliest, infusion.latest)
            )
        if patient.locked and patient.previous_apheresis_date is None:
            problems.append(
                Problem(f"{path}.locked", "a locked patient needs previous.apheresis_date")
            )


def _check_in_progress(instance: Instance, problems: list[Problem]) -> None:
    new_ids = {p.id for p in instance.patients}
    batch_ids = [b.patient for b in instance.in_progress]
    duplicated = _duplicates(batch_ids)
    for index, batch in enumerate(instance.in_progress):
        path = f"in_progress[{index}]"
        if batch.patient in duplicated:
            problems.append(Problem(f"{path}.patient", f"duplicate in-progress patient {batch.patient!r}"))
        if batch.patient in new_ids:
            problems.append(
                Problem(f"{path}.patient", f"{batch.patient!r} is also a new patient's id")
            )
        if batch.product not in instance.product_by_id:
            problems.append(Problem(f"{path}.product", f"unknown product {batch.product!r}"))
        if batch.hospital not in instance.hospital_by_id:
            problems.append(Problem(f"{path}.hospital", f"unknown hospital {batch.hospital!r}"))
        suite = instance.suite_by_id.get(batch.suite)
        if suite is None:
            problems.append(Problem(f"{path}.suite", f"unknown suite {batch.suite!r}"))
        elif batch.position > suite.positions:
            problems.append(
                Problem(
                    f"{path}.position",
                    f"suite {suite.id} has positions 1..{suite.positions}, not {batch.position}",
                )
            )
        window = batch.infusion_window
        if window is not None and window.latest is not None and window.earliest > window.latest:
            problems.append(_window_problem(f"{path}.infusion_window", window.earliest, window.latest))
