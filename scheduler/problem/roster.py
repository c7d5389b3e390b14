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
        self._qualified_ids: dict[tuple[date, str, str], frozenset[str]] = {}
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

    def qualified_ids(self, day: date, shift_id: str, skill: str) -> frozenset[str]:
        """The ids of `qualified(day, shift_id, skill)`, as a set."""
        key = (day, shift_id, skill)
        if key not in self._qualified_ids:
            self._qualified_ids[key] = frozenset(op.id for op in self.qualified(*key))
        return self._qualified_ids[key]

    def can_staff(self, day: date, shift_id: str, skill: str, operators: int) -> bool:
        """Whether enough qualified operators are rostered for one step of this kind."""
        return len(self.qualified(day, shift_id, skill)) >= operators


# Rosters of recent operator lists, by the operators' identity (with the operators kept, since
# an id is only unique while its object lives): a simulated run builds the same roster on most
# of its days. A few entries: the runs of one process share their first instance.
_RECENT: list[tuple[tuple[Operator, ...], Roster]] = []
_RECENT_MAX = 4


def roster_of(instance: Instance) -> Roster:
    """`Roster(instance)`, shared with the last instances of the very same operators."""
    operators = tuple(instance.operators)
    for known, roster in _RECENT:
        if len(known) == len(operators) and all(
            a is b for a, b in zip(known, operators, strict=True)
        ):
            return roster
    roster = Roster(instance)
    _RECENT.insert(0, (operators, roster))
    del _RECENT[_RECENT_MAX:]
    return roster
