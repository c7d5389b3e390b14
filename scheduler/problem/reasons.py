"""Every reason text the solver gives, one function each, grouped by the SPEC rule it names.

A reason starts with the rule id and its bracket name of SPEC section 3 (`C5 suite: …`), so a
coordinator sees which rule holds a patient back and tools can count reasons per rule. Tests
and users' tooling match on these texts: change one only on purpose.

Dates read `Wed 2026-12-09` (or `… 14:00` for instants) where a coordinator acts on them; the
in-progress texts that show a bare ISO date have always done so and keep it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from models.instance import Hospital, QcAssay, Step

RULE_NAMES: dict[str, str] = {
    "C1": "coverage",
    "C2": "apheresis",
    "C3": "material",
    "C4": "start",
    "C5": "suite",
    "C6": "steps",
    "C7": "qc",
    "C8": "release",
    "C9": "delivery",
    "C10": "horizon",
    "C11": "in progress",
}


def _reason(rule: str, text: str) -> str:
    return f"{rule} {RULE_NAMES[rule]}: {text}"


def _day(day: date) -> str:
    return f"{day:%a %Y-%m-%d}"


def _instant(moment: datetime) -> str:
    return f"{moment:%a %Y-%m-%d %H:%M}"


# ----- C1 coverage -------------------------------------------------------------------------


def no_schedule_in_time_limit() -> str:
    """The search found no schedule at all before its time limit."""
    return _reason("C1", "no schedule was found within the time limit")


def not_explained() -> str:
    """A simulated run's plan: its unscheduled patients' reasons are not worked out."""
    return _reason(
        "C1",
        "not placed in this simulated plan (its reasons are not worked out: a run is read for its measures)",
    )


def start_fits_but_unplaced(slot_label: str) -> str:
    """A start fits what the plan leaves free, yet the search did not place the patient."""
    return _reason(
        "C1",
        f"a start on {slot_label} fits what the plan leaves free; the search stopped (time limit)"
        " before placing this patient, or a measure ranked first prefers the plan without them",
    )


def already_in_published_plan(patient_id: str) -> str:
    """A booking for a patient the published plan already holds."""
    return _reason("C1", f"patient {patient_id} is already in the published plan")


# ----- C2 apheresis ------------------------------------------------------------------------


def locked_date_outside_window(day: date, earliest: date, latest: date) -> str:
    """A locked collection date no longer inside the patient's apheresis window."""
    return _reason(
        "C2",
        f"locked date {_day(day)} is outside the apheresis window {earliest}..{latest}",
    )


def hospital_closed(where: str, day: date) -> str:
    """The hospital is closed on the collection date."""
    return _reason("C2", f"{where} is closed on {_day(day)}")


def no_collection_on_weekday(where: str, day: date) -> str:
    """The hospital has no apheresis chairs on the date's weekday."""
    return _reason("C2", f"{where} collects no patients on {day:%A}s ({day:%Y-%m-%d})")


def chairs_booked_elsewhere(chairs: int, where: str, day: date) -> str:
    """Every chair of the date is booked by patients outside this plan."""
    return _reason(
        "C2", f"all {chairs} chair(s) of {where} on {_day(day)} are booked outside this plan"
    )


def chairs_all_taken(hospital: Hospital, days: Iterable[date], where: str) -> str:
    """The plan already takes every chair on each collection day that fits a start."""
    listed = ", ".join(_day(day) for day in days)
    return _reason(
        "C2",
        f"every chair of {hospital.id} ({hospital.name}) is taken on {listed},"
        f" the collection days that fit {where}",
    )


def no_usable_apheresis_date() -> str:
    """No date of the apheresis window leads to any candidate start."""
    return _reason("C2", "no apheresis date in the window can be used")


def collection_day_leaves_no_start(day: date) -> str:
    """A booking's collection date from which no start can be planned."""
    return _reason("C2", f"{_day(day)} leaves no feasible start for this patient")


# ----- C3 material -------------------------------------------------------------------------


