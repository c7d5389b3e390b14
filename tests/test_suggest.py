"""What would let an unscheduled patient in, and why fixed commitments cannot be honoured.

Tiny instances (instances/tiny/, one rule each; site, product and hospital as described in
tests/test_tiny_instances.py) and their variants show the smallest change of each kind coming
first, and two-changes.json a patient that needs a chair *and* an operator at once; generated
xs overload weeks show that every suggestion holds, and an s overload week that every
unscheduled patient gets a verified suggestion or an explicit reason. Every suggestion is
re-checked here independently of `suggest`: the changes are applied, the plan it was verified
with is validated, and the changed instance is solved again (the patient ranked first) and the
new plan validated, with the patient in and nobody else losing their place.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from generator import generate_instance
from models import Instance, Schedule, load_instance
from scheduler.workflows.suggest import (
    PLAN,
    Change,
    Suggestion,
    apply_changes,
    format_suggestions,
    infeasibility_core,
    out_of_reach,
    suggest_changes,
)
from tests.helpers import solve_and_validate, tiny_doc, with_objective
from validator import validate


def _tiny(name: str, edit: Any = None) -> dict[str, Any]:
    """A tiny instance document, changed by `edit` if given."""
    doc = tiny_doc(name)
    if edit is not None:
        edit(doc)
    return doc


def _solved(doc: dict[str, Any]) -> tuple[Instance, Schedule]:
    """The instance and its solved, validated schedule."""
    return solve_and_validate(doc, time_limit=10)


def _infusion_closes(doc: dict[str, Any], latest: str, *patients: str) -> None:
    for patient in doc["patients"]:
        if patient["id"] in patients:
            patient["infusion_window"]["latest"] = latest


def _unscheduled(schedule: Schedule) -> list[str]:
    return [entry.patient for entry in schedule.unscheduled]


def _plan_holds(instance: Instance, schedule: Schedule, suggestion: Suggestion) -> Instance:
    """A plan-verified suggestion holds: the plan with the patient added is valid on the changed instance."""
    changed = apply_changes(instance, suggestion.changes)
    who = suggestion.patient
    if suggestion.verified_by == PLAN:
        plan = schedule.model_copy(
            update={
                "assignments": [*schedule.assignments, suggestion.assignment],
                "unscheduled": [u for u in schedule.unscheduled if u.patient != who],
            }
        )
        assert validate(changed, with_objective(changed, plan)) == []
    return changed


def _recheck(instance: Instance, schedule: Schedule, suggestion: Suggestion) -> None:
    """The suggestion holds: its plan is valid, and a fresh solve of the changed instance takes the patient."""
    changed = _plan_holds(instance, schedule, suggestion)
    who = suggestion.patient
    weights = {p.id: p.weight for p in instance.patients}
    first = changed.model_copy(
        update={
            "patients": [
                p.model_copy(update={"weight": sum(weights.values()) + 1}) if p.id == who else p
                for p in changed.patients
            ]
        }
    )
    _, again = solve_and_validate(first, time_limit=10)
    placed = {a.patient for a in again.assignments}
    assert who in placed, suggestion.text
    before = sum(weights[a.patient] for a in schedule.assignments if a.patient in weights)
    assert sum(weights[p] for p in placed if p in weights and p != who) >= before


def test_chair_capacity_one_more_chair_lets_p1_in() -> None:
    """chair-capacity: one chair a day, 01-05 booked elsewhere; P3 takes Wed 01-06, P2 Thu 01-07.

    One more chair on Tue 01-05 (or Wed 01-06) lets P1 collect; the two positions then need P2
    to start on the last day of its shelf-life, so the plan moves P2: verified by re-solving.
    """
    instance, schedule = _solved(_tiny("chair-capacity"))
    assert _unscheduled(schedule) == ["P1"]
    suggestions = suggest_changes(instance, schedule, "P1")
    first = suggestions[0]
    assert (first.rule, first.change.kind, first.change.resource) == ("C2", "chair", "H1")
    assert first.change.dates in ((date(2027, 1, 5),), (date(2027, 1, 6),))
    assert first.text.startswith("one more apheresis chair at H1 (Tiny Hospital) on Tue 2027-01-05")
    assert first.verified_by == "re-solve" and first.others_moved >= 1
    for suggestion in suggestions:
        _recheck(instance, schedule, suggestion)


def test_a_qualified_operator_off_that_day_is_named_for_the_missing_operator_shift() -> None:
    """operator-hours, both infusion windows closing Wed 01-13: both must start Wed 01-06, and two
    5 h activations do not fit OP1's 8 h shift. OP2 (aseptic) is rostered only on 01-11."""

    def edit(doc: dict[str, Any]) -> None:
        _infusion_closes(doc, "2027-01-13", "P1", "P2")
        doc["operators"].append(
            {"id": "OP2", "skills": ["aseptic"], "roster": [{"date": "2027-01-11", "shift": "D"}]}
        )

    instance, schedule = _solved(_tiny("operator-hours", edit))
    (patient,) = _unscheduled(schedule)
    suggestions = suggest_changes(instance, schedule, patient)
    first = suggestions[0]
    assert first.change == Change(
        "operator_shift", "aseptic", (date(2027, 1, 6),), shift="D", operator="OP2"
    )
    assert first.text == "one more aseptic operator on Wed 2027-01-06 shift D (e.g. roster OP2)"
    assert first.verified_by == PLAN and first.others_moved == 0
    assert [op.operators for op in first.assignment.steps] == [["OP2"]]
    for suggestion in suggestions:
        _recheck(instance, schedule, suggestion)


