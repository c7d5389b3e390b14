"""C7 qc: every assay starts on a lab day within its wait, within the lab's daily capacity."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import timedelta

from ortools.sat.python import cp_model

from models import Instance
from scheduler.model.variables import AssayPool, PlanVariables

# (patient or batch id, assay index) -> per start day (None for an in-progress batch) the lab days left to choose from
_Choices = dict[tuple[str, int], dict[int | None, tuple[int, ...]]]


def add_qc_capacity(plan: PlanVariables, instance: Instance, capped: bool = True) -> None:
    """C7: choose each assay's start day among the days its sample allows; cap starts per day and assay.

    Assays whose day never moves a delivery are counted per lab day in pools (`AssayPool`),
    not chosen per patient: they are interchangeable for the lab.
    """
    model = plan.model
    choices = _undominated_lab_days(plan, instance, capped)
    starts_on: dict[tuple[int, str], list[cp_model.LinearExprT]] = defaultdict(list)
    most: Counter[tuple[int, str]] = Counter()  # how many assays each (day, assay) term may count
    pools: dict[tuple[str, tuple[int, ...]], AssayPool] = {}
    for options in plan.patients:
        patient_id = options.patient.id
        start_days = plan.starts_on_day.get(patient_id, {})
        for assay_index, assay in enumerate(options.product.qc_assays):
            by_start = choices[(patient_id, assay_index)]
            if options.assay_never_decides_delivery(assay_index) and any(
                len(days) > 1 for days in by_start.values()
            ):
                # Only the lab cares which day: counted per day in a pool, not chosen per patient.
                for start_day, days in by_start.items():
                    pool = pools.setdefault((assay.id, days), AssayPool(assay.id, days))
                    pool.members.append((patient_id, assay_index, start_day))  # type: ignore[arg-type]
                    plan.assay_pool.setdefault((patient_id, assay_index), {})[start_day] = pool  # type: ignore[index]
                continue
            # Which start days allow each lab day for this assay (the sample day is start day + offset).
            allowing: dict[int, list[cp_model.LinearExprT]] = defaultdict(list)
            for start_day, days in by_start.items():
                for day in days:
                    allowing[day].append(start_days[start_day])  # type: ignore[index]
            starts: dict[int, cp_model.LinearExprT] = {}
            if all(len(days) == 1 for days in by_start.values()):
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
                most[(day, assay.id)] += 1
    for pool in pools.values():
        samples = sum(
            plan.starts_on_day[patient_id][start_day] for patient_id, _, start_day in pool.members
        )
        if len(pool.days) == 1:
            starts_on[(pool.days[0], pool.assay_id)].append(samples)
        else:
            for day in pool.days:
                pool.flows[day] = model.new_int_var(
                    0, len(pool.members), f"assay_flow[{pool.assay_id},{pool.days[0]},{day}]"
                )
                starts_on[(day, pool.assay_id)].append(pool.flows[day])
            model.add(sum(pool.flows.values()) == samples)
        for day in pool.days:
            most[(day, pool.assay_id)] += len(pool.members)
    for commitment in plan.commitments:
        batch_id = commitment.batch.patient
        for assay_index, remaining in enumerate(commitment.assays):
            if remaining.started_before_horizon:
                continue  # SPEC C11: started on its sample date, uses no lab capacity
            chosen: list[cp_model.LinearExprT] = []
            for day in choices[(batch_id, assay_index)][None]:
                start = model.new_bool_var(f"assay[{batch_id},{remaining.assay.id},{day}]")
                plan.assay_start.setdefault((batch_id, assay_index), {})[day] = start
                starts_on[(day, remaining.assay.id)].append(start)
                most[(day, remaining.assay.id)] += 1
                chosen.append(start)
            model.add(sum(chosen) == 1)
    for (day, assay_id), literals in starts_on.items() if capped else []:
        if most[(day, assay_id)] > (capacity := _capacity(instance, assay_id, day)):
            model.add(sum(literals) <= capacity)


def _undominated_lab_days(plan: PlanVariables, instance: Instance, capped: bool) -> _Choices:
    """Each assay's lab days, without those no optimal schedule needs.

    A lab day whose capacity for the assay exceeds every assay that could start on it is never
    full: starting there never delays anyone, and an earlier start only brings release and
    delivery forward (C8, C9 bound them from below only). So the days after the first such day
    are dropped, and a first day that is never full is the only choice. Repeated until nothing
    changes, as fewer candidates make more days never full. Where the lab is busy few days are
    never full: on m normal 5 this leaves out 330 of 1,928 assay-day variables.
    """
    choices: _Choices = {}
    assay_ids: dict[tuple[str, int], str] = {}
    for options in plan.patients:
        for assay_index, assay in enumerate(options.product.qc_assays):
            key = (options.patient.id, assay_index)
            choices[key] = {
                option.slot.day: option.assay_days[assay_index] for option in options.starts
            }
            assay_ids[key] = assay.id
    for commitment in plan.commitments:
        for assay_index, remaining in enumerate(commitment.assays):
            if not remaining.started_before_horizon:
                key = (commitment.batch.patient, assay_index)
                choices[key] = {None: remaining.allowed_days}
                assay_ids[key] = remaining.assay.id
    while True:
        candidates: Counter[tuple[int, str]] = Counter()
        for key, by_start in choices.items():
            candidates.update((day, assay_ids[key]) for day in _union(by_start.values()))
        never_full = {
            slot
            for slot, count in candidates.items()
            if not capped or count <= _capacity(instance, slot[1], slot[0])
        }
        changed = False
        for key, by_start in choices.items():
            for start_day, days in by_start.items():
                first_free = next(
                    (i for i, day in enumerate(days) if (day, assay_ids[key]) in never_full), None
                )
                if first_free is not None and first_free + 1 < len(days):
                    by_start[start_day] = days[: first_free + 1]
                    changed = True
        if not changed:
            return choices


def _union(day_lists: Iterable[tuple[int, ...]]) -> set[int]:
    return {day for days in day_lists for day in days}


def _capacity(instance: Instance, assay_id: str, day: int) -> int:
    return instance.qc_lab.capacity_on(assay_id, instance.horizon.start + timedelta(days=day))
