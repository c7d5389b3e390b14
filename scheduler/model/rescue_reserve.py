"""Robust planning: suite positions new batches leave free for rescue batches (docs/ROBUST.md).

Not a SPEC rule: an optional tightening of C5 used only by `solve --robust`. It removes
capacity, never adds any, so every plan of this model is also a plan of the plain one.
"""

from __future__ import annotations

from datetime import datetime

from ortools.sat.python import cp_model

from scheduler.model.variables import PlanVariables
from scheduler.problem.reservation import RescueReservation, is_committed, reserved_room


def keep_suite_positions_for_rescues(plan: PlanVariables, reservation: RescueReservation) -> None:
    """Reserve rescue positions: in each window, uncommitted new batches leave `positions` of the class free.

    Why: a failed or out-of-specification batch needs a second manufacturing slot a few days
    after the failure is found; the reservation keeps one where sampled failures of the
    deterministic plan most often need it. Running batches, locked and already collected
    patients are not counted (they may use reserved positions), so the reservation never makes
    a commitment impossible; the C5 constraint still counts everyone. As in C5, the most
    batches overlap at some start instant, so checking the window's first instant and every
    new start inside it is exact.
    """
    for window in reservation.suites:
        if window.positions <= 0:
            continue
        capacity = plan.classes[window.class_index].capacity
        occupants: list[tuple[datetime, datetime, cp_model.IntVar]] = []
        for options in plan.patients:
            if is_committed(options.patient):
                continue
            for index, option in enumerate(options.starts):
                if window.class_index in option.classes and (
                    option.slot.start < window.end and option.occupied_until > window.start
                ):
                    literal = plan.start_in_class[(options.patient.id, index, window.class_index)]
                    occupants.append((option.slot.start, option.occupied_until, literal))
        fixed = [
            (c.start, c.occupied_until)
            for c in plan.commitments
            if c.class_index == window.class_index
        ]
        instants = {window.start} | {s for s, _, _ in occupants if window.start <= s < window.end}
        for instant in sorted(instants):
            busy = [literal for start, until, literal in occupants if start <= instant < until]
            held = sum(1 for start, until in fixed if start <= instant < until)
            room = reserved_room(capacity, held, window.positions)
            if len(busy) > room:
                plan.model.add(sum(busy) <= room)
