"""C7 qc: every assay starts on a lab day within its wait, within the lab's daily capacity."""

from __future__ import annotations

from collections import defaultdict

from ortools.sat.python import cp_model

from models import Instance
from scheduler.variables import PlanVariables


def add_qc_capacity(plan: PlanVariables, instance: Instance) -> None:
    """C7: choose each assay's start day among the days its sample allows; cap starts per day and assay."""
    model = plan.model
    starts_on: dict[tuple[int, str], list[cp_model.IntVar]] = defaultdict(list)
    for options in plan.patients:
        patient_id = options.patient.id
        for assay_index, assay in enumerate(options.product.qc_assays):
            # Which start options allow each lab day for this assay.
            allowing: dict[int, list[cp_model.IntVar]] = defaultdict(list)
            for option_index, option in enumerate(options.starts):
                for day in option.assay_days[assay_index]:
                    allowing[day].extend(plan.starts(patient_id, option_index))
            chosen = []
            for day, literals in sorted(allowing.items()):
                start = model.new_bool_var(f"assay[{patient_id},{assay.id},{day}]")
                plan.assay_start.setdefault((patient_id, assay_index), {})[day] = start
                model.add(start <= sum(literals))
                starts_on[(day, assay.id)].append(start)
                chosen.append(start)
            model.add(sum(chosen) == plan.scheduled[patient_id])
    for commitment in plan.commitments:
        batch_id = commitment.batch.patient
        for assay_index, remaining in enumerate(commitment.assays):
            if remaining.started_before_horizon:
                continue  # SPEC C11: started on its sample date, uses no lab capacity
            chosen = []
            for day in remaining.allowed_days:
                start = model.new_bool_var(f"assay[{batch_id},{remaining.assay.id},{day}]")
                plan.assay_start.setdefault((batch_id, assay_index), {})[day] = start
                starts_on[(day, remaining.assay.id)].append(start)
                chosen.append(start)
            model.add(sum(chosen) == 1)
    for (_, assay_id), literals in starts_on.items():
        capacity = instance.qc_lab.capacity[assay_id]
        if len(literals) > capacity:
            model.add(sum(literals) <= capacity)
