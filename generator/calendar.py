"""Dates of the horizons, the public holidays and the clock changes, and local-time arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

TIMEZONE = "Europe/Brussels"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SATURDAY = 5

NORMAL_START = date(2026, 11, 30)
HOLIDAY_START = date(2026, 12, 21)
# Both horizons put the clock change on day 6, inside the collection and start weeks.
DST_SPRING_START = date(2027, 3, 22)  # 2027-03-28 02:00 CET -> 03:00 CEST
DST_AUTUMN_START = date(2027, 10, 25)  # 2027-10-31 03:00 CEST -> 02:00 CET
DST_CHANGE_DAY = 6

# Apheresis units close on these whatever the scenario; the holiday scenario closes more.
PUBLIC_HOLIDAYS = (
    date(2026, 12, 25),
    date(2027, 1, 1),
    date(2027, 3, 29),  # Easter Monday
    date(2027, 11, 1),
    date(2027, 11, 11),
)
QC_PUBLIC_HOLIDAYS = (date(2026, 12, 25), date(2027, 1, 1), date(2027, 3, 29), date(2027, 11, 1))
HOLIDAY_HOSPITAL_CLOSED = (
    date(2026, 12, 24),
    date(2026, 12, 25),
    date(2026, 12, 26),
    date(2026, 12, 31),
    date(2027, 1, 1),
)
CHRISTMAS_AND_NEW_YEAR = (date(2026, 12, 25), date(2027, 1, 1))
HOLIDAY_QC_CLOSED = CHRISTMAS_AND_NEW_YEAR
# Skeleton crews only: no late shift, and many operators take these days off.
HOLIDAY_SKELETON_DAYS = HOLIDAY_HOSPITAL_CLOSED


def horizon_start(scenario: str, spring: bool) -> date:
    """First day of the horizon: the clock-change or holiday weeks, or an ordinary week."""
    if scenario == "dst":
        return DST_SPRING_START if spring else DST_AUTUMN_START
    if scenario == "holidays":
        return HOLIDAY_START
    return NORMAL_START


def iso(day: date) -> str:
    """A date as the documents write it."""
    return day.isoformat()


def stamp(moment: datetime) -> str:
    """A local wall-clock time as the documents write it (minutes, no zone)."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def add_real_hours(naive_local: datetime, hours: float) -> datetime:
    """Local wall time `hours` real hours after a local wall time (SPEC 2: hours are real)."""
    zone = ZoneInfo(TIMEZONE)
    instant = naive_local.replace(tzinfo=zone, fold=0).astimezone(UTC) + timedelta(hours=hours)
    return instant.astimezone(zone).replace(tzinfo=None)
