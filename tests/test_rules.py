"""Per-rule solver tests: for each SPEC rule, one plan where it shapes a valid schedule and one where it blocks.

One module over 500 lines on purpose: the rules C1-C11 in SPEC order, a feasible and an
infeasible example each, read top to bottom as the rule list (docs/RULES.md maps them).

Every instance is built in code from `tiny_site()` (`tests/helpers.py`), a minimal site (one
product, one suite position, one hospital, one operator rostered everywhere, one patient)
changed only where the rule under test needs it. The tests are about the rules, not about hand-computed optima (those
are in `test_tiny_instances.py`): a feasible case shows the rule's quantity in the assignment
(two patients on two chairs' dates, a start on a shift, an assay on a lab day …); an
infeasible case shows the patient unscheduled with a reason that names the rule, or, for
in-progress work that cannot be honoured, an INFEASIBLE answer that says what breaks.

Every schedule the solver returns here goes through the independent validator
(`solve_and_validate`), so a test that checks one rule also checks all the others.

Base chain of `tiny_site()` (Europe/Brussels, no clock change in January 2027), for an
apheresis on date A with fresh material and the first start S:
collected A 12:00, arrival A 14:00, ready A 18:00 (C3), fresh until A+3 12:00 (72 h); the only
shift D starts at 08:00, so S is A+1, A+2 or A+3 08:00; manufacturing 48 h, changeover 24 h
(occupied S .. S+3 08:00); activation on S in shift D; sterility sampled S+2, 3 days, may wait
2 days; release = max(assay end, S+2) + 1; delivery = release + 1.
With A = 2027-01-05 (Tue): S 01-06 08:00, end 01-08 08:00, sterility 01-08..01-11, release 01-12,
delivery 01-13.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from models import Assignment, Instance, Schedule, load_instance
from scheduler.model.build import build_model
from scheduler.model.c06_operator_staffing import _closed_skill_sets
from scheduler.problem.planning import prepare
from tests.helpers import (
    EVERY_DAY,
    SINGLE_START,
    A,
    Doc,
    assert_blocked_by,
    assigned,
    d,
    horizon_dates,
    in_progress,
    local,
    operator,
    patient,
    scheduled_ids,
    solve_and_validate,
    solved,
    step,
    sterility,
    tiny_site,
)
from validator import validate


def occupied(instance: Instance, assignment: Assignment) -> tuple[datetime, datetime]:
    """The half-open interval a batch holds its position: start .. end + changeover (real hours)."""
    product = instance.product_by_id["tiny-cel"]
    start = assignment.manufacturing_start
    until = start + timedelta(hours=product.manufacturing_hours + product.changeover_hours)
    return start, until


# --- C1 coverage --------------------------------------------------------------------------


def test_every_patient_and_running_batch_appears_exactly_once() -> None:
    """C1: a plan lists each patient once, assigned or unscheduled with a reason, and every running batch as assigned.

    One chair on 01-05 and three patients who can only come that day: the most urgent is
    collected, the other two are listed as unscheduled; the batch started before the horizon
    is always in the plan.
    """
    doc = tiny_site(
        hospital={"apheresis_capacity": dict.fromkeys(EVERY_DAY, 1)},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[patient("P1", weight=2), patient("P2"), patient("P3")],
        in_progress=[in_progress("X1", "2026-12-31T08:00", position=2)],
    )
    schedule = solved(doc)
    listed = [a.patient for a in schedule.assignments] + [u.patient for u in schedule.unscheduled]
    assert sorted(listed) == ["P1", "P2", "P3", "X1"]
    assert scheduled_ids(schedule) == {"P1"}
    assert assigned(schedule, "X1").in_progress
    for patient_id in ("P2", "P3"):
        assert_blocked_by(schedule, patient_id, "C2")


def test_running_batch_is_never_dropped_to_make_a_plan() -> None:
    """C1: an in-progress batch is always assigned, so when it cannot be honoured there is no plan.

    X1 started 01-04 08:00 on S1/1, which is requalified from 01-05: the batch cannot be moved
    or left out, so the answer is INFEASIBLE with no assignments, and each new patient is still
    listed once, unscheduled, with a reason naming a rule.
    """
    doc = tiny_site(
        suites=[
            {
                "id": "S1",
                "type": "isolator",
                "positions": 1,
                "unavailable": [{"start": "2027-01-05T00:00", "end": "2027-01-06T00:00"}],
            }
        ],
        patients=[patient("P1"), patient("P2")],
        in_progress=[in_progress("X1", "2027-01-04T08:00")],
    )
    _, schedule = solve_and_validate(doc)
    assert schedule.status == "INFEASIBLE"
    assert schedule.assignments == []
    assert sorted(u.patient for u in schedule.unscheduled) == ["P1", "P2"]
    for patient_id in ("P1", "P2"):
        assert_blocked_by(schedule, patient_id, "C11")


# --- C2 apheresis -------------------------------------------------------------------------


def test_two_patients_sharing_one_chair_are_collected_on_different_days() -> None:
    """C2: with one apheresis chair a day, two patients with the same two-day window take one day each."""
    doc = tiny_site(
        hospital={"apheresis_capacity": dict.fromkeys(EVERY_DAY, 1)},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[patient("P1", A, "2027-01-06"), patient("P2", A, "2027-01-06")],
    )
    schedule = solved(doc)
    days = {assigned(schedule, "P1").apheresis_date, assigned(schedule, "P2").apheresis_date}
    assert days == {d("2027-01-05"), d("2027-01-06")}


def test_chair_booked_outside_the_plan_moves_collection_to_the_next_day() -> None:
    """C2: `booked_elsewhere` uses the only chair of 01-05, so the patient is collected on 01-06."""
    doc = tiny_site(
        hospital={"apheresis_capacity": dict.fromkeys(EVERY_DAY, 1), "booked_elsewhere": {A: 1}},
        patients=[patient("P1", A, "2027-01-06")],
    )
    assert assigned(solved(doc), "P1").apheresis_date == d("2027-01-06")


def test_already_collected_patient_needs_no_chair() -> None:
    """C2: a patient with `collected_on` keeps that date and uses no chair, even on a fully booked day."""
    doc = tiny_site(
        hospital={"booked_elsewhere": {A: 2}},
        patients=[patient("P1", collected_on=A)],
    )
    assert assigned(solved(doc), "P1").apheresis_date == d(A)


def test_locked_patient_keeps_its_communicated_date() -> None:
    """C2: a locked patient is collected on `previous.apheresis_date`, though an earlier day would deliver sooner."""
    doc = tiny_site(
        patients=[
            patient("P1", A, "2027-01-07", previous={"apheresis_date": "2027-01-07"}, locked=True)
        ]
    )
    schedule = solved(doc)
    assert assigned(schedule, "P1").apheresis_date == d("2027-01-07")


def test_hospital_collecting_on_no_day_of_the_window_blocks_the_patient() -> None:
    """C2: H1 collects on Mondays only and the window is Tue-Thu, so no apheresis date exists."""
    doc = tiny_site(
        hospital={"apheresis_capacity": {"Mon": 2}}, patients=[patient("P1", A, "2027-01-07")]
    )
    reason = assert_blocked_by(solved(doc), "P1", "C2")
    assert "H1" in reason


def test_hospital_closed_on_the_only_window_day_blocks_the_patient() -> None:
    """C2: a hospital `closed_dates` entry on the patient's only possible day means no collection."""
    doc = tiny_site(hospital={"closed_dates": [A]})
    reason = assert_blocked_by(solved(doc), "P1", "C2")
    assert "2027-01-05" in reason


