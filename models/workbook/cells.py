"""Cell kinds: how a cell becomes a JSON value (`parse_*`) and a JSON value becomes a cell.

A `Kind` pairs the two; the sheet specs (`sheets.py`) give every column one. Cells come from
openpyxl (real dates, times, numbers) or from CSV text, so each parser takes either.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from models.timeutil import WEEKDAYS


def csv_text(value: Any) -> str:
    """A cell value as CSV text (dates ISO, booleans true/false, whole numbers without .0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S" if value.second else "%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _whole(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def parse_text(value: Any) -> str:
    """Any cell as text; a number typed into an id column is its digits (`12`, not `12.0`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(_whole(value))
    if isinstance(value, datetime):
        return csv_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def parse_number(value: Any) -> int | float:
    """A number cell (or text that reads as one)."""
    if isinstance(value, bool):
        raise ValueError(f"{parse_text(value)!r} is not a number")
    if isinstance(value, (int, float)):
        return _whole(value)
    text = str(value).strip().replace(",", ".") if isinstance(value, str) else ""
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{parse_text(value)!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a number")
    return _whole(number)


def parse_integer(value: Any) -> int:
    """A whole-number cell."""
    number = parse_number(value)
    if not isinstance(number, int):
        raise ValueError(f"{number!r} is not a whole number")
    return number


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        if value.time() != time(0, 0):
            raise ValueError(f"{csv_text(value)!r} is a date-time, expected a date")
        return value.date()
    if isinstance(value, date):
        return value
    text = parse_text(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")


def parse_date(value: Any) -> str:
    """A date cell (a real date, or YYYY-MM-DD text)."""
    return _as_date(value).isoformat()


def parse_datetime(value: Any) -> str:
    """A local date-time cell (a real date-time, or `YYYY-MM-DD HH:MM` text)."""
    if isinstance(value, datetime):
        # Excel stores date-times as day fractions: round the float noise to whole seconds.
        moment = (value + timedelta(microseconds=500_000)).replace(microsecond=0)
        return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")
    text = parse_text(value)
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[T ](\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if match:
        day, hours, minutes, seconds = match.groups()
        try:
            moment = datetime.combine(
                date.fromisoformat(day), time(int(hours), int(minutes), int(seconds or 0))
            )
        except ValueError:
            pass
        else:
            return parse_datetime(moment)
    raise ValueError(f"{text!r} is not a date and time (YYYY-MM-DD HH:MM)")


def parse_clock(value: Any) -> str:
    """A clock-time cell (a real time, or HH:MM text)."""
    if isinstance(value, datetime):
        value = value.time()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    text = parse_text(value)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::00)?", text)
    if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
        return f"{int(match.group(1)):02d}:{match.group(2)}"
    raise ValueError(f"{text!r} is not a clock time (HH:MM)")


_TRUE, _FALSE = {"true", "yes", "y", "x", "1"}, {"false", "no", "n", "0"}


def parse_bool(value: Any) -> bool:
    """A yes/no cell (TRUE/FALSE, yes/no, 1/0)."""
    if isinstance(value, bool):
        return value
    text = parse_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{parse_text(value)!r} is not true or false")


def _items(value: Any) -> list[str]:
    """The entries of a comma-separated list cell."""
    if isinstance(value, (date, datetime)):
        return [parse_text(value)]
    return [item.strip() for item in re.split(r"[,;\n]", parse_text(value)) if item.strip()]


def parse_ids(value: Any) -> list[str]:
    """A comma-separated list of identifiers."""
    return _items(value)


def parse_dates(value: Any) -> list[str]:
    """A comma-separated list of dates."""
    if isinstance(value, (date, datetime)):
        return [parse_date(value)]
    return [parse_date(item) for item in _items(value)]


def parse_weekday(value: Any) -> str:
    """A weekday name (`Mon` … `Sun`, any case, full names too)."""
    text = parse_text(value)
    key = text[:3].capitalize()
    if key in WEEKDAYS and text.lower() in (key.lower(), _full_weekday(key)):
        return key
    raise ValueError(f"{text!r} is not a weekday (Mon, Tue, Wed, Thu, Fri, Sat, Sun)")


def _full_weekday(key: str) -> str:
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    return names[WEEKDAYS.index(key)]


def parse_weekdays(value: Any) -> list[str]:
    """A comma-separated list of weekdays."""
    return [parse_weekday(item) for item in _items(value)]


def parse_date_counts(value: Any) -> dict[str, int]:
    """A `date:count` list (`2026-12-11:2, 2026-12-14:1`), as for booked_elsewhere."""
    counts: dict[str, int] = {}
    for item in _items(value):
        day, separator, count = item.rpartition(":")
        if not separator:
            raise ValueError(f"{item!r} is not date:count (e.g. 2026-12-11:2)")
        counts[parse_date(day.strip())] = parse_integer(count.strip())
    return counts


def _date_cell(text: Any) -> Any:
    return date.fromisoformat(text) if isinstance(text, str) else text


def _datetime_cell(text: Any) -> Any:
    return datetime.fromisoformat(text) if isinstance(text, str) else text


def _clock_cell(text: Any) -> Any:
    return datetime.strptime(text, "%H:%M").time() if isinstance(text, str) else text


def _list_cell(items: Any) -> Any:
    return ", ".join(str(item) for item in items) if isinstance(items, list) else items


def _counts_cell(counts: Any) -> Any:
    return (
        ", ".join(f"{day}:{n}" for day, n in counts.items()) if isinstance(counts, dict) else counts
    )


@dataclass(frozen=True)
class Kind:
    """How a column's cells become JSON values (`parse`) and JSON values become cells (`cell`)."""

    parse: Callable[[Any], Any]
    cell: Callable[[Any], Any] = lambda value: value


TEXT = Kind(parse_text)
NUMBER = Kind(parse_number)
INTEGER = Kind(parse_integer)
BOOL = Kind(parse_bool)
DATE = Kind(parse_date, _date_cell)
DATETIME = Kind(parse_datetime, _datetime_cell)
CLOCK = Kind(parse_clock, _clock_cell)
IDS = Kind(parse_ids, _list_cell)
DATES = Kind(parse_dates, _list_cell)
WEEKDAY_LIST = Kind(parse_weekdays, _list_cell)
DATE_COUNTS = Kind(parse_date_counts, _counts_cell)
