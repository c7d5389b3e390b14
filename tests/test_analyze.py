"""Analyze a plan a coordinator edited by hand: every broken rule with who, what and when.

Each test solves a tiny instance (instances/tiny/, one rule each), edits the plan as a person
would in the JSON or the workbook, and checks that `analyze` names the right rule, patients,
resource and dates. Site and product of every tiny instance: one shift D 08:00 (8 h), 48 h
manufacturing + 24 h changeover, one 4 h activation on day 0, sterility sampled on day 2
(3 days, max wait 2), QP release 1 day, hospital H1 with 1 day return transit.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from functools import cache
from typing import Any

from models import Instance, Schedule, load_schedule
from scheduler.workflows.analyze import analyze, format_analysis
from tests.helpers import load_tiny, solve_and_validate, with_objective
from validator.violation import Resource


@cache
def _solved(name: str) -> tuple[Instance, str]:
    """A tiny instance and its solved plan, validated before any test edits it (as JSON text)."""
    instance, schedule = solve_and_validate(load_tiny(name), time_limit=10)
    return instance, schedule.model_dump_json()


def _plan(name: str) -> tuple[Instance, dict[str, Any]]:
    """The solved plan of a tiny instance as an editable JSON document."""
    instance, text = _solved(name)
    doc: dict[str, Any] = json.loads(text)
    return instance, doc


def _assignment(doc: dict[str, Any], patient: str) -> dict[str, Any]:
    return next(a for a in doc["assignments"] if a["patient"] == patient)


def _later(text: str, days: int) -> str:
    return (date.fromisoformat(text[:10]) + timedelta(days=days)).isoformat() + text[10:]


def _move_manufacturing(doc: dict[str, Any], patient: str, days: int) -> None:
    """Move a patient's manufacturing, steps, assays, release and delivery by `days` (collection stays)."""
    entry = _assignment(doc, patient)
    for field in ("manufacturing_start", "manufacturing_end", "release_date", "delivery_date"):
        entry[field] = _later(entry[field], days)
    for step in entry["steps"]:
        step["date"] = _later(step["date"], days)
    for assay in entry["qc"]:
        for field in ("start_date", "end_date", "sample_date"):
            if assay.get(field):
                assay[field] = _later(assay[field], days)


def _move_assay(doc: dict[str, Any], patient: str, days: int) -> None:
    """Start a patient's sterility test `days` later; its end, release and delivery follow."""
    entry = _assignment(doc, patient)
    assay = entry["qc"][0]
    for field in ("start_date", "end_date"):
        assay[field] = _later(assay[field], days)
    for field in ("release_date", "delivery_date"):
        entry[field] = _later(entry[field], days)


def _second_activation(doc: dict[str, Any]) -> str:
    """operator-hours: OP1 can activate one of P1, P2 per 8 h shift; the two optima differ only in who goes first."""
    return max(("P1", "P2"), key=lambda p: _assignment(doc, p)["manufacturing_start"])


def _saved(instance: Instance, doc: dict[str, Any]) -> Schedule:
    """The edited plan as a planning tool saves it: objective and bound recomputed."""
    return with_objective(instance, doc, status="FEASIBLE")


def test_a_solved_plan_breaks_no_rule_and_its_objective_matches() -> None:
    instance, doc = _plan("operator-hours")
    analysis = analyze(instance, load_schedule(doc))
    assert analysis.valid and analysis.violations == []
    assert analysis.objective == {"scheduled_weight": 2, "plan_changes": 0, "wait_days": 17}
    assert analysis.objective_matches
    assert format_analysis(analysis) == [
        "tiny-operator-hours: the plan breaks no rule",
        "objective recomputed: scheduled_weight 2, plan_changes 0, wait_days 17 (matches the reported objective)",
    ]


def test_a_patient_moved_onto_a_taken_position_is_a_suite_overlap() -> None:
    """qc-capacity: P1 on S1/1 and P2 on S1/2 both start Wed 01-06; the coordinator puts P1 on S1/2."""
    instance, doc = _plan("qc-capacity")
    assert (_assignment(doc, "P2")["suite"], _assignment(doc, "P2")["position"]) == ("S1", 2)
    _assignment(doc, "P1")["position"] = 2
    analysis = analyze(instance, _saved(instance, doc))
    assert [group.rule for group in analysis.rules] == ["C5"]
    (overlap,) = analysis.rule("C5")
    assert overlap.patients == ("P1", "P2")
    assert Resource("position", "S1/2") in overlap.resources
    assert overlap.dates == (
        date(2027, 1, 6),
        date(2027, 1, 9),
    )  # both hold it 01-06 08:00..01-09 08:00
    assert format_analysis(analysis)[1].startswith(
        "C5 suite: P1, P2: overlap on suite S1 position 2"
    )


