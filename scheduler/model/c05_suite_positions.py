"""C5 suite: positions of pooled suite classes are never double-booked."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from ortools.sat.python import cp_model

from scheduler.model.variables import PlanVariables


def add_suite_capacity(plan: PlanVariables) -> None:
    """C5: at every possible start instant, batches occupying a class (with changeover) fit its positions.

    Occupied intervals `[start, end + changeover)` are half-open; on a line the most
    intervals overlap at some interval's start, so checking at new start instants is exact.
    In-progress batches all start before new ones in a pooled class (see `build_suite_classes`),
    so counting here lets positions be coloured greedily afterwards.
    """
    # Batches starting in one shift slot with the same occupancy are counted by one variable.
    grouped: dict[tuple[int, datetime, datetime], list[cp_model.IntVar]] = defaultdict(list)
    for options in plan.patients:
        patient_id = options.patient.id
        for index, option in enumerate(options.starts):
            for class_index in option.classes:
                literal = plan.start_in_class[(patient_id, index, class_index)]
                grouped[(class_index, option.slot.start, option.occupied_until)].append(literal)
    occupants: dict[int, list[tuple[datetime, datetime, cp_model.LinearExprT, int]]] = defaultdict(
        list
    )
    for (class_index, start, until), literals in grouped.items():
        count: cp_model.LinearExprT = literals[0]
        if len(literals) > 1:
            count = plan.model.new_int_var(
                0, len(literals), f"occupying[class{class_index},{start:%Y-%m-%dT%H:%M}]"
            )
            plan.model.add(count == sum(literals))
        occupants[class_index].append((start, until, count, len(literals)))
    for suite_class in plan.classes:
        new = sorted(occupants.get(suite_class.index, []), key=lambda item: item[0])
        fixed = [
            (c.start, c.occupied_until)
            for c in plan.commitments
            if c.class_index == suite_class.index
        ]
        # A fixed batch starting inside the horizon (a per-position class) is a check point too.
        for instant in sorted({start for start, _, _, _ in new} | {start for start, _ in fixed}):
            busy = [(count, most) for start, until, count, most in new if start <= instant < until]
            held = sum(1 for start, until in fixed if start <= instant < until)
            if sum(m for _, m in busy) + held > suite_class.capacity:
                plan.model.add(sum(count for count, _ in busy) <= suite_class.capacity - held)