def test_without_a_free_qualified_operator_one_more_of_the_skill_is_asked_for() -> None:
    """operator-hours, same tight windows, OP1 the only aseptic operator."""
    instance, schedule = _solved(
        _tiny("operator-hours", lambda d: _infusion_closes(d, "2027-01-13", "P1", "P2"))
    )
    (patient,) = _unscheduled(schedule)
    first = suggest_changes(instance, schedule, patient)[0]
    assert (first.change.kind, first.change.operator, first.change.shift) == (
        "operator_shift",
        None,
        "D",
    )
    assert first.text.startswith(
        "one more aseptic operator on Wed 2027-01-06 shift D (every aseptic operator"
    )
    _recheck(instance, schedule, first)


def test_one_more_sterility_start_on_the_full_day() -> None:
    """qc-capacity, both infusion windows closing Wed 01-13: both sterility tests would start Fri 01-08."""
    instance, schedule = _solved(
        _tiny("qc-capacity", lambda d: _infusion_closes(d, "2027-01-13", "P1", "P2"))
    )
    (patient,) = _unscheduled(schedule)
    suggestions = suggest_changes(instance, schedule, patient)
    first = suggestions[0]
    assert first.change == Change("qc_start", "sterility", (date(2027, 1, 8),))
    assert (
        first.text
        == "one more sterility start at the QC lab on Fri 2027-01-08 (it has 1, all taken)"
    )
    assert [a.start_date for a in first.assignment.qc] == [date(2027, 1, 8)]
    kinds = [s.change.kind for s in suggestions]
    assert kinds.index("qc_start") < kinds.index(
        "infusion_window"
    )  # one start < a window widened a day
    for suggestion in suggestions:
        _recheck(instance, schedule, suggestion)


def test_a_closed_lab_day_opened_lets_p2_in() -> None:
    """lab-closure: P2's sterility samples fall on Thu 01-07, Fri 01-08 (closed) and Sat 01-09 (lab shut)."""
    instance, schedule = _solved(_tiny("lab-closure"))
    assert _unscheduled(schedule) == ["P2"]
    suggestions = suggest_changes(instance, schedule, "P2")
    assert [(s.change.kind, s.change.dates) for s in suggestions[:2]] == [
        ("qc_open_day", (date(2027, 1, 7),)),
        ("qc_open_day", (date(2027, 1, 8),)),
    ]
    assert (
        suggestions[0].text
        == "open the QC lab on Thu 2027-01-07 (now a closed date) to start the sterility test"
    )
    for suggestion in suggestions:
        _recheck(instance, schedule, suggestion)


def test_a_window_opening_at_the_horizon_end_opens_one_day_earlier() -> None:
    """horizon: P1's infusion window opens on the horizon end 01-25; opening it on Sun 01-24 suffices."""
    instance, schedule = _solved(_tiny("horizon"))
    first = suggest_changes(instance, schedule, "P1")[0]
    assert (first.change.kind, first.change.edge, first.change.amount) == (
        "infusion_window",
        "earlier",
        1,
    )
    assert first.assignment.delivery_date == date(2027, 1, 24)
    _recheck(instance, schedule, first)