def test_last_chair_goes_to_the_more_urgent_patient() -> None:
    """C2: one chair on the only window day; the weight-2 patient gets it, the other is blocked by the chair."""
    doc = tiny_site(
        hospital={"apheresis_capacity": dict.fromkeys(EVERY_DAY, 1)},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[patient("P1", weight=2), patient("P2")],
    )
    schedule = solved(doc)
    assert assigned(schedule, "P1").apheresis_date == d(A)
    assert_blocked_by(schedule, "P2", "C2")


def test_locked_patient_on_a_fully_booked_day_is_not_moved() -> None:
    """C2: a locked patient whose date has no chair left is unscheduled rather than moved to a free day."""
    doc = tiny_site(
        hospital={"booked_elsewhere": {A: 2}},
        patients=[patient("P1", A, "2027-01-07", previous={"apheresis_date": A}, locked=True)],
    )
    assert_blocked_by(solved(doc), "P1", "C2")


# --- C3 material --------------------------------------------------------------------------


def test_fresh_material_starts_the_moment_it_is_received() -> None:
    """C3: collected 08:00, arrived 10:00, received 14:00: the 14:00 shift of the same day is the first start."""
    doc = tiny_site(
        site={
            "shifts": [
                {"id": "E", "start": "06:00", "hours": 8},
                {"id": "L", "start": "14:00", "hours": 8},
            ]
        },
        operators=[operator("OP1", shifts=("E", "L"))],
        hospital={"collection_end": "08:00"},
    )
    schedule = solved(doc)
    p1 = assigned(schedule, "P1")
    assert p1.manufacturing_start == local("2027-01-05T14:00")
    assert [(s.date, s.shift) for s in p1.steps] == [(d(A), "L")]


def test_fresh_material_starts_inside_its_shelf_life() -> None:
    """C3: fresh material collected 01-05 12:00 starts after receipt (18:00) and within 72 h (01-08 12:00)."""
    schedule = solved(tiny_site())
    start = assigned(schedule, "P1").manufacturing_start
    assert local("2027-01-05T18:00") <= start <= local("2027-01-08T12:00")
    assert start == local("2027-01-06T08:00")