def fresh_material_expires(collected: date, latest: datetime, earliest: datetime) -> str:
    """Fresh material expires before the site can receive it."""
    return _reason(
        "C3",
        f"fresh material collected {_day(collected)} expires ({_instant(latest)})"
        f" before it can be received ({_instant(earliest)})",
    )


def no_shift_within_shelf_life(collected: date, earliest: datetime, latest: datetime) -> str:
    """No site shift starts between receipt and the end of the fresh material's shelf life."""
    return _reason(
        "C3",
        f"no site shift starts between receipt {_instant(earliest)} and shelf-life end"
        f" {_instant(latest)} of material collected {_day(collected)} (or it is outside the horizon)",
    )


# ----- C4 start ----------------------------------------------------------------------------


def site_allows_no_starts() -> str:
    """The site's daily start limit is zero."""
    return _reason("C4", "the site allows no manufacturing starts per day (max_starts_per_day = 0)")


def daily_starts_taken(limit: int, day: date) -> str:
    """The plan already uses every manufacturing start of the day."""
    return _reason("C4", f"the site already has its {limit} manufacturing starts on {_day(day)}")


def in_progress_start_off_shift(patient: str, start: datetime, step_id: str) -> str:
    """An in-progress batch started outside every shift start, so its day-0 step has no shift."""
    return _reason(
        "C4",
        f"in-progress {patient} starts at {start:%H:%M}, not at a site shift start,"
        f" so its day-0 step {step_id!r} has no shift",
    )


def in_progress_started_same_day(patients: Sequence[str], day: date, limit: int) -> str:
    """More in-progress batches started on one day than the daily start limit."""
    return _reason(
        "C4",
        f"in-progress {', '.join(patients)} all started on {_day(day)},"
        f" more than max_starts_per_day {limit}",
    )


def in_progress_starts_over_limit(names: str, days: str, limit: int | None) -> str:
    """In-progress batches that together start more often than the site allows per day."""
    return _reason(
        "C4", f"in-progress {names} start on {days}, more than the site's {limit} starts per day"
    )


# ----- C5 suite ----------------------------------------------------------------------------


def suites_unavailable(types: str, start: datetime, until: datetime, start_text: str) -> str:
    """Every suite of the product's types has downtime during the stay of a start."""
    return _reason(
        "C5",
        f"every {types} suite is unavailable at some time between {_instant(start)}"
        f" and {_instant(until)} ({start_text})",
    )


def no_position_free(types: str, start: datetime, until: datetime, where: str) -> str:
    """The plan already fills every position of the product's suite types during a stay."""
    return _reason(
        "C5",
        f"no {types} position is free from {_instant(start)} to {_instant(until)} ({where})",
    )


def in_progress_wrong_suite_type(
    patient: str, suite_id: str, suite_type: str, suite_types: list[str]
) -> str:
    """An in-progress batch sits in a suite its product may not use."""
    return _reason(
        "C5",
        f"in-progress {patient} is in {suite_id} of type {suite_type!r}, not one of {suite_types}",
    )


def in_progress_overlaps_downtime(patient: str, suite: str, position: int, until: datetime) -> str:
    """An in-progress batch occupies its position into the suite's downtime."""
    return _reason(
        "C5",
        f"in-progress {patient} occupies {suite} position {position} until {_instant(until)},"
        " overlapping the suite's unavailable period",
    )


def in_progress_share_position(
    patients: tuple[str, str],
    suite: str,
    position: int,
    stays: tuple[tuple[datetime, datetime], tuple[datetime, datetime]],
) -> str:
    """Two in-progress batches hold the same suite position at overlapping times."""
    (first_start, first_until), (second_start, second_until) = stays
    return _reason(
        "C5",
        f"in-progress {patients[0]} and {patients[1]} both occupy {suite} position {position}"
        f" ({first_start:%Y-%m-%d %H:%M}..{first_until:%Y-%m-%d %H:%M} and"
        f" {second_start:%Y-%m-%d %H:%M}..{second_until:%Y-%m-%d %H:%M})",
    )


# ----- C6 steps ----------------------------------------------------------------------------