def test_an_operator_double_booked_beyond_the_shift_hours_is_a_steps_breach() -> None:
    """operator-hours: two 5 h activations need OP1 10 h in one 8 h shift when the second is moved to Wed 01-06."""
    instance, doc = _plan("operator-hours")
    second = _second_activation(doc)
    assert _assignment(doc, second)["manufacturing_start"].startswith("2027-01-07")
    _move_manufacturing(doc, second, -1)
    analysis = analyze(instance, _saved(instance, doc))
    assert [group.rule for group in analysis.rules] == ["C6"]
    (overload,) = analysis.rule("C6")
    assert overload.patients == ("P1", "P2")
    assert overload.resources == (Resource("operator", "OP1"), Resource("shift", "D"))
    assert overload.dates == (date(2027, 1, 6),)
    assert "10 h of steps on 2027-01-06 shift D exceed the shift's 8 h" in overload.message


def test_an_assay_moved_to_a_day_the_lab_does_not_work_is_a_qc_breach() -> None:
    """lab-closure: the lab works Mon-Fri; P1's sterility moved from Mon 01-11 to Sun 01-10."""
    instance, doc = _plan("lab-closure")
    _move_assay(doc, "P1", -1)
    analysis = analyze(instance, _saved(instance, doc))
    assert [group.rule for group in analysis.rules] == ["C7"]
    (closed,) = analysis.rule("C7")
    assert closed.patients == ("P1",)
    assert set(closed.resources) == {Resource("assay", "sterility"), Resource("qc_lab", "QC")}
    assert closed.dates == (date(2027, 1, 10),)
    assert "not a QC-lab working day" in closed.message


def test_a_second_assay_start_on_a_full_lab_day_is_a_qc_capacity_breach() -> None:
    """qc-capacity: one sterility start a day; the later of P1's and P2's tests moved onto the other's day, Fri 01-08."""
    instance, doc = _plan("qc-capacity")
    later = max(("P1", "P2"), key=lambda p: _assignment(doc, p)["qc"][0]["start_date"])
    _move_assay(doc, later, -1)
    analysis = analyze(instance, _saved(instance, doc))
    (full,) = analysis.rule("C7")
    assert full.patients == ("P1", "P2")
    assert Resource("assay", "sterility") in full.resources
    assert full.dates == (date(2027, 1, 8),)
    assert "2 sterility assay start(s) on 2027-01-08, QC capacity is 1" in full.message


def test_an_apheresis_moved_onto_a_full_day_is_a_chair_breach() -> None:
    """chair-capacity: one chair a day at H1; P2's collection moved onto P3's day, Wed 01-06."""
    instance, doc = _plan("chair-capacity")
    _assignment(doc, "P2")["apheresis_date"] = "2027-01-06"
    analysis = analyze(instance, _saved(instance, doc))
    assert [group.rule for group in analysis.rules] == ["C2"]
    (chairs,) = analysis.rule("C2")
    assert chairs.patients == ("P2", "P3")
    assert chairs.resources == (Resource("hospital", "H1"),)
    assert chairs.dates == (date(2027, 1, 6),)


def test_an_edit_without_updating_the_objective_is_reported_with_both_figures() -> None:
    """operator-hours: the second activation moved a day earlier delivers a day earlier, but the plan still says 17 wait days."""
    instance, doc = _plan("operator-hours")
    _move_manufacturing(doc, _second_activation(doc), -1)
    analysis = analyze(instance, load_schedule(doc))
    assert {group.rule for group in analysis.rules} == {"C6", "OBJECTIVE"}
    assert analysis.objective["wait_days"] == 16
    assert not analysis.objective_matches
    assert format_analysis(analysis)[-1] == (
        "objective recomputed: scheduled_weight 2, plan_changes 0, wait_days 16; "
        "the schedule reports scheduled_weight 2, plan_changes 0, wait_days 17"
    )


def test_the_analysis_as_json_lists_rules_patients_resources_and_dates() -> None:
    instance, doc = _plan("chair-capacity")
    _assignment(doc, "P2")["apheresis_date"] = "2027-01-06"
    data = json.loads(json.dumps(analyze(instance, _saved(instance, doc)).to_dict()))
    assert data["valid"] is False and data["violation_count"] == 1
    (group,) = data["rules"]
    assert (group["rule"], group["name"], group["patients"]) == ("C2", "apheresis", ["P2", "P3"])
    assert group["violations"][0]["resources"] == [{"kind": "hospital", "id": "H1"}]
    assert group["violations"][0]["dates"] == ["2027-01-06"]
    assert data["objective"]["matches"] is True