def test_cryopreserved_material_waits_past_the_fresh_shelf_life() -> None:
    """C3: cryopreserved cells have no shelf-life, so they wait out a suite closure that fresh cells could not."""
    doc = tiny_site(
        suites=[
            {
                "id": "S1",
                "type": "isolator",
                "positions": 1,
                "unavailable": [
                    {
                        "start": "2027-01-05T00:00",
                        "end": "2027-01-10T00:00",
                        "reason": "requalification",
                    }
                ],
            }
        ],
        patients=[patient("P1", material="cryopreserved"), patient("P2")],
    )
    schedule = solved(doc)
    start = assigned(schedule, "P1").manufacturing_start
    assert start == local("2027-01-10T08:00")
    assert start - local("2027-01-05T12:00") > timedelta(hours=72)
    assert schedule.assignment_of("P2") is None  # its fresh twin expires during the closure


def test_fresh_material_expiring_before_it_is_received_is_not_scheduled() -> None:
    """C3: a 5 h shelf-life ends before transit (2 h) and receipt (4 h) are done."""
    doc = tiny_site(product={"fresh_shelf_life_hours": 5})
    assert_blocked_by(solved(doc), "P1", "C3")


def test_fresh_material_past_shelf_life_is_not_scheduled() -> None:
    """C3: a 12 h shelf-life ends at midnight; the next shift starts 08:00, too late for fresh cells."""
    doc = tiny_site(product={"fresh_shelf_life_hours": 12})
    reason = assert_blocked_by(solved(doc), "P1", "C3")
    assert "shelf-life" in reason


# --- C4 start -----------------------------------------------------------------------------


def test_manufacturing_starts_at_a_staffed_shift_with_its_day0_step_in_that_shift() -> None:
    """C4: operators work only the late shift, so the batch starts at 14:00 and is activated in shift L."""
    doc = tiny_site(
        site={
            "shifts": [
                {"id": "E", "start": "06:00", "hours": 8},
                {"id": "L", "start": "14:00", "hours": 8},
            ]
        },
        operators=[operator("OP1", shifts=("L",))],
    )
    p1 = assigned(solved(doc), "P1")
    assert p1.manufacturing_start == local("2027-01-06T14:00")
    assert [(s.step, s.date, s.shift) for s in p1.steps] == [("activation", d("2027-01-06"), "L")]


def test_daily_start_limit_spreads_starts_over_days() -> None:
    """C4: with one start allowed a day, two patients collected the same day start on different days."""
    doc = tiny_site(
        site={"max_starts_per_day": 1},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[patient("P1"), patient("P2")],
    )
    schedule = solved(doc)
    starts = {assigned(schedule, p).manufacturing_start.date() for p in ("P1", "P2")}
    assert starts == {d("2027-01-06"), d("2027-01-07")}


def test_start_limit_reached_blocks_a_patient_with_a_single_start_day() -> None:
    """C4: one start a day and two fresh patients whose cells can only start on 01-06: the urgent one starts."""
    doc = tiny_site(
        site={"max_starts_per_day": 1},
        product=SINGLE_START,
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[patient("P1", weight=2), patient("P2")],
    )
    schedule = solved(doc)
    assert assigned(schedule, "P1").manufacturing_start == local("2027-01-06T08:00")
    reason = assert_blocked_by(schedule, "P2", "C4")
    assert "2027-01-06" in reason


def test_running_batch_starting_in_the_horizon_uses_the_days_start() -> None:
    """C4: an in-progress start on 01-06 counts towards the limit of one start that day."""
    doc = tiny_site(
        site={"max_starts_per_day": 1},
        product=SINGLE_START,
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        in_progress=[in_progress("X1", "2027-01-06T08:00", position=2)],
    )
    assert_blocked_by(solved(doc), "P1", "C4")


def test_site_allowing_no_starts_schedules_nobody() -> None:
    """C4: `max_starts_per_day` 0 leaves no start for anyone."""
    doc = tiny_site(site={"max_starts_per_day": 0})
    assert_blocked_by(solved(doc), "P1", "C4")


# --- C5 suite -----------------------------------------------------------------------------


def test_one_position_runs_batches_back_to_back_after_changeover() -> None:
    """C5: on one position the second batch starts exactly when the first one's changeover ends (half-open)."""
    doc = tiny_site(
        patients=[patient("P1", material="cryopreserved"), patient("P2", material="cryopreserved")]
    )
    instance, schedule = solve_and_validate(doc)
    first, second = sorted(
        (assigned(schedule, p) for p in ("P1", "P2")), key=lambda a: a.manufacturing_start
    )
    assert (first.suite, first.position) == (second.suite, second.position) == ("S1", 1)
    assert first.manufacturing_end == first.manufacturing_start + timedelta(hours=48)
    assert occupied(instance, first)[1] == second.manufacturing_start == local("2027-01-09T08:00")


def test_two_positions_run_two_batches_at_once() -> None:
    """C5: a suite with two positions takes two batches starting the same shift, one per position."""
    doc = tiny_site(
        product=SINGLE_START,
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[patient("P1"), patient("P2")],
    )
    schedule = solved(doc)
    p1, p2 = assigned(schedule, "P1"), assigned(schedule, "P2")
    assert p1.manufacturing_start == p2.manufacturing_start == local("2027-01-06T08:00")
    assert {p1.position, p2.position} == {1, 2}


