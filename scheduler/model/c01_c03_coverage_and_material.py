"""C1 coverage and C3 material: a scheduled patient has one start, one collection, and they fit."""

from __future__ import annotations

from scheduler.model.variables import PlanVariables
from scheduler.problem.options import PatientOptions


def add_one_start_per_scheduled_patient(plan: PlanVariables) -> None:
    """C1/C3: exactly one start and one apheresis date iff scheduled; the start fits that collection's shelf-life."""
    model = plan.model
    for options in plan.patients:
        patient_id = options.patient.id
        scheduled = plan.scheduled[patient_id]
        add_one_start(plan, options)
        if not options.uses_chair:
            continue  # collected_on: the collection already happened (SPEC 8)
        collections = {day: plan.apheresis_on[(patient_id, day)] for day in options.apheresis_dates}
        model.add(sum(collections.values()) == scheduled)
        for index, option in enumerate(options.starts):
            # C3: the chosen start must lie in the receipt/shelf-life window of the chosen collection.
            compatible = [collections[day] for day in option.apheresis_dates]
            model.add(sum(plan.starts(patient_id, index)) <= sum(compatible))


def add_one_start(plan: PlanVariables, options: PatientOptions) -> None:
    """C1: a patient takes exactly one start (one suite class) iff scheduled."""
    patient_id = options.patient.id
    all_starts = [
        literal
        for index in range(len(options.starts))
        for literal in plan.starts(patient_id, index)
    ]
    plan.model.add(sum(all_starts) == plan.scheduled[patient_id])
