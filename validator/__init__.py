"""Independent validator of cart-scheduler schedules: the executable reading of SPEC rules C1-C11.

It imports only `models` and the standard library, never the solver, so that a solver bug
cannot hide itself by being shared with its check.

    violations = validate(instance, schedule)      # [] for a valid schedule
    measures = compute_objective(instance, schedule)
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models import Instance, Schedule
from validator.context import Context
from validator.format_rules import check_format
from validator.objective import check_objective, compute_objective
from validator.rules_horizon import check_c10_horizon, check_c11_in_progress
from validator.rules_manufacturing import check_c4_start, check_c5_suite, check_c6_steps
from validator.rules_patient import check_c1_coverage, check_c2_apheresis, check_c3_material
from validator.rules_release import check_c7_qc, check_c8_release, check_c9_delivery
from validator.violation import RULES, Violation, sort_key

__all__ = ["RULES", "Violation", "compute_objective", "validate"]


def validate(instance: Instance, schedule: Schedule) -> list[Violation]:
    """Every violation of SPEC 3 (C1-C11), SPEC 8 and the format/objective rules, sorted by rule then message.

    An INFEASIBLE or UNKNOWN answer may have no assignments (SPEC 8); then coverage is not
    required and there is no plan to check against the rules (an INFEASIBLE answer exists
    precisely because the instance's own commitments break them). An answer that lists
    assignments is checked in full whatever its status.
    """
    try:
        zone = ZoneInfo(instance.site.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return [Violation("FORMAT", f"instance: unknown IANA timezone {instance.site.timezone!r}")]
    ctx = Context(instance, schedule, zone)
    planless = schedule.status in ("INFEASIBLE", "UNKNOWN") and not schedule.assignments
    found = check_format(ctx)
    found += check_c1_coverage(ctx, require_complete=not planless)
    if planless:
        return sorted(set(found + check_objective(instance, schedule)), key=sort_key)
    found += check_c2_apheresis(ctx)
    found += check_c3_material(ctx)
    found += check_c4_start(ctx)
    found += check_c5_suite(ctx)
    found += check_c6_steps(ctx)
    found += check_c7_qc(ctx)
    found += check_c8_release(ctx)
    found += check_c9_delivery(ctx)
    found += check_c10_horizon(ctx)
    found += check_c11_in_progress(ctx)
    found += check_objective(instance, schedule)
    return sorted(set(found), key=sort_key)