def test_suite_of_another_type_is_never_used() -> None:
    """C5: an idle closed-system suite does not take an isolator product; the second patient is blocked."""
    doc = tiny_site(
        product=SINGLE_START,
        suites=[
            {"id": "S1", "type": "isolator", "positions": 1},
            {"id": "S2", "type": "closed-system", "positions": 1},
        ],
        patients=[patient("P1", weight=2), patient("P2")],
    )
    schedule = solved(doc)
    assert assigned(schedule, "P1").suite == "S1"
    reason = assert_blocked_by(schedule, "P2", "C5")
    assert "isolator" in reason


def test_suite_downtime_over_every_start_blocks_fresh_patient() -> None:
    """C5: the only suite is requalified over every shift the fresh cells could start in."""
    doc = tiny_site(
        suites=[
            {
                "id": "S1",
                "type": "isolator",
                "positions": 1,
                "unavailable": [{"start": "2027-01-05T00:00", "end": "2027-01-10T00:00"}],
            }
        ]
    )
    assert_blocked_by(solved(doc), "P1", "C5")


def test_busy_position_blocks_a_patient_with_a_single_start() -> None:
    """C5: one position and two fresh patients who can only start on 01-06: the second one has no position."""
    doc = tiny_site(product=SINGLE_START, patients=[patient("P1", weight=2), patient("P2")])
    schedule = solved(doc)
    assert assigned(schedule, "P1").position == 1
    assert_blocked_by(schedule, "P2", "C5")


# --- C6 steps -----------------------------------------------------------------------------

HARVEST = step("harvest", day_offset=2, hours=3)


def test_steps_are_staffed_on_their_day_by_qualified_rostered_operators() -> None:
    """C6: a two-operator activation gets two distinct aseptic operators (not the cleaner); harvest is on day 2."""
    doc = tiny_site(
        product={"steps": [step("activation", operators=2), HARVEST]},
        operators=[operator("OP1"), operator("OP2"), operator("OP3", skills=("cleaning",))],
    )
    p1 = assigned(solved(doc), "P1")
    steps = {s.step: s for s in p1.steps}
    assert sorted(steps["activation"].operators) == ["OP1", "OP2"]
    assert steps["activation"].date == p1.manufacturing_start.date() == d("2027-01-06")
    assert steps["harvest"].date == d("2027-01-08")
    assert len(steps["harvest"].operators) == 1


def test_two_long_steps_in_one_shift_go_to_two_operators() -> None:
    """C6: two 5 h activations on the same 8 h shift cannot both be done by one operator."""
    doc = tiny_site(
        product={**SINGLE_START, "steps": [step("activation", hours=5)]},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        operators=[operator("OP1"), operator("OP2")],
        patients=[patient("P1"), patient("P2")],
    )
    schedule = solved(doc)
    staff = [assigned(schedule, p).steps[0].operators for p in ("P1", "P2")]
    assert sorted(op for team in staff for op in team) == ["OP1", "OP2"]


def test_own_steps_exceeding_one_shift_are_explained_as_operator_hours() -> None:
    """C6: two 5 h day-0 steps of one batch and a single operator on an 8 h shift: the batch can never be staffed.

    Each step fits the shift alone, so the option survives the per-step screening; the reason a
    coordinator needs is the operator hours (C6), not a generic coverage message.
    """
    doc = tiny_site(product={"steps": [step("activation", hours=5), step("transduction", hours=5)]})
    assert_blocked_by(solved(doc), "P1", "C6")


def test_no_operator_rostered_on_a_later_step_day_blocks_the_patient() -> None:
    """C6: the harvest falls on 01-08 (day 2 of the only possible start) and nobody is rostered that day."""
    dates = [day for day in horizon_dates() if day != "2027-01-08"]
    doc = tiny_site(
        product={**SINGLE_START, "steps": [step("activation"), HARVEST]},
        operators=[operator("OP1", dates=dates)],
    )
    reason = assert_blocked_by(solved(doc), "P1", "C6")
    assert "2027-01-08" in reason and "aseptic" in reason


def test_operator_without_the_skill_cannot_staff_the_step() -> None:
    """C6: on the only start day just a cleaner is rostered; the aseptic operator works from 01-10 on."""
    doc = tiny_site(
        product=SINGLE_START,
        operators=[
            operator("OP1", dates=horizon_dates()[6:]),
            operator("OP2", skills=("cleaning",)),
        ],
    )
    assert_blocked_by(solved(doc), "P1", "C6")


def test_operator_hours_of_a_shift_block_a_second_long_step() -> None:
    """C6: one operator, 8 h shift, two 5 h activations on the same day: the second patient is blocked."""
    doc = tiny_site(
        product={**SINGLE_START, "steps": [step("activation", hours=5)]},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[patient("P1", weight=2), patient("P2")],
    )
    schedule = solved(doc)
    assert scheduled_ids(schedule) == {"P1"}
    assert_blocked_by(schedule, "P2", "C6")


