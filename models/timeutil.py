"""Site-local time: every date and clock time of an instance is local to the site's timezone.

Hours are real elapsed time (SPEC section 2), so arithmetic in hours is done on UTC instants;
days are calendar days added to dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS: tuple[str, ...] = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def weekday_name(day: date) -> str:
    """The SPEC weekday key (`Mon` … `Sun`) of a date."""
    return WEEKDAYS[day.weekday()]


def local_instant(naive_local: datetime, zone: ZoneInfo) -> datetime:
    """The aware instant of a local wall-clock time (SPEC 8: fold=0, gap times shifted forward)."""
    aware = naive_local.replace(tzinfo=zone, fold=0)
    # Round-tripping through UTC moves a non-existent spring-gap time forward by the gap.
    return aware.astimezone(UTC).astimezone(zone)


def at_clock(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """The aware instant of `clock` on local date `day`."""
    return local_instant(datetime.combine(day, clock), zone)


def add_hours(instant: datetime, hours: float, zone: ZoneInfo) -> datetime:
    """`hours` real hours after an aware instant, expressed in the site's local offset."""
    return (instant.astimezone(UTC) + timedelta(hours=hours)).astimezone(zone)


def hours_between(earlier: datetime, later: datetime) -> float:
    """Real elapsed hours from one aware instant to another."""
    # Subtracting two datetimes of the same zone compares wall clocks; compare UTC instants.
    return (later.astimezone(UTC) - earlier.astimezone(UTC)).total_seconds() / 3600.0


def parse_clock(text: str) -> time:
    """Parse an `HH:MM` clock time."""
    hours, minutes = text.split(":")
    if len(hours) != 2 or len(minutes) != 2:
        raise ValueError(f"clock time {text!r} is not HH:MM")
    return time(int(hours), int(minutes))


def day_offset(start: date, day: date) -> int:
    """Calendar days from `start` to `day`."""
    return (day - start).days
