"""One run's disruptions, drawn before the run is played and whatever the policy does.

Every random number of a run is drawn here, up front, from `numpy.random.default_rng([seed,
run])`: runs are independent streams and reproducible, and the policy, doing nothing and the
clairvoyant reference see the same draws (common random numbers). What the draws mean in time
depends on the plan: a batch fails a fraction of the way through *its* manufacturing, a patient
drops out a fraction of the way from *their* collection to release. The uniform numbers are
compared with the rates, so the same seed with a higher rate fails a superset of batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from models import Instance
from scheduler.workflows.simulate.rates import Rates

ATTEMPTS = 2  # a first batch and one rescue batch; a patient whose rescue fails too is lost
CLOSURE_DAYS = 3  # a suite closure lasts 1..3 days
ABSENCE_DAYS = 5  # an absence spell lasts 1..5 days


@dataclass(frozen=True)
class PatientDraws:
    """What happens to one patient's batches and to the patient, as flags and fractions."""

    fails: tuple[bool, ...]  # per attempt: the batch yields no product
    fail_fraction: tuple[float, ...]  # per attempt: how far through manufacturing it is found
    out_of_spec: tuple[bool, ...]  # per attempt: the batch is found out of specification at release
    dropout: bool
    dropout_fraction: float  # from collection (or start) to release


@dataclass(frozen=True)
class Closure:
    """A suite closed, unplanned, from `start` 00:00 for `days` days."""

    suite: str
    start: date
    days: int


@dataclass(frozen=True)
class Absence:
    """An operator absent on `days` consecutive dates from `start`."""

    operator: str
    start: date
    days: int

    def dates(self, horizon_end: date) -> list[date]:
        """The absent dates inside the horizon."""
        every = [self.start + timedelta(days=i) for i in range(self.days)]
        return [d for d in every if d < horizon_end]


@dataclass(frozen=True)
class Disruptions:
    """Everything sampled for one run."""

    run: int
    patients: dict[str, PatientDraws]
    closures: list[Closure]
    absences: list[Absence]

    def counts(self) -> dict[str, Any]:
        """How much was sampled (what happens depends on the plan: see the run's outcomes)."""
        return {
            "failing_first_batches": sum(d.fails[0] for d in self.patients.values()),
            "out_of_spec_first_batches": sum(d.out_of_spec[0] for d in self.patients.values()),
            "dropouts": sum(d.dropout for d in self.patients.values()),
            "suite_closures": len(self.closures),
            "operator_absences": len(self.absences),
        }


def draw(instance: Instance, rates: Rates, seed: int, run: int) -> Disruptions:
    """The disruptions of run `run` of a simulation seeded `seed`."""
    rng = np.random.default_rng([seed, run])
    per_product = rates.per_product(instance)
    who = [(p.id, p.product) for p in instance.patients]
    who += [(b.patient, b.product) for b in instance.in_progress]
    weeks = math.ceil(instance.horizon.days / 7)
    # Fixed shapes in a fixed order: a run's numbers never depend on the rates or the plan.
    per_patient = rng.random((len(who), 3 * ATTEMPTS + 2))
    per_suite = rng.random((len(instance.suites), weeks, 3))
    per_operator = rng.random((len(instance.operators), weeks, 3))
    patients: dict[str, PatientDraws] = {}
    for row, (patient_id, product_id) in zip(per_patient, who, strict=True):
        rate = per_product[product_id]
        fails = tuple(bool(row[3 * k] < rate["failure_rate"]) for k in range(ATTEMPTS))
        patients[patient_id] = PatientDraws(
            fails=fails,
            fail_fraction=tuple(float(row[3 * k + 1]) for k in range(ATTEMPTS)),
            out_of_spec=tuple(
                not fails[k] and bool(row[3 * k + 2] < rate["out_of_spec_rate"])
                for k in range(ATTEMPTS)
            ),
            dropout=bool(row[3 * ATTEMPTS] < rate["dropout_rate"]),
            dropout_fraction=float(row[3 * ATTEMPTS + 1]),
        )
    start, end = (
        instance.horizon.start,
        instance.horizon.start + timedelta(days=instance.horizon.days),
    )
    closures = []
    for suite, weeks_of in zip(instance.suites, per_suite, strict=True):
        for week, (u, day, length) in enumerate(weeks_of):
            first = start + timedelta(days=7 * week + int(day * 7))
            if u < rates.suite_down_rate and first < end:
                closures.append(Closure(suite.id, first, 1 + int(length * CLOSURE_DAYS)))
    absences = []
    for operator, weeks_of in zip(instance.operators, per_operator, strict=True):
        for week, (u, day, length) in enumerate(weeks_of):
            first = start + timedelta(days=7 * week + int(day * 7))
            if u < rates.operator_absence_rate and first < end:
                absences.append(Absence(operator.id, first, 1 + int(length * ABSENCE_DAYS)))
    return Disruptions(run, patients, closures, absences)
