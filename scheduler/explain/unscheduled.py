"""Why a patient is unscheduled, in words a coordinator can act on (rule, resource, dates)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from scheduler.problem import reasons
from scheduler.problem.batches import Batch
from scheduler.problem.first_come import GreedyPlanner
from scheduler.problem.options import PatientOptions, StartOption

if TYPE_CHECKING:
    from scheduler.problem.planning import PlanningProblem

MAX_REASONS = 3


def explain_unscheduled(problem: PlanningProblem, batches: list[Batch]) -> dict[str, list[str]]:
    """Reasons for every patient left out of `batches`, most frequent blocking rule first.

    A patient without any candidate gets the reasons its candidates were dropped for. One with
    candidates is tried, candidate by candidate, against what the plan leaves free, exactly as
    a coordinator would try to squeeze them in; each candidate fails on one rule and resource.
    """
    planner = GreedyPlanner(problem)
    planner.load(batches)
    scheduled = {batch.patient_id for batch in batches}
    return {
        options.patient.id: _reasons(planner, options)
        for options in problem.patients
        if options.patient.id not in scheduled
    }


def _reasons(planner: GreedyPlanner, options: PatientOptions) -> list[str]:
    if not options.starts:
        dropped = [reason for reason, _ in options.rejections.most_common(MAX_REASONS)]
        return dropped or [reasons.no_usable_apheresis_date()]
    blocked: dict[str, list[tuple[StartOption, str]]] = defaultdict(list)
    for option in options.starts:
        attempt = planner.try_option(options, option, commit=False)
        reason = (
            attempt
            if isinstance(attempt, str)
            else reasons.start_fits_but_unplaced(option.slot.label)
        )
        blocked[reason.split(":", 1)[0]].append((option, reason))
    found = []
    for group in sorted(blocked.values(), key=len, reverse=True)[:MAX_REASONS]:
        _, reason = group[0]
        if len(group) > 1:
            reason = reasons.likewise_for_other_starts(
                reason, len(group) - 1, group[-1][0].slot.label
            )
        found.append(reason)
    return found
