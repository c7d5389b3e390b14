"""Format checks of a schedule beyond its JSON types (SPEC 6 and 8 "Format")."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from validator.context import Context
from validator.violation import Violation


def offset_problem(value: datetime, zone: ZoneInfo) -> str | None:
    """Why an output datetime is badly written, or None: it must carry the site's local offset at
    that instant (SPEC 2, 8; the same instant in UTC is an error)."""
    offset = value.utcoffset() if value.tzinfo is not None else None
    if offset is None:
        return f"{value.isoformat()} has no UTC offset"
    try:
        local = value.astimezone(zone)
    except OverflowError:
        return f"{value.isoformat()} lies outside the representable range of dates"
    if local.utcoffset() != offset:
        return (
            f"{value.isoformat()} carries offset {value.strftime('%z') or offset}, but the local offset "
            f"in {zone.key} at that instant is {local.strftime('%z')} ({local.isoformat()})"
        )
    return None


def check_format(ctx: Context) -> list[Violation]:
    """FORMAT: `instance` names the instance; OPTIMAL/FEASIBLE carry `objective` and `bound`;
    datetimes carry the local offset; dates are not absurdly far from the horizon."""
    found: list[Violation] = []
    schedule = ctx.schedule
    if schedule.instance != ctx.instance.name:
        found.append(
            Violation(
                "FORMAT",
                f"schedule is for instance {schedule.instance!r}, not {ctx.instance.name!r}",
            )
        )
    if schedule.status in ("OPTIMAL", "FEASIBLE"):
        for field in ("objective", "bound"):
            if getattr(schedule, field) is None:
                found.append(
                    Violation("FORMAT", f"status {schedule.status} requires {field}, found null")
                )
    for assignment in schedule.assignments:
        for field in ("manufacturing_start", "manufacturing_end"):
            problem = offset_problem(getattr(assignment, field), ctx.zone)
            if problem is not None:
                found.append(
                    Violation(
                        "FORMAT",
                        f"{assignment.patient}: {field} {problem}",
                        patients=(assignment.patient,),
                    )
                )
        if not ctx.is_sane(assignment):
            found.append(
                Violation(
                    "FORMAT",
                    f"{assignment.patient}: a date lies more than a century from the horizon; assignment "
                    "not checked further",
                    patients=(assignment.patient,),
                )
            )
    return found
