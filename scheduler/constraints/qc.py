"""C7 qc: every assay starts on a lab day within its wait, within the lab's daily capacity."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from ortools.sat.python import cp_model

from models import Instance
from scheduler.variables import PlanVariables


def add_qc_capacity(plan: PlanVariables, instance: Instance, capped: bool = True) -> None:
    """C7: choose each assay's start day among the days its sample allows; cap starts per day and assay."""
    model = plan.model
    starts_on: dict[tuple[int, str], list[cp_model.LinearExprT]] = defaultdict(list)
    for options in plan.patients:
        patient_id = options.patient.id
        start_days = plan.starts_on_day.get(patient_id, {})
        for assay_index, assay in enumerate(options.product.qc_assays):
            # Which start days allow each lab day for this assay (the sample day is start day + offset).
            allowing: dict[int, list[cp_model.LinearExprT]] = defaultdict(list)
            choices: dict[int, tuple[int, ...]] = {}
            for option in options.starts:
                choices[option.slot.day] = option.assay_days[assay_index]
            for start_day, days in choices.items():
                for day in days:
                    allowing[day].append(start_days[start_day])
            starts: dict[int, cp_model.LinearExprT] = {}
            if all(len(days) == 1 for days in choices.values()):
                # No choice left once the start day is known: no variable needed.
                starts = {day: sum(literals) for day, literals in allowing.items()}
            else:
                for day, literals in sorted(allowing.items()):
                    start = model.new_bool_var(f"assay[{patient_id},{assay.id},{day}]")
                    model.add(start <= sum(literals))
                    starts[day] = start
                model.add(sum(starts.values()) == plan.scheduled[patient_id])
            plan.assay_start[(patient_id, assay_index)] = starts
            for day, chosen_day in starts.items():
                starts_on[(day, assay.id)].append(chosen_day)
    for commitment in plan.commitments:
        batch_id = commitment.batch.patient
        for assay_index, remaining in enumerate(commitment.assays):
            if remaining.started_before_horizon:
                continue  # SPEC C11: started on its sample date, uses no lab capacity
            chosen: list[cp_model.LinearExprT] = []
            for day in remaining.allowed_days:
                start = model.new_bool_var(f"assay[{batch_id},{remaining.assay.id},{day}]")
                plan.assay_start.setdefault((batch_id, assay_index), {})[day] = start
                starts_on[(day, remaining.assay.id)].append(start)
                chosen.append(start)
            model.add(sum(chosen) == 1)
    for (day, assay_id), literals in starts_on.items() if capped else []:
        capacity = instance.qc_lab.capacity_on(assay_id, instance.horizon.start + timedelta(days=day))
        if len(literals) > capacity:
            model.add(sum(literals) <= capacity)
