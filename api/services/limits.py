"""What one instance may hold in the service: sizes a site really has, ids its columns can store."""

from __future__ import annotations

from dataclasses import dataclass

from api.errors import Unprocessable
from models import Instance, Problem
from models.orders import MAX_ID_LENGTH

MAX_PLAN_NAME = 200  # `plans.name`


@dataclass(frozen=True)
class InstanceLimits:
    """The largest site the service plans; a real site is far smaller (see docs/SERVICE.md)."""

    patients: int = 5_000
    suites: int = 500
    operators: int = 2_000


def check_instance(instance: Instance, limits: InstanceLimits) -> None:
    """Refuse (422, every problem with its path) an instance too large or with unstorable ids."""
    problems = []
    counts = (
        ("patients", len(instance.patients) + len(instance.in_progress), limits.patients),
        ("suites", len(instance.suites), limits.suites),
        ("operators", len(instance.operators), limits.operators),
    )
    for name, count, most in counts:
        if count > most:
            what = "patients and in-progress batches" if name == "patients" else name
            problems.append(
                Problem(f"body.{name}", f"{count} {what}; this service plans at most {most}")
            )
    if len(instance.name) > MAX_PLAN_NAME:
        problems.append(
            Problem("body.name", f"{len(instance.name)} characters; at most {MAX_PLAN_NAME}")
        )
    ids = [(f"body.patients[{i}].id", p.id) for i, p in enumerate(instance.patients)] + [
        (f"body.in_progress[{i}].patient", b.patient) for i, b in enumerate(instance.in_progress)
    ]
    for path, patient_id in ids:
        if len(patient_id) > MAX_ID_LENGTH:
            problems.append(Problem(path, f"{len(patient_id)} characters; at most {MAX_ID_LENGTH}"))
    if problems:
        raise Unprocessable("the instance is beyond what this service plans", problems)
