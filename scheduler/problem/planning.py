"""The solver-neutral planning problem: every patient's options and the in-progress commitments."""

from __future__ import annotations

from dataclasses import dataclass

from models import Instance
from scheduler.problem.calendar import SiteCalendar
from scheduler.problem.measures import weight_scale
from scheduler.problem.options import Commitment, OptionBuilder, PatientOptions
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


def prepare(instance: Instance) -> PlanningProblem:
    """Enumerate every patient's options and the in-progress commitments."""
    calendar = SiteCalendar(instance)
    roster = Roster(instance)
    builder = OptionBuilder(instance, calendar, roster)
    patients = [builder.patient_options(patient) for patient in instance.patients]
    commitments = [builder.commitment(batch) for batch in instance.in_progress]
    scale = weight_scale([patient.weight for patient in instance.patients])
    return PlanningProblem(instance, calendar, roster, builder, patients, commitments, scale)
