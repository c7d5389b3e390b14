"""C4 start: at most `site.max_starts_per_day` manufacturing starts per date."""

from __future__ import annotations

from collections import Counter, defaultdict

from ortools.sat.python import cp_model

from models import Instance
from scheduler.model.variables import PlanVariables
from scheduler.problem.calendar import SiteCalendar


def add_daily_start_limit(plan: PlanVariables, instance: Instance, calendar: SiteCalendar) -> None:
    """C4: new starts plus in-progress starts dated inside the horizon stay within the daily limit."""
    limit = instance.site.max_starts_per_day
    if limit is None:
        return
    fixed = Counter(
        calendar.day(c.start.date()) for c in plan.commitments if c.start >= calendar.horizon_start
    )
    starts_by_day: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for options in plan.patients:
        for index, option in enumerate(options.starts):
            starts_by_day[option.slot.day].extend(plan.starts(options.patient.id, index))
    for day, literals in starts_by_day.items():
        if len(literals) + fixed[day] > limit:
            plan.model.add(sum(literals) <= limit - fixed[day])