def no_team_rostered(step: Step, where: str, start_text: str) -> str:
    """Too few qualified operators are rostered at all for a step of a start."""
    return _reason(
        "C6",
        f"fewer than {step.operators} {step.skill!r} operator(s) rostered in {where},"
        f" day {step.day_offset} ({step.id}) of {start_text}",
    )


def no_team_with_hours_free(step: Step, in_shift: str, day: date, where: str) -> str:
    """The plan leaves too few qualified operators with the step's hours free."""
    return _reason(
        "C6",
        f"fewer than {step.operators} {step.skill!r} operator(s) with {step.hours:g} h free"
        f" in {in_shift} on {_day(day)} for {step.id!r}, day {step.day_offset} of {where}",
    )


def in_progress_step_unstaffed(patient: str, step: Step, day: date) -> str:
    """No shift has a team rostered for a remaining step of an in-progress batch."""
    return _reason(
        "C6",
        f"in-progress {patient} step {step.id!r} on {_day(day)} needs {step.operators}"
        f" {step.skill!r} operator(s) and no shift has them rostered",
    )


def in_progress_operator_hours_short(names: str, skills: Iterable[str], days: str) -> str:
    """In-progress batches that together need more operator hours than are rostered."""
    return _reason(
        "C6",
        f"in-progress {names} need more {'/'.join(sorted(skills))} operator hours than are"
        f" rostered on {days}",
    )


# ----- C7 qc -------------------------------------------------------------------------------


def no_lab_day(assay: QcAssay, sample: date, start_text: str) -> str:
    """No QC-lab day within the assay's wait lets it start and end inside the horizon."""
    return _reason(
        "C7",
        f"no QC-lab day to start {assay.id!r} sampled {_day(sample)} within"
        f" {assay.max_wait_days} day(s) and end inside the horizon ({start_text})",
    )


def lab_starts_taken(capacity: int, assay_id: str, first: date, where: str) -> str:
    """The plan already takes the lab's starts of an assay on every day it could start."""
    return _reason(
        "C7",
        f"the lab's {capacity} daily {assay_id!r} starts are taken on every day it could start"
        f" (from {_day(first)}) for {where}",
    )


def in_progress_assay_no_lab_day(patient: str, assay: QcAssay, sample: date) -> str:
    """A remaining assay of an in-progress batch has no lab day within its wait."""
    return _reason(
        "C7",
        f"in-progress {patient} assay {assay.id!r} sampled {_day(sample)} has no QC-lab day"
        f" within {assay.max_wait_days} day(s) inside the horizon",
    )


def in_progress_qc_starts_short(names: str, assays: Iterable[str], days: str) -> str:
    """In-progress batches that together need more assay starts than the lab has."""
    return _reason(
        "C7",
        f"in-progress {names} need more {'/'.join(sorted(assays))} starts than the QC lab has"
        f" around {days}",
    )


# ----- C8 release --------------------------------------------------------------------------
# No text of its own: a late release shows as the delivery it delays (C9) or as the horizon
# it overruns (C10).


# ----- C9 delivery -------------------------------------------------------------------------


def delivery_after_infusion_window(
    start_text: str, hospital_id: str, delivery: date, closes: date
) -> str:
    """Even the earliest delivery of a start misses the infusion window."""
    return _reason(
        "C9",
        f"with {start_text} the product reaches {hospital_id} at the earliest on"
        f" {_day(delivery)}, after the infusion window closes on {closes}",
    )


def delivery_after_window_with_free_qc(where: str, delivery: date, closes: date) -> str:
    """With the lab days the plan leaves free, a start delivers after the infusion window."""
    return _reason(
        "C9",
        f"with the QC days still free, {where} delivers on {_day(delivery)},"
        f" after the infusion window closes on {closes}",
    )


def in_progress_delivery_after_window(
    patient: str, hospital_id: str, delivery: date, closes: date
) -> str:
    """An in-progress batch reaches its hospital after its infusion window closes."""
    return _reason(
        "C9",
        f"in-progress {patient} reaches {hospital_id} at the earliest on {delivery},"
        f" after its infusion window closes on {closes}",
    )


