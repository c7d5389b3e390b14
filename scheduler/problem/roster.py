"""Who is rostered when, with which skills (the operator side of SPEC rule C6)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from models import Instance, Operator


class Roster:
    """Operators rostered per (date, shift) and their skills."""

    def __init__(self, instance: Instance) -> None:
        self.by_slot: dict[tuple[date, str], list[Operator]] = defaultdict(list)
        self._qualified: dict[tuple[date, str, str], list[Operator]] = {}
        for operator in instance.operators:
            seen: set[tuple[date, str]] = set()
            for entry in operator.roster:
                key = (entry.date, entry.shift)
                if key not in seen:  # a duplicated roster line is still one operator
                    seen.add(key)
                    self.by_slot[key].append(operator)

    def on_shift(self, day: date, shift_id: str) -> list[Operator]:
        """Operators rostered on `(day, shift)`."""
        return self.by_slot.get((day, shift_id), [])

    def qualified(self, day: date, shift_id: str, skill: str) -> list[Operator]:
        """Operators rostered on `(day, shift)` who hold `skill`."""
        key = (day, shift_id, skill)
        if key not in self._qualified:  # asked for every candidate start: compute once
            self._qualified[key] = [op for op in self.on_shift(day, shift_id) if skill in op.skills]
        return self._qualified[key]

    def can_staff(self, day: date, shift_id: str, skill: str, operators: int) -> bool:
        """Whether enough qualified operators are rostered for one step of this kind."""
        return len(self.qualified(day, shift_id, skill)) >= operators
