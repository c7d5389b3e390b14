"""The site's calendar over the horizon: day indices, shift start instants, horizon bounds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from models import Instance
from models.instance import Shift
from models.timeutil import at_clock, local_instant


@dataclass(frozen=True)
class ShiftSlot:
    """One site shift on one date: the unit of operator capacity and of manufacturing starts."""

    day: int  # days since horizon.start (may be negative for in-progress history)
    date: date
    shift: Shift = field(compare=False)
    start: datetime = field(compare=False)  # aware, local offset
    shift_id: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "shift_id", self.shift.id)

    @cached_property
    def label(self) -> str:
        """A coordinator-readable name such as `Wed 2026-12-09 shift E`."""
        return f"{self.date:%a %Y-%m-%d} shift {self.shift.id}"


class SiteCalendar:
    """Maps dates and shifts of one instance to day indices and real instants."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.zone = ZoneInfo(instance.site.timezone)
        self.start_date = instance.horizon.start
        self.days = instance.horizon.days
        self.end_date = self.start_date + timedelta(days=self.days)  # exclusive
        self.horizon_start = at_clock(self.start_date, datetime.min.time(), self.zone)
        self.horizon_end = at_clock(self.end_date, datetime.min.time(), self.zone)

    def day(self, day: dt.date) -> int:
        """Days since horizon.start."""
        return (day - self.start_date).days

    def date(self, day: int) -> dt.date:
        """The date `day` days after horizon.start."""
        return self.start_date + timedelta(days=day)

    def in_horizon(self, day: dt.date) -> bool:
        """Whether a date lies in `[horizon.start, horizon end)`."""
        return self.start_date <= day < self.end_date

    def slot(self, day: dt.date, shift: Shift) -> ShiftSlot:
        """The shift slot of `shift` on `day`."""
        return ShiftSlot(self.day(day), day, shift, at_clock(day, shift.start_time, self.zone))

    @cached_property
    def slots(self) -> list[ShiftSlot]:
        """Every shift slot of the horizon, in time order."""
        slots = [
            self.slot(self.date(day), shift)
            for day in range(self.days)
            for shift in self.instance.site.shifts
        ]
        return sorted(slots, key=lambda slot: (slot.start, slot.shift.id))

    def local(self, naive: datetime) -> datetime:
        """The aware instant of a naive local date-time of the instance."""
        return local_instant(naive, self.zone)