# ----- C10 horizon -------------------------------------------------------------------------


def apheresis_outside_horizon(day: date, first: date, last: date) -> str:
    """A collection date outside the horizon's days."""
    return _reason("C10", f"apheresis on {_day(day)} is outside the horizon {first}..{last}")


def material_after_last_shift(collected: date, earliest: datetime) -> str:
    """Material collected on a date can only be received after the horizon's last shift."""
    return _reason(
        "C10",
        f"material collected {_day(collected)} arrives {_instant(earliest)},"
        " after the last shift of the horizon",
    )


def manufacturing_ends_after_horizon(start_text: str, end: datetime, horizon_end: date) -> str:
    """Manufacturing from a start would end after the horizon."""
    return _reason(
        "C10",
        f"manufacturing from {start_text} would end {_instant(end)},"
        f" after the horizon end {horizon_end}",
    )


def step_after_horizon(step: Step, day: date, start_text: str) -> str:
    """A step of a start falls after the horizon."""
    return _reason(
        "C10",
        f"step {step.id!r} on {_day(day)} (day {step.day_offset} of {start_text})"
        " is after the horizon end",
    )


def delivery_after_horizon(
    start_text: str, hospital_id: str, delivery: date, horizon_end: date
) -> str:
    """Even the earliest delivery of a start is not before the horizon end."""
    return _reason(
        "C10",
        f"with {start_text} the product reaches {hospital_id} at the earliest on"
        f" {_day(delivery)}, not before the horizon end {horizon_end}",
    )


def delivery_after_horizon_with_free_qc(where: str) -> str:
    """With the lab days the plan leaves free, a start delivers after the horizon."""
    return _reason("C10", f"with the QC days still free, {where} delivers after the horizon end")


def in_progress_step_after_horizon(patient: str, step_id: str, day: date) -> str:
    """A remaining step of an in-progress batch falls after the horizon."""
    return _reason(
        "C10", f"in-progress {patient} step {step_id!r} on {day} is after the horizon end"
    )


def in_progress_assay_after_horizon(patient: str, assay_id: str) -> str:
    """An assay an in-progress batch started before the horizon ends after it."""
    return _reason("C10", f"in-progress {patient} assay {assay_id!r} ends after the horizon")


def in_progress_delivery_after_horizon(patient: str, delivery: date, horizon_end: date) -> str:
    """An in-progress batch is delivered after the horizon."""
    return _reason(
        "C10",
        f"in-progress {patient} is delivered at the earliest on {delivery},"
        f" after the horizon end {horizon_end}",
    )


def in_progress_released_before_horizon(patient: str, release: date, horizon_start: date) -> str:
    """An in-progress batch was released before the horizon: it is no longer in progress."""
    return _reason(
        "C10",
        f"in-progress {patient} is released on {release}, before the horizon starts on"
        f" {horizon_start}: it is no longer in progress",
    )


# ----- C11 in progress ---------------------------------------------------------------------


def in_progress_cannot_complete_together(names: str) -> str:
    """In-progress batches that cannot all be completed inside the horizon together."""
    return _reason(
        "C11", f"in-progress {names} cannot all be completed inside the horizon together"
    )


def in_progress_cannot_complete() -> str:
    """The in-progress batches cannot all be completed, with no smaller conflict found."""
    return _reason(
        "C11",
        "the in-progress batches cannot all be completed inside the horizon with the rostered"
        " operators, QC capacity and daily start limit",
    )


def no_plan_until_commitments_fixed(first_problem: str) -> str:
    """Why a patient is unscheduled when the in-progress commitments cannot be honoured."""
    return _reason(
        "C11",
        f"no plan is possible until the in-progress commitments are fixed ({first_problem})",
    )


# ----- any rule ----------------------------------------------------------------------------


def likewise_for_other_starts(reason: str, others: int, last_label: str) -> str:
    """A reason that also stops `others` more candidate starts, the last one at `last_label`."""
    return f"{reason}; likewise for {others} other candidate start(s) up to {last_label}"