def test_skills_held_by_the_same_operators_share_one_hours_bound() -> None:
    """C6 (the model's Hall bounds): two operators hold aseptic and transduction, one cryo.

    The hours of aseptic steps alone fit the same two operators as aseptic and transduction
    together, so only the joint bound is stated; cryo adds its operator, so it is bounded alone
    and with the others. Bit masks: aseptic 1, transduction 2, cryo 4; 8 h = 800.
    """
    capacities = {1: 1600, 2: 1600, 3: 1600, 4: 800, 5: 2400, 6: 2400, 7: 2400}
    assert sorted(_closed_skill_sets(capacities, [1, 2, 4])) == [3, 4, 7]


# --- C7 qc --------------------------------------------------------------------------------


def test_lab_capacity_spreads_assay_starts_over_days() -> None:
    """C7: one sterility start a day; two batches sampled on 01-08 start their assays on two days within the wait."""
    doc = tiny_site(
        product=SINGLE_START,
        qc_lab={"capacity": {"sterility": 1}},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[patient("P1"), patient("P2")],
    )
    schedule = solved(doc)
    assays = [assigned(schedule, p).qc[0] for p in ("P1", "P2")]
    assert {a.start_date for a in assays} == {d("2027-01-08"), d("2027-01-09")}
    for assay in assays:
        assert assay.end_date == assay.start_date + timedelta(days=3)


def assay_day_choices(doc: Doc) -> set[str]:
    """The model's assay start-day choice variables (`assay[patient,assay,day]`) for an instance."""
    plan, _, _ = build_model(prepare(load_instance(doc)))
    return {
        variable.name
        for variable in plan.model.proto.variables
        if variable.name.startswith("assay[")
    }


def test_a_lab_that_is_never_full_starts_every_assay_on_its_sample_day() -> None:
    """C7: two starts of sterility a day and two patients: no lab day can fill, so waiting never helps.

    The model keeps no choice of assay day (a day that cannot fill dominates every later one),
    and both assays start on the sample day 01-08.
    """
    doc = tiny_site(
        product=SINGLE_START,
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[patient("P1"), patient("P2")],
    )
    assert assay_day_choices(doc) == set()
    schedule = solved(doc)
    assert [assigned(schedule, p).qc[0].start_date for p in ("P1", "P2")] == [d("2027-01-08")] * 2


def test_a_lab_day_that_may_fill_keeps_the_next_day_as_a_choice() -> None:
    """C7: both samples are taken 01-08, when the lab has one sterility start (two on other days).

    01-08 may fill, 01-09 cannot: each assay chooses between those two and never needs 01-10
    (days 4 and 5 of the horizon); the optimum tests one batch each day.
    """
    doc = tiny_site(
        product=SINGLE_START,
        qc_lab={"capacity_by_date": {"2027-01-08": {"sterility": 1}}},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[patient("P1"), patient("P2")],
    )
    assert assay_day_choices(doc) == {
        f"assay[{p},sterility,{day}]" for p in ("P1", "P2") for day in (4, 5)
    }
    schedule = solved(doc)
    assert sorted(assigned(schedule, p).qc[0].start_date for p in ("P1", "P2")) == [
        d("2027-01-08"),
        d("2027-01-09"),
    ]


def test_assays_that_never_decide_delivery_share_the_lab_days_by_count() -> None:
    """C7: endotoxin (same day result) and sterility (3 days), both sampled 01-08, one endotoxin start a day.

    Endotoxin ends by 01-10 whichever day it starts, before sterility's 01-11, so its day never
    moves a delivery: the model counts endotoxin starts per lab day (days 4-6 of the horizon)
    instead of choosing one per patient. The two batches still get different endotoxin days,
    and both are delivered 01-13.
    """
    endotoxin = {"id": "endotoxin", "sample_day_offset": 2, "duration_days": 0, "max_wait_days": 2}
    doc = tiny_site(
        product={**SINGLE_START, "qc_assays": [sterility(), endotoxin]},
        qc_lab={"capacity": {"sterility": 2, "endotoxin": 1}},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[patient("P1"), patient("P2")],
    )
    plan, _, _ = build_model(prepare(load_instance(doc)))
    names = {variable.name for variable in plan.model.proto.variables}
    assert assay_day_choices(doc) == set()
    assert {name for name in names if name.startswith("assay_flow[")} == {
        f"assay_flow[endotoxin,4,{day}]" for day in (4, 5, 6)
    }
    schedule = solved(doc)
    endotoxin_days = {assigned(schedule, p).qc[1].start_date for p in ("P1", "P2")}
    assert len(endotoxin_days) == 2 and endotoxin_days <= {
        d("2027-01-08"),
        d("2027-01-09"),
        d("2027-01-10"),
    }
    assert [assigned(schedule, p).delivery_date for p in ("P1", "P2")] == [d("2027-01-13")] * 2


