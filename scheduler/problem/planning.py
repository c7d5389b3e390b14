"""The solver-neutral planning problem: every patient's options and the in-progress commitments."""

from __future__ import annotations

from dataclasses import dataclass

from models import Instance
from scheduler.problem.batches import Batch
from scheduler.problem.calendar import SiteCalendar
from scheduler.problem.in_progress import Commitment, commitment_of
from scheduler.problem.measures import MAXIMISED, compact_number, weight_scale
from scheduler.problem.options import OptionBuilder, PatientOptions
from scheduler.problem.reservation import RescueReservation, trim_to_reservation
from scheduler.problem.roster import Roster


@dataclass
class PlanningProblem:
    """The pieces every model of one instance shares."""

    instance: Instance
    calendar: SiteCalendar
    roster: Roster
    builder: OptionBuilder
    patients: list[PatientOptions]
    commitments: list[Commitment]
    scale: int
    # Robust planning only (`solve --robust`): suite positions new batches leave free for rescues.
    reservation: RescueReservation | None = None

    def measure_values(self, batches: list[Batch]) -> dict[str, float]:
        """The three measures of SPEC section 4, recomputed from the batches themselves."""
        patients = {p.patient.id: p.patient for p in self.patients}
        weight = changes = wait = 0.0
        for batch in batches:
            if batch.in_progress:
                continue
            patient = patients[batch.patient_id]
            weight += patient.weight
            previous = patient.previous_apheresis_date
            if previous is not None and batch.apheresis_date != previous:
                changes += 1
            delivery = self.calendar.date(batch.delivery_day)
            wait += patient.weight * (delivery - patient.apheresis_window.earliest).days
        return {
            "scheduled_weight": compact_number(weight),
            "plan_changes": compact_number(changes),
            "wait_days": compact_number(wait),
        }

    def within_reservation(self, batches: list[Batch] | None) -> list[Batch] | None:
        """The plan without the uncommitted batches that sit in reserved positions (unchanged without a reservation)."""
        if batches is None or self.reservation is None:
            return batches
        capacities = {c.index: c.capacity for c in self.builder.classes}
        patients = {options.patient.id: options.patient for options in self.patients}
        return trim_to_reservation(batches, self.reservation, capacities, patients)

    def better(self, first: list[Batch], second: list[Batch]) -> bool:
        """Whether one plan beats another lexicographically on the instance's measures."""
        a, b = self.measure_values(first), self.measure_values(second)
        for measure in self.instance.objective_order:
            if a[measure] != b[measure]:
                return (a[measure] > b[measure]) == (measure in MAXIMISED)
        return False


def prepare(instance: Instance) -> PlanningProblem:
    """Enumerate every patient's options and the in-progress commitments."""
    calendar = SiteCalendar(instance)
    roster = Roster(instance)
    builder = OptionBuilder(instance, calendar, roster)
    patients = [builder.patient_options(patient) for patient in instance.patients]
    commitments = [commitment_of(builder, batch) for batch in instance.in_progress]
    scale = weight_scale([patient.weight for patient in instance.patients])
    return PlanningProblem(instance, calendar, roster, builder, patients, commitments, scale)
