"""C2 apheresis: hospital chairs per date."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from ortools.sat.python import cp_model

from models import Instance
from scheduler.model.variables import PlanVariables


def add_apheresis_chairs(plan: PlanVariables, instance: Instance) -> None:
    """C2: per hospital and date, the plan's collections plus `booked_elsewhere` fit the weekday's chairs."""
    collections: dict[tuple[str, date], list[cp_model.IntVar]] = defaultdict(list)
    for options in plan.patients:
        for day in options.apheresis_dates if options.uses_chair else []:
            collections[(options.hospital.id, day)].append(
                plan.apheresis_on[(options.patient.id, day)]
            )
    for (hospital_id, day), literals in collections.items():
        hospital = instance.hospital_by_id[hospital_id]
        free = hospital.free_chairs_on(day)
        if len(literals) > free:
            plan.model.add(sum(literals) <= free)