def test_a_downtime_in_the_way_is_cancelled_and_a_position_comes_last() -> None:
    """suite-downtime, P2's infusion window closing Fri 01-15: P2 would need S1 through its
    01-08 12:00..01-09 08:00 excursion (S2 holds P1). Windows come first, the suite changes last."""
    instance, schedule = _solved(
        _tiny("suite-downtime", lambda d: _infusion_closes(d, "2027-01-15", "P2"))
    )
    assert _unscheduled(schedule) == ["P2"]
    suggestions = suggest_changes(instance, schedule, "P2")
    kinds = [s.change.kind for s in suggestions]
    assert kinds.count("downtime_shortened") == 1  # from either end it is cancelled: said once
    assert (
        kinds.index("infusion_window")
        < kinds.index("downtime_shortened")
        < kinds.index("suite_position")
    )
    downtime = suggestions[kinds.index("downtime_shortened")]
    assert downtime.text.startswith("cancel the environmental excursion downtime of suite S1")
    for suggestion in suggestions:
        _recheck(instance, schedule, suggestion)


@pytest.mark.parametrize("seed", [1, 2])
def test_every_suggestion_for_an_overloaded_week_holds(seed: int) -> None:
    """xs overload: more patients than positions; every suggestion, applied, schedules the patient."""
    instance, schedule = _solved(generate_instance("xs", seed, "overload"))
    patients = _unscheduled(schedule)
    assert patients
    checked = 0
    for patient in patients[:2]:
        suggestions = suggest_changes(instance, schedule, patient, time_limit=4)
        sizes = [s.size for s in suggestions]
        assert sizes == sorted(sizes)
        assert all(s.rule.startswith("C") and s.text for s in suggestions)
        for suggestion in suggestions[:3]:
            _recheck(instance, schedule, suggestion)
            checked += 1
    assert checked > 0


def test_a_chair_and_an_operator_at_once_let_p1_in() -> None:
    """two-changes: P1 can only be collected Tue 01-05 (a one-day window) and its fresh material
    keeps 24 h, so it must start Wed 01-06 08:00. H1 collects on Tuesdays only, with one chair that
    is booked outside this plan on every Tuesday, and the only aseptic operator, OP1, is off on
    Wed 01-06. A chair alone leaves the activation without an operator; OP1 alone leaves the
    collection without a chair; a window widened to another Tuesday meets another full chair,
    and to any other day a hospital that collects nobody then. P2 (collected at another hospital,
    H2, on Mon 01-11) is scheduled.

    No single change is suggested; the smallest pair is one chair on Tue 01-05 (size 1) and OP1
    rostered on Wed 01-06 D (size 2), which fits the plan as it stands. Next come pairs of size 12:
    a chair on Mon 01-04 or Wed 01-06 with the window one day wider (OP1 works Tue and Thu).
    """
    instance, schedule = _solved(_tiny("two-changes"))
    assert _unscheduled(schedule) == ["P1"]
    suggestions = suggest_changes(instance, schedule, "P1")
    first = suggestions[0]
    assert first.changes == (
        Change("chair", "H1", (date(2027, 1, 5),)),
        Change("operator_shift", "aseptic", (date(2027, 1, 6),), shift="D", operator="OP1"),
    )
    assert (first.rule, first.size, first.verified_by, first.others_moved) == ("C2+C6", 3, PLAN, 0)
    assert first.text == (
        "one more apheresis chair at H1 (Tiny Hospital) on Tue 2027-01-05 (it has 1, all taken) "
        "and one more aseptic operator on Wed 2027-01-06 shift D (e.g. roster OP1)"
    )
    assert (first.assignment.apheresis_date, first.assignment.manufacturing_start.date()) == (
        date(2027, 1, 5),
        date(2027, 1, 6),
    )
    assert [step.operators for step in first.assignment.steps] == [["OP1"]]
    assert all(len(s.changes) == 2 for s in suggestions)  # one change alone never suffices
    assert [s.size for s in suggestions[1:3]] == [12, 12]
    data = json.loads(json.dumps(first.to_dict()))
    assert (
        data["change"]
        == data["changes"][0]
        == {"kind": "chair", "resource": "H1", "dates": ["2027-01-05"], "amount": 1}
    )
    assert data["changes"][1]["operator"] == "OP1" and data["size"] == 3
    for suggestion in suggestions[:3]:
        _recheck(instance, schedule, suggestion)