def test_assay_sampled_on_saturday_starts_on_monday() -> None:
    """C7: the lab works Mon-Fri; a sample taken Sat 01-09 waits two days for Mon 01-11."""
    doc = tiny_site(
        product=SINGLE_START,
        qc_lab={"working_days": ["Mon", "Tue", "Wed", "Thu", "Fri"]},
        patients=[patient("P1", "2027-01-06")],
    )
    p1 = assigned(solved(doc), "P1")
    assert p1.qc[0].start_date == d("2027-01-11")
    assert p1.release_date == d("2027-01-15")  # C8: assay end 01-14 + 1 QP day


def test_lab_closed_for_the_whole_wait_blocks_the_patient() -> None:
    """C7: sampled Sat 01-09, may wait 2 days, and the lab is shut for the weekend and the Monday."""
    doc = tiny_site(
        product=SINGLE_START,
        qc_lab={
            "working_days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
            "closed_dates": ["2027-01-11"],
        },
        patients=[patient("P1", "2027-01-06")],
    )
    reason = assert_blocked_by(solved(doc), "P1", "C7")
    assert "sterility" in reason


def test_full_lab_day_blocks_an_assay_that_cannot_wait() -> None:
    """C7: one sterility start a day and no waiting: the second batch sampled the same day cannot be tested."""
    doc = tiny_site(
        product={**SINGLE_START, "qc_assays": [sterility(max_wait_days=0)]},
        qc_lab={"capacity": {"sterility": 1}},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[patient("P1", weight=2), patient("P2")],
    )
    schedule = solved(doc)
    assert scheduled_ids(schedule) == {"P1"}
    assert_blocked_by(schedule, "P2", "C7")


# --- C8 release ---------------------------------------------------------------------------

# H1 on the site's campus: the product is at the hospital the day the QP releases it, so the
# release date itself is what the infusion window's `latest` day has to meet.
ON_CAMPUS = {"return_transit_days": 0}


def test_release_after_the_last_assay_lands_on_the_last_infusion_day() -> None:
    """C8: release = max(sterility end 01-11, manufacturing end 01-08) + 2 QP days = 01-13, the window's last day.

    P1 is collected 01-05 and starts 01-06 08:00; manufacturing ends 01-08 08:00; sterility is
    sampled and started 01-08 and ends 01-11; two QP days release it 01-13, and with no return
    transit it reaches H1 the same day, when the infusion window closes: scheduled.
    """
    doc = tiny_site(
        product={"qp_release_days": 2},
        hospital=ON_CAMPUS,
        patients=[patient("P1", infusion_window={"earliest": A, "latest": "2027-01-13"})],
    )
    p1 = assigned(solved(doc), "P1")
    assert p1.manufacturing_end == local("2027-01-08T08:00")
    assert [(q.start_date, q.end_date) for q in p1.qc] == [(d("2027-01-08"), d("2027-01-11"))]
    assert p1.release_date == d("2027-01-13")
    assert p1.delivery_date == d("2027-01-13")


def test_one_more_qp_release_day_misses_the_infusion_window() -> None:
    """C8/C9: the same patient with three QP days is released 01-14, a day after the window closes.

    Every later start only releases later, so P1 is unscheduled; the reason names the delivery
    (C8 has no text of its own: a late release shows as the delivery it delays) and the date.
    """
    doc = tiny_site(
        product={"qp_release_days": 3},
        hospital=ON_CAMPUS,
        patients=[patient("P1", infusion_window={"earliest": A, "latest": "2027-01-13"})],
    )
    reason = assert_blocked_by(solved(doc), "P1", "C9")
    assert "2027-01-14" in reason and "2027-01-13" in reason


# 136.5 h from Wed 01-06 08:00 ends Tue 01-12 00:30 local (Mon 01-11 23:30 UTC); sterility of one
# day, sampled and started 01-08, ends 01-09: the manufacturing end decides the release.
LONG_RUN = {"manufacturing_hours": 136.5, "qc_assays": [sterility(duration_days=1)]}


def test_release_waits_for_a_manufacturing_end_after_every_assay() -> None:
    """C8: manufacturing ends 01-12 00:30 local, after sterility (ends 01-09): release 01-12 + 1 = 01-13.

    The end's local calendar date counts (SPEC 8), not its UTC date 01-11; delivery 01-14.
    """
    doc = tiny_site(product=LONG_RUN)
    p1 = assigned(solved(doc), "P1")
    assert p1.manufacturing_start == local("2027-01-06T08:00")
    assert p1.manufacturing_end == local("2027-01-12T00:30")
    assert p1.qc[0].end_date == d("2027-01-09")
    assert p1.release_date == d("2027-01-13")
    assert p1.delivery_date == d("2027-01-14")


def test_manufacturing_end_just_after_midnight_releases_a_day_too_late() -> None:
    """C8/C9: the same batch for an infusion window closing 01-13 cannot be scheduled.

    Reading the 00:30 end on its UTC date (01-11) would release 01-12 and deliver 01-13, in
    the window; on its local date (01-12) the delivery is 01-14, a day late.
    """
    doc = tiny_site(
        product=LONG_RUN,
        patients=[patient("P1", infusion_window={"earliest": A, "latest": "2027-01-13"})],
    )
    reason = assert_blocked_by(solved(doc), "P1", "C9")
    assert "2027-01-14" in reason


