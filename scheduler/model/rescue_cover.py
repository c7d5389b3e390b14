"""Robust planning, soft method: the rescue capacity a plan leaves free, as an objective (docs/ROBUST.md).

Not a SPEC rule and no constraint: an expression `solve --robust` maximises once the scheduled
weight and plan changes are held at the deterministic optimum. The k-th free unit of a
resource in a place where sampled rescues need it is worth `P(need >= k)` (scaled to
integers): the expected number of sampled rescue needs that free capacity would cover. Two
resources are counted:

- suite positions per pooled class and horizon day (at the day's noon): a rescue batch holds a
  position for its whole manufacturing and changeover;
- manufacturing starts per day against the site's daily limit (C4): a rescue batch needs a
  start on the day its second collection leads to;
- apheresis chairs per hospital and day (C2): the rescue's second collection, on the first day
  of its new collection window.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

from ortools.sat.python import cp_model

from models import Instance
from scheduler.model.variables import PlanVariables

# (class index, day) -> worth of the 1st, 2nd, ... free position that day (non-increasing)
PositionWorth = Mapping[tuple[int, int], Sequence[int]]
# day -> worth of the 1st, 2nd, ... free manufacturing start that day (non-increasing)
StartWorth = Mapping[int, Sequence[int]]
# (hospital id, day) -> worth of the 1st, 2nd, ... free chair that day (non-increasing)
ChairWorth = Mapping[tuple[str, int], Sequence[int]]


@dataclass(frozen=True)
class CoverWorth:
    """What each free unit of each resource is worth, where sampled rescues need it."""

    positions: PositionWorth
    starts: StartWorth
    chairs: ChairWorth

    def is_empty(self) -> bool:
        """Whether no sampled rescue needs anything."""
        return not (self.positions or self.starts or self.chairs)


def _covered(
    model: cp_model.CpModel, free: cp_model.LinearExprT, worth: Sequence[int], name: str
) -> cp_model.LinearExprT:
    """sum_k worth[k] * y_k with y_1 >= y_2 >= ... and sum y <= free: worth of the free units."""
    units = [model.new_bool_var(f"{name}_{k}") for k in range(len(worth))]
    for before, after in pairwise(units):
        model.add_implication(after, before)
    model.add(sum(units) <= free)
    return sum(w * u for w, u in zip(worth, units, strict=True))


def rescue_cover_expression(
    plan: PlanVariables, instance: Instance, noon_of_day: Sequence[datetime], worths: CoverWorth
) -> cp_model.LinearExprT:
    """The expected rescue needs covered by the capacity left free (to maximise).

    `noon_of_day[d]` is the instant at which day d's suite occupancy is counted. Running
    batches and commitments count as occupying (they are fixed); every new patient's start
    options count through their literals.
    """
    model = plan.model
    positions, starts = worths.positions, worths.starts
    start_limit = instance.site.max_starts_per_day
    terms: list[cp_model.LinearExprT] = []
    by_class_day: dict[tuple[int, int], list[cp_model.IntVar]] = defaultdict(list)
    wanted = {key for key, worth in positions.items() if any(worth)}
    starts_by_day: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for options in plan.patients:
        for index, option in enumerate(options.starts):
            if start_limit is not None and option.slot.day in starts:
                starts_by_day[option.slot.day].extend(plan.starts(options.patient.id, index))
            for class_index in option.classes:
                literal = plan.start_in_class[(options.patient.id, index, class_index)]
                for day in range(max(0, option.slot.day), len(noon_of_day)):
                    noon = noon_of_day[day]
                    if noon >= option.occupied_until:
                        break
                    if option.slot.start <= noon and (class_index, day) in wanted:
                        by_class_day[(class_index, day)].append(literal)
    capacity = {c.index: c.capacity for c in plan.classes}
    for class_index, day in sorted(wanted):
        noon = noon_of_day[day]
        held = sum(
            1
            for c in plan.commitments
            if c.class_index == class_index and c.start <= noon < c.occupied_until
        )
        free = capacity[class_index] - held - sum(by_class_day[(class_index, day)])
        worth = [w for w in positions[(class_index, day)] if w > 0]
        terms.append(_covered(model, free, worth, f"rescue_pos_{class_index}_{day}"))
    if start_limit is not None:
        fixed = Counter(
            day
            for c in plan.commitments
            for day, noon in enumerate(noon_of_day)
            if c.start.date() == noon.date()
        )
        for day, worth_list in sorted(starts.items()):
            worth = [w for w in worth_list if w > 0]
            if not worth or day >= len(noon_of_day):
                continue
            free = start_limit - fixed[day] - sum(starts_by_day[day])
            terms.append(_covered(model, free, worth, f"rescue_start_{day}"))
    collections: dict[tuple[str, int], list[cp_model.IntVar]] = defaultdict(list)
    for options in plan.patients:
        for day_date in options.apheresis_dates if options.uses_chair else []:
            key = (options.hospital.id, (day_date - noon_of_day[0].date()).days)
            if key in worths.chairs:
                collections[key].append(plan.apheresis_on[(options.patient.id, day_date)])
    for (hospital_id, day), worth_list in sorted(worths.chairs.items()):
        chairs = instance.hospital_by_id[hospital_id].free_chairs_on(noon_of_day[day].date())
        free = chairs - sum(collections[(hospital_id, day)])
        worth = [w for w in worth_list if w > 0]
        terms.append(_covered(model, free, worth, f"rescue_chair_{hospital_id}_{day}"))
    return sum(terms)
