"""What would let an unscheduled patient in: the smallest concrete changes, each verified.

For one unscheduled patient, candidate single changes are drawn from the resources its
candidate starts need and the plan leaves short: one more apheresis chair on a date (C2), one
more operator-shift of a skill (C6), one more QC start on a date or a closed lab day opened
(C7), one more manufacturing start a day (C4), the apheresis or infusion window widened by k
days (C2, C9, C10), a suite downtime shortened by k days or one more suite position (C5).

When one change is not enough (or a combination is smaller than any single change found), the
relaxed model (`relaxed.py`) proposes the smallest *set* of changes with which the
patient fits beside everyone else: a chair and an operator-shift, a suite position and a QC
start, and so on. A patient that no priced change can help (its own data: shelf-life, the
horizon, a closed hospital) gets a "nothing within reach" explanation (`out_of_reach`).

Every change, single or combined, is applied to a copy of the instance and verified before it
is suggested:

- **published plan**: the patient fits into the plan as it stands (`booking.PublishedPlan`),
  so nobody else moves; the plan with the patient added passes the validator.
- **re-solve**: the changed instance is solved again with the patient ranked first; the
  suggestion is kept if the patient is scheduled, the others keep at least their scheduled
  weight, and the new plan passes the validator. Others may move (the text says how many).

Suggestions come smallest first (`Suggestion.size`, the sum of `Change.size`): a chair < an
operator-shift < a QC start < a lab day < a start < a window widened by k days < a downtime
shortened by k days < a suite position.
"""

from __future__ import annotations

from scheduler.workflows.suggest.changes import (
    MAX_WIDENING_DAYS,
    Change,
    apply_change,
    apply_changes,
)
from scheduler.workflows.suggest.smallest_changes import (
    format_suggestions,
    infeasibility_core,
    out_of_reach,
    suggest_changes,
)
from scheduler.workflows.suggest.suggestion import PLAN, RESOLVE, Suggestion
from scheduler.workflows.suggest.verify import fits_plan

__all__ = [
    "MAX_WIDENING_DAYS",
    "PLAN",
    "RESOLVE",
    "Change",
    "Suggestion",
    "apply_change",
    "apply_changes",
    "fits_plan",
    "format_suggestions",
    "infeasibility_core",
    "out_of_reach",
    "suggest_changes",
]