# --- C9 delivery --------------------------------------------------------------------------


def test_product_ready_early_waits_for_the_infusion_window() -> None:
    """C9: the product could reach H1 on 01-13, but the patient can be infused only from 01-18.

    (Any start that still delivers on 01-18 is optimal, so only the delivery date is pinned.)
    """
    doc = tiny_site(patients=[patient("P1", infusion_window={"earliest": "2027-01-18"})])
    p1 = assigned(solved(doc), "P1")
    assert p1.release_date + timedelta(days=1) <= d("2027-01-18")
    assert p1.delivery_date == d("2027-01-18")


def test_delivery_on_the_last_day_of_the_infusion_window_is_accepted() -> None:
    """C9: the infusion window's `latest` is inclusive: delivery 01-13 meets a window closing 01-13."""
    doc = tiny_site(
        patients=[patient("P1", infusion_window={"earliest": A, "latest": "2027-01-13"})]
    )
    assert assigned(solved(doc), "P1").delivery_date == d("2027-01-13")


def test_infusion_window_closing_before_the_product_can_arrive_blocks_the_patient() -> None:
    """C9: the earliest delivery is 01-13 and the window closes 01-12."""
    doc = tiny_site(
        patients=[patient("P1", infusion_window={"earliest": A, "latest": "2027-01-12"})]
    )
    reason = assert_blocked_by(solved(doc), "P1", "C9")
    assert "2027-01-12" in reason


# --- C10 horizon --------------------------------------------------------------------------


def test_delivery_on_the_last_horizon_day_is_inside_the_plan() -> None:
    """C10: a 10-day horizon ends 01-14 00:00, so a delivery on 01-13 is in the plan."""
    doc = tiny_site(horizon={"days": 10}, operators=[operator("OP1", dates=horizon_dates(10))])
    assert assigned(solved(doc), "P1").delivery_date == d("2027-01-13")


def test_delivery_after_the_horizon_end_blocks_the_patient() -> None:
    """C10: a 9-day horizon ends 01-13 00:00, one day before the earliest delivery."""
    doc = tiny_site(horizon={"days": 9}, operators=[operator("OP1", dates=horizon_dates(9))])
    assert_blocked_by(solved(doc), "P1", "C10")


def test_infusion_window_opening_at_the_horizon_end_blocks_the_patient() -> None:
    """C10: a patient who can be infused only from the first day after the horizon is not in this plan."""
    doc = tiny_site(patients=[patient("P1", infusion_window={"earliest": "2027-01-25"})])
    assert_blocked_by(solved(doc), "P1", "C10")


def test_apheresis_window_after_the_horizon_blocks_the_patient() -> None:
    """C10: a collection window that starts after the horizon cannot be planned now."""
    doc = tiny_site(patients=[patient("P1", "2027-01-26", "2027-01-28")])
    assert_blocked_by(solved(doc), "P1", "C10")


# --- C11 in progress ----------------------------------------------------------------------


def test_running_batch_keeps_its_suite_start_and_counts_its_early_assay() -> None:
    """C11: a batch started 12-31 keeps S1/1 and its start; its activation is done (not listed),
    its harvest on 01-05 is planned, and its sterility sampled 01-02 counts as started that day.
    """
    doc = tiny_site(
        product={"steps": [step("activation"), step("harvest", day_offset=5, hours=3)]},
        in_progress=[in_progress("X1", "2026-12-31T08:00")],
    )
    schedule = solved(doc)
    x1 = assigned(schedule, "X1")
    assert x1.in_progress and x1.apheresis_date is None
    assert (x1.suite, x1.position, x1.manufacturing_start) == ("S1", 1, local("2026-12-31T08:00"))
    assert [(s.step, s.date) for s in x1.steps] == [("harvest", d("2027-01-05"))]
    assert [(q.start_date, q.end_date) for q in x1.qc] == [(d("2027-01-02"), d("2027-01-05"))]
    assert (x1.release_date, x1.delivery_date) == (d("2027-01-06"), d("2027-01-07"))
    assert not assigned(schedule, "P1").in_progress


def test_running_batch_holds_its_position_until_its_changeover_ends() -> None:
    """C11/C5: a batch started 01-04 08:00 holds the only position until 01-07 08:00; the new batch starts then."""
    doc = tiny_site(in_progress=[in_progress("X1", "2027-01-04T08:00")])
    schedule = solved(doc)
    assert assigned(schedule, "P1").manufacturing_start == local("2027-01-07T08:00")


def test_new_batch_cannot_overlap_a_running_batch_that_starts_later() -> None:
    """C11/C5: a running batch starting 01-07 08:00 on the only position blocks a new start on 01-06.

    P1's fresh cells (24 h shelf-life) can only start 01-06 08:00, which would hold S1/1 until
    01-09 08:00, across the running batch's start: P1 cannot be scheduled.
    """
    doc = tiny_site(product=SINGLE_START, in_progress=[in_progress("X1", "2027-01-07T08:00")])
    assert_blocked_by(solved(doc), "P1", "C5")