def test_every_patient_left_out_of_an_overloaded_fortnight_gets_a_change_or_a_reason() -> None:
    """s overload (seed 1): more patients than suite positions. Each unscheduled patient gets
    either verified changes (re-checked here: the plan or a fresh solve validated) or an explicit
    "nothing within reach" reason from its own data; never silence."""
    instance, schedule = _solved(generate_instance("s", 1, "overload"))
    patients = _unscheduled(schedule)
    assert len(patients) >= 5
    helped, reasons = 0, 0
    for patient in patients:
        suggestions = suggest_changes(instance, schedule, patient, time_limit=3)
        if not suggestions:
            reason = out_of_reach(instance, schedule, patient)
            assert reason is not None and reason.startswith("nothing within reach: "), patient
            assert format_suggestions(patient, []) != format_suggestions(patient, [], reason)
            reasons += 1
            continue
        helped += 1
        first = suggestions[0]
        assert first.size == min(s.size for s in suggestions)
        if first.verified_by == PLAN:
            _plan_holds(instance, schedule, first)
        else:
            _recheck(instance, schedule, first)
    assert helped + reasons == len(patients) and helped > reasons


def test_scheduled_and_unknown_patients_get_no_suggestion() -> None:
    instance, schedule = _solved(_tiny("chair-capacity"))
    assert suggest_changes(instance, schedule, "P2") == []
    assert suggest_changes(instance, schedule, "P99") == []
    assert (
        out_of_reach(instance, schedule, "P2") is None
        and out_of_reach(instance, schedule, "P99") is None
    )
    assert format_suggestions("P99", []) == [
        "P99: no verified change found that lets this patient in (within the time limit)"
    ]


def test_suggestions_as_json_and_text() -> None:
    instance, schedule = _solved(_tiny("lab-closure"))
    suggestions = suggest_changes(instance, schedule, "P2")
    data = json.loads(json.dumps(suggestions[0].to_dict()))
    assert data["change"] == {
        "kind": "qc_open_day",
        "resource": "sterility",
        "dates": ["2027-01-07"],
        "amount": 1,
    }
    assert (
        data["changes"] == [data["change"]] and data["rule"] == "C7"
    )  # a single change, as before
    assert data["verified_by"] == "published plan" and data["assignment"]["patient"] == "P2"
    assert format_suggestions("P2", suggestions)[1] == (
        "  C7: open the QC lab on Thu 2027-01-07 (now a closed date) to start the sterility test "
        "(fits the plan as it is, nobody moves)"
    )


def test_infeasibility_core_keeps_only_the_conflicting_batches() -> None:
    """in-progress with three running batches on S1 (3 positions): IP1 and IP2 both started Sat 01-02,
    so both harvests fall on Tue 01-05 and need OP1's harvest hours (5 h each, 8 h shift); IP3 started
    a day later and is not part of the conflict."""

    def edit(doc: dict[str, Any]) -> None:
        doc["suites"][0]["positions"] = 3
        running = doc["in_progress"][0]
        doc["in_progress"] += [
            {**running, "patient": "IP2", "position": 2},
            {**running, "patient": "IP3", "position": 3, "manufacturing_start": "2027-01-03T06:00"},
        ]

    core = infeasibility_core(load_instance(_tiny("in-progress", edit)))
    assert core == [
        "C6 steps: in-progress IP1, IP2 need more harvest operator hours than are rostered on Tue 2027-01-05"
    ]
    assert infeasibility_core(load_instance(_tiny("in-progress"))) == []


def test_infeasibility_core_names_two_batches_on_one_position() -> None:
    core = infeasibility_core(load_instance(generate_instance("xs", 1, "infeasible-commitments")))
    assert len(core) == 1 and core[0].startswith(
        "C5 suite: in-progress P9001 and P9003 both occupy S01 position 1"
    )
