"""C5 suite: positions of pooled suite classes are never double-booked."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from ortools.sat.python import cp_model

from scheduler.variables import PlanVariables


def add_suite_capacity(plan: PlanVariables) -> None:
    """C5: at every possible start instant, batches occupying a class (with changeover) fit its positions.

    Occupied intervals `[start, end + changeover)` are half-open; on a line the most
    intervals overlap at some interval's start, so checking at new start instants is exact.
    In-progress batches all start before new ones in a pooled class (see `build_suite_classes`),
    so counting here lets positions be coloured greedily afterwards.
    """
    occupants: dict[int, list[tuple[datetime, datetime, cp_model.IntVar]]] = defaultdict(list)
    for options in plan.patients:
        patient_id = options.patient.id
        for index, option in enumerate(options.starts):
            for class_index in option.classes:
                literal = plan.start_in_class[(patient_id, index, class_index)]
                occupants[class_index].append((option.slot.start, option.occupied_until, literal))
    for suite_class in plan.classes:
        new = occupants.get(suite_class.index, [])
        fixed = [(c.start, c.occupied_until) for c in plan.commitments if c.class_index == suite_class.index]
        for instant in sorted({start for start, _, _ in new}):
            busy = [literal for start, until, literal in new if start <= instant < until]
            held = sum(1 for start, until in fixed if start <= instant < until)
            if len(busy) + held > suite_class.capacity:
                plan.model.add(sum(busy) <= suite_class.capacity - held)