def test_running_batch_assay_takes_the_lab_slot_a_new_batch_needs() -> None:
    """C11/C7: the running batch's sterility sampled 01-07 inside the horizon uses the lab's one start that day."""
    doc = tiny_site(
        product={**SINGLE_START, "qc_assays": [sterility(max_wait_days=0)]},
        qc_lab={"capacity": {"sterility": 1}},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        in_progress=[in_progress("X1", "2027-01-05T08:00", position=2)],
        patients=[patient("P1", "2027-01-04")],
    )
    schedule = solved(doc)
    assert assigned(schedule, "X1").qc[0].start_date == d("2027-01-07")
    assert_blocked_by(schedule, "P1", "C7")


def test_running_batch_delivered_before_the_horizon_is_reported_infeasible() -> None:
    """C11/C10 (SPEC 8): a running batch's release and delivery lie inside the horizon, or the commitments are INFEASIBLE.

    Started 12-27 08:00: end 12-29, sterility 12-29..01-01 (sampled before the horizon, so taken
    as started then), release 01-02, delivery 01-03, before the horizon start 01-04.
    """
    doc = tiny_site(in_progress=[in_progress("X1", "2026-12-27T08:00")])
    _, schedule = solve_and_validate(doc)
    assert schedule.status == "INFEASIBLE"
    assert any("X1" in line for line in _infeasibility(schedule))


def _infeasibility(schedule: Schedule) -> list[str]:
    extra = schedule.model_extra or {}
    return list(extra.get("infeasibility") or [])


def test_running_batches_overlapping_on_one_position_make_the_plan_infeasible() -> None:
    """C11: two in-progress batches on S1 position 1, 24 h apart, cannot both be honoured: the answer says which."""
    doc = tiny_site(
        in_progress=[in_progress("X1", "2027-01-04T08:00"), in_progress("X2", "2027-01-05T08:00")]
    )
    instance, schedule = solve_and_validate(doc)
    assert schedule.status == "INFEASIBLE"
    explanation = _infeasibility(schedule)
    assert any("X1" in line and "X2" in line for line in explanation), explanation
    assert_blocked_by(schedule, "P1", "C11")
    # The independent validator sees the same clash in the instance.
    # A planless INFEASIBLE answer is a valid answer: there is no plan to break the rules.
    assert validate(instance, schedule) == []


def test_running_batch_with_nobody_for_its_harvest_makes_the_plan_infeasible() -> None:
    """C11/C6: the harvest of a running batch falls on a day with no operator rostered."""
    doc = tiny_site(
        product={"steps": [step("activation"), step("harvest", day_offset=5, hours=3)]},
        operators=[operator("OP1", dates=[day for day in horizon_dates() if day != A])],
        in_progress=[in_progress("X1", "2026-12-31T08:00")],
    )
    _, schedule = solve_and_validate(doc)
    assert schedule.status == "INFEASIBLE"
    assert any("X1" in line and "harvest" in line for line in _infeasibility(schedule))


def test_running_batches_needing_more_operator_hours_than_rostered_are_infeasible() -> None:
    """C11/C6: two running batches both activated on 01-04 need 2 x 5 h of the one operator's 8 h shift."""
    doc = tiny_site(
        product={"steps": [step("activation", hours=5)]},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        in_progress=[
            in_progress("X1", "2027-01-04T08:00"),
            in_progress("X2", "2027-01-04T08:00", position=2),
        ],
    )
    _, schedule = solve_and_validate(doc)
    assert schedule.status == "INFEASIBLE"
    assert _infeasibility(schedule)


def test_running_batches_competing_for_one_operator_are_named() -> None:
    """C11/C6: the explanation of an operator-hours clash between running batches says which batches and which day."""
    doc = tiny_site(
        product={"steps": [step("activation", hours=5)]},
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        in_progress=[
            in_progress("X1", "2027-01-04T08:00"),
            in_progress("X2", "2027-01-04T08:00", position=2),
        ],
    )
    _, schedule = solve_and_validate(doc)
    explanation = " ".join(_infeasibility(schedule))
    assert "X1" in explanation and "X2" in explanation and "2027-01-04" in explanation, explanation


def test_running_batches_started_together_beyond_the_daily_start_limit_are_infeasible() -> None:
    """C11/C4: two batches already started on 01-04 (inside the horizon) with max_starts_per_day 1.

    SPEC 8 counts in-progress starts inside the horizon, so the commitments break C4 themselves:
    the answer is INFEASIBLE and names both batches (found by the random tiny-site property test).
    """
    doc = tiny_site(
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        in_progress=[
            in_progress("X0", "2027-01-04T08:00"),
            in_progress("X1", "2027-01-04T08:00", position=2),
        ],
    )
    doc["site"]["max_starts_per_day"] = 1
    _, schedule = solve_and_validate(doc)
    assert schedule.status == "INFEASIBLE"
    assert any(
        line.startswith("C4") and "X0" in line and "X1" in line for line in _infeasibility(schedule)
    )
