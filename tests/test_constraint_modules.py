"""Each constraint module of `scheduler/model/` on its own, on a tiny site, in a tiny CP-SAT solve.

The pattern of every test: build the `PlanningProblem` of a `tiny_site()` instance (the option
filter has already run), create the variables, add ONLY the rule family under test (plus C1
coverage where `scheduled` must be linked to the starts), fix a few decisions the way a
coordinator would ask ("both patients start on Wednesday"), and ask CP-SAT whether that is
possible. An infeasible case first checks that the same decisions are possible without the
family, so the INFEASIBLE comes from the rule under test and nothing else.

Dates follow the base chain of `tests/helpers.py`: a patient collected Tue 01-05 can start
Wed 01-06 08:00 (Thu 01-07, Fri 01-08 too with the 72 h shelf-life), occupies its position
72 h, is sampled for sterility on start + 2 days, and is delivered at the earliest on 01-13
(day 9 of the horizon) from a start on 01-06.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from models import load_instance
from scheduler.model.c01_c03_coverage_and_material import add_one_start_per_scheduled_patient
from scheduler.model.c02_apheresis_chairs import add_apheresis_chairs
from scheduler.model.c04_daily_starts import add_daily_start_limit
from scheduler.model.c05_suite_positions import add_suite_capacity
from scheduler.model.c06_operator_staffing import add_exact_shift_team, add_operator_staffing
from scheduler.model.c07_qc_capacity import add_qc_capacity
from scheduler.model.c08_c10_release_and_delivery import add_release_and_delivery
from scheduler.model.variables import PlanVariables, create_variables
from scheduler.problem.planning import PlanningProblem, prepare
from tests.helpers import (
    EVERY_DAY,
    SINGLE_START,
    A,
    Doc,
    d,
    horizon_dates,
    in_progress,
    operator,
    patient,
    step,
    sterility,
    tiny_site,
)

FEASIBLE = "FEASIBLE"
INFEASIBLE = "INFEASIBLE"
TWO_POSITIONS = [{"id": "S1", "type": "isolator", "positions": 2}]


def variables_of(doc: Doc) -> tuple[PlanningProblem, PlanVariables]:
    """The planning problem of an instance document and a fresh model with only its variables."""
    problem = prepare(load_instance(doc))
    plan = create_variables(problem.patients, problem.commitments, problem.builder.classes)
    return problem, plan


def solve(plan: PlanVariables) -> tuple[str, cp_model.CpSolver]:
    """A tiny single-worker CP-SAT solve: FEASIBLE (any solution), INFEASIBLE, or CP-SAT's status name."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 5
    status = solver.solve(plan.model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return FEASIBLE, solver
    return solver.status_name(status), solver


def status(plan: PlanVariables) -> str:
    """FEASIBLE or INFEASIBLE (never UNKNOWN on these tiny models)."""
    return solve(plan)[0]


def starts_on(
    problem: PlanningProblem, plan: PlanVariables, patient_id: str, day: str
) -> cp_model.IntVar:
    """The literal 'the patient's manufacturing starts on this date' (any shift, any suite)."""
    return plan.starts_on_day[patient_id][problem.calendar.day(d(day))]


def collected_on(plan: PlanVariables, patient_id: str, day: str) -> cp_model.IntVar:
    """The literal 'the patient's apheresis is on this date'."""
    return plan.apheresis_on[(patient_id, d(day))]


# --- C1 coverage, C3 material (c01_c03_coverage_and_material) ------------------------------

# P1 may come on 01-05 or 01-06; fresh for 24 h, its cells start the next morning or never.
TWO_COLLECTION_DAYS = tiny_site(product=SINGLE_START, patients=[patient("P1", A, "2027-01-06")])


def test_c01_c03_start_the_morning_after_collection_is_feasible() -> None:
    """C1/C3: P1 collected 01-06 and started 01-07 08:00 (20 h later, within 24 h): one start, one collection."""
    problem, plan = variables_of(TWO_COLLECTION_DAYS)
    add_one_start_per_scheduled_patient(plan)
    plan.model.add(plan.scheduled["P1"] == 1)
    plan.model.add(starts_on(problem, plan, "P1", "2027-01-07") == 1)
    plan.model.add(collected_on(plan, "P1", "2027-01-06") == 1)
    verdict, solver = solve(plan)
    assert verdict == FEASIBLE
    assert solver.value(collected_on(plan, "P1", "2027-01-05")) == 0


def test_c01_c03_start_after_the_shelf_life_of_the_chosen_collection_is_infeasible() -> None:
    """C3: cells collected 01-05 12:00 expire 01-06 12:00, so a start on 01-07 cannot use them."""
    problem, plan = variables_of(TWO_COLLECTION_DAYS)
    plan.model.add(plan.scheduled["P1"] == 1)
    plan.model.add(starts_on(problem, plan, "P1", "2027-01-07") == 1)
    plan.model.add(collected_on(plan, "P1", "2027-01-05") == 1)
    assert status(plan) == FEASIBLE
    add_one_start_per_scheduled_patient(plan)
    assert status(plan) == INFEASIBLE


def test_c01_c03_a_patient_starting_twice_is_infeasible() -> None:
    """C1: a scheduled patient has exactly one manufacturing start, not one on 01-06 and one on 01-07."""
    problem, plan = variables_of(TWO_COLLECTION_DAYS)
    plan.model.add(starts_on(problem, plan, "P1", "2027-01-06") == 1)
    plan.model.add(starts_on(problem, plan, "P1", "2027-01-07") == 1)
    assert status(plan) == FEASIBLE
    add_one_start_per_scheduled_patient(plan)
    assert status(plan) == INFEASIBLE


# --- C2 apheresis chairs (c02_apheresis_chairs) ------------------------------------------------


def one_chair_two_patients(**hospital: object) -> Doc:
    """H1 with one chair a day; P1 and P2 may each be collected on 01-05 or 01-06."""
    return tiny_site(
        hospital={"apheresis_capacity": dict.fromkeys(EVERY_DAY, 1), **hospital},
        suites=TWO_POSITIONS,
        patients=[patient("P1", A, "2027-01-06"), patient("P2", A, "2027-01-06")],
    )


def test_c02_one_chair_collects_two_patients_on_two_days() -> None:
    """C2: P1 on 01-05 and P2 on 01-06 each take the day's one chair."""
    problem, plan = variables_of(one_chair_two_patients())
    add_apheresis_chairs(plan, problem.instance)
    plan.model.add(collected_on(plan, "P1", A) == 1)
    plan.model.add(collected_on(plan, "P2", "2027-01-06") == 1)
    assert status(plan) == FEASIBLE


def test_c02_one_chair_cannot_collect_two_patients_on_one_day() -> None:
    """C2: P1 and P2 both on 01-05 would need two chairs; H1 has one."""
    problem, plan = variables_of(one_chair_two_patients())
    plan.model.add(collected_on(plan, "P1", A) == 1)
    plan.model.add(collected_on(plan, "P2", A) == 1)
    assert status(plan) == FEASIBLE
    add_apheresis_chairs(plan, problem.instance)
    assert status(plan) == INFEASIBLE


def test_c02_chair_booked_elsewhere_leaves_none_for_a_second_patient() -> None:
    """C2: two chairs on 01-05, one booked outside this plan: P1 fits, P1 and P2 together do not."""
    doc = one_chair_two_patients(
        apheresis_capacity=dict.fromkeys(EVERY_DAY, 2), booked_elsewhere={A: 1}
    )
    problem, plan = variables_of(doc)
    add_apheresis_chairs(plan, problem.instance)
    plan.model.add(collected_on(plan, "P1", A) == 1)
    assert status(plan) == FEASIBLE
    plan.model.add(collected_on(plan, "P2", A) == 1)
    assert status(plan) == INFEASIBLE


# --- C4 starts per day (c04_daily_starts) ------------------------------------------------------


def one_start_a_day(**overrides: object) -> Doc:
    """A site allowing one manufacturing start a day, two positions, P1 and P2 collected 01-05."""
    return tiny_site(
        **{
            "site": {"max_starts_per_day": 1},
            "suites": TWO_POSITIONS,
            "patients": [patient("P1"), patient("P2")],
            **overrides,
        }
    )


def test_c04_one_start_a_day_spreads_two_patients_over_two_days() -> None:
    """C4: P1 starts 01-06 and P2 01-07: one start each day."""
    problem, plan = variables_of(one_start_a_day())
    add_daily_start_limit(plan, problem.instance, problem.calendar)
    plan.model.add(starts_on(problem, plan, "P1", "2027-01-06") == 1)
    plan.model.add(starts_on(problem, plan, "P2", "2027-01-07") == 1)
    assert status(plan) == FEASIBLE


def test_c04_two_starts_on_one_day_break_the_limit() -> None:
    """C4: P1 and P2 both starting 01-06 would be two starts on a day that allows one."""
    problem, plan = variables_of(one_start_a_day())
    plan.model.add(starts_on(problem, plan, "P1", "2027-01-06") == 1)
    plan.model.add(starts_on(problem, plan, "P2", "2027-01-06") == 1)
    assert status(plan) == FEASIBLE
    add_daily_start_limit(plan, problem.instance, problem.calendar)
    assert status(plan) == INFEASIBLE


def test_c04_running_batch_started_that_day_uses_its_start() -> None:
    """C4/C11: X1 started 01-06 08:00 (inside the horizon) counts as that day's one start; P1 must wait."""
    doc = one_start_a_day(
        patients=[patient("P1")],
        in_progress=[in_progress("X1", "2027-01-06T08:00", position=2)],
    )
    problem, plan = variables_of(doc)
    add_daily_start_limit(plan, problem.instance, problem.calendar)
    plan.model.add(starts_on(problem, plan, "P1", "2027-01-07") == 1)
    assert status(plan) == FEASIBLE
    problem, plan = variables_of(doc)
    plan.model.add(starts_on(problem, plan, "P1", "2027-01-06") == 1)
    assert status(plan) == FEASIBLE
    add_daily_start_limit(plan, problem.instance, problem.calendar)
    assert status(plan) == INFEASIBLE


# --- C5 suite positions (c05_suite_positions) --------------------------------------------------

# One position; cryopreserved cells start any morning from 01-06; a stay is 48 h + 24 h changeover.
ONE_POSITION_CRYO = tiny_site(
    patients=[patient("P1", material="cryopreserved"), patient("P2", material="cryopreserved")]
)


def test_c05_next_batch_starts_when_the_changeover_ends() -> None:
    """C5: P1 holds S1/1 from 01-06 08:00 to 01-09 08:00; P2 starting 01-09 08:00 only touches it (half-open)."""
    problem, plan = variables_of(ONE_POSITION_CRYO)
    add_suite_capacity(plan)
    plan.model.add(starts_on(problem, plan, "P1", "2027-01-06") == 1)
    plan.model.add(starts_on(problem, plan, "P2", "2027-01-09") == 1)
    assert status(plan) == FEASIBLE


def test_c05_next_batch_during_the_changeover_is_infeasible() -> None:
    """C5: P2 starting 01-08 08:00 would share S1/1 with P1 (started 01-06) during its changeover."""
    problem, plan = variables_of(ONE_POSITION_CRYO)
    plan.model.add(starts_on(problem, plan, "P1", "2027-01-06") == 1)
    plan.model.add(starts_on(problem, plan, "P2", "2027-01-08") == 1)
    assert status(plan) == FEASIBLE
    add_suite_capacity(plan)
    assert status(plan) == INFEASIBLE


def test_c05_running_batch_starting_later_keeps_its_position() -> None:
    """C5/C11: X1 will start on S1/1 on 01-07 08:00; P1 starting 01-06 would still hold it then, 01-10 is free."""
    doc = tiny_site(
        patients=[patient("P1", material="cryopreserved")],
        in_progress=[in_progress("X1", "2027-01-07T08:00")],
    )
    problem, plan = variables_of(doc)
    add_suite_capacity(plan)
    plan.model.add(starts_on(problem, plan, "P1", "2027-01-10") == 1)
    assert status(plan) == FEASIBLE
    problem, plan = variables_of(doc)
    plan.model.add(starts_on(problem, plan, "P1", "2027-01-06") == 1)
    assert status(plan) == FEASIBLE
    add_suite_capacity(plan)
    assert status(plan) == INFEASIBLE


# --- C6 operator staffing (c06_operator_staffing) ----------------------------------------------


def long_activations(*operators: Doc) -> Doc:
    """Two patients whose 5 h activations fall in the one 8 h shift D of their start day."""
    return tiny_site(
        product={**SINGLE_START, "steps": [step("activation", hours=5)]},
        suites=TWO_POSITIONS,
        operators=list(operators),
        patients=[patient("P1"), patient("P2")],
    )


def start_both_on_0106(problem: PlanningProblem, plan: PlanVariables) -> None:
    """Fix P1 and P2 to start on Wed 01-06."""
    for patient_id in ("P1", "P2"):
        plan.model.add(starts_on(problem, plan, patient_id, "2027-01-06") == 1)


def test_c06_two_operators_staff_two_long_activations_in_one_shift() -> None:
    """C6: two 5 h activations on 01-06 shift D, one per aseptic operator."""
    problem, plan = variables_of(long_activations(operator("OP1"), operator("OP2")))
    add_operator_staffing(plan, problem.instance, problem.calendar, problem.roster)
    start_both_on_0106(problem, plan)
    assert status(plan) == FEASIBLE


def test_c06_one_aseptic_operator_cannot_do_two_long_activations() -> None:
    """C6: 2 x 5 h exceeds the 8 h shift of the one aseptic operator; the rostered cleaner does not count."""
    doc = long_activations(operator("OP1"), operator("OP2", skills=("cleaning",)))
    problem, plan = variables_of(doc)
    start_both_on_0106(problem, plan)
    assert status(plan) == FEASIBLE
    add_operator_staffing(plan, problem.instance, problem.calendar, problem.roster)
    assert status(plan) == INFEASIBLE


def test_c06_exact_shift_team_alone_accepts_two_operators_and_rejects_one() -> None:
    """C6: without the aggregate bounds (`bounded=False`, for diagnosis only) the shift's load is free;
    the exact per-operator model of shift D on 01-06 accepts two operators and rejects one.
    """
    for operators, expected in (
        ((operator("OP1"), operator("OP2")), FEASIBLE),
        ((operator("OP1"),), INFEASIBLE),
    ):
        problem, plan = variables_of(long_activations(*operators))
        loads = add_operator_staffing(
            plan, problem.instance, problem.calendar, problem.roster, bounded=False
        )
        start_both_on_0106(problem, plan)
        assert status(plan) == FEASIBLE
        add_exact_shift_team(
            plan.model, loads[(d("2027-01-06"), "D")], problem.roster, problem.instance
        )
        assert status(plan) == expected, [op["id"] for op in operators]


def two_shift_harvests() -> Doc:
    """Shifts E 06:00 and L 14:00; OP1 works E, OP2 works L; a 5 h harvest on day 2 may go in either."""
    return tiny_site(
        site={
            "shifts": [
                {"id": "E", "start": "06:00", "hours": 8},
                {"id": "L", "start": "14:00", "hours": 8},
            ]
        },
        product={
            **SINGLE_START,
            "steps": [step("activation", hours=1), step("harvest", day_offset=2, hours=5)],
        },
        suites=TWO_POSITIONS,
        operators=[operator("OP1", shifts=("E",)), operator("OP2", shifts=("L",))],
        patients=[patient("P1"), patient("P2")],
    )


def harvests_in_early_shift(problem: PlanningProblem, plan: PlanVariables) -> cp_model.IntVar:
    """How many tiny-cel harvests the model puts in shift E of 01-08."""
    return plan.step_count[(problem.calendar.day(d("2027-01-08")), "E", "tiny-cel", "harvest")]


def test_c06_harvests_of_one_day_split_over_two_shifts() -> None:
    """C6: both patients start 01-06, so two 5 h harvests fall on 01-08: one in E (OP1), one in L (OP2)."""
    problem, plan = variables_of(two_shift_harvests())
    add_operator_staffing(plan, problem.instance, problem.calendar, problem.roster)
    start_both_on_0106(problem, plan)
    plan.model.add(harvests_in_early_shift(problem, plan) == 1)
    assert status(plan) == FEASIBLE


def test_c06_both_harvests_in_one_shift_overload_its_operator() -> None:
    """C6: both 5 h harvests of 01-08 in shift E would need 10 h of OP1's 8 h."""
    problem, plan = variables_of(two_shift_harvests())
    add_operator_staffing(plan, problem.instance, problem.calendar, problem.roster, bounded=False)
    start_both_on_0106(problem, plan)
    plan.model.add(harvests_in_early_shift(problem, plan) == 2)
    assert status(plan) == FEASIBLE  # the step counts alone allow it
    problem, plan = variables_of(two_shift_harvests())
    loads = add_operator_staffing(plan, problem.instance, problem.calendar, problem.roster)
    assert (d("2027-01-08"), "E") in loads
    start_both_on_0106(problem, plan)
    plan.model.add(harvests_in_early_shift(problem, plan) == 2)
    assert status(plan) == INFEASIBLE


# --- C7 QC capacity (c07_qc_capacity) ----------------------------------------------------------


def one_sterility_start_a_day(max_wait_days: int, **overrides: object) -> Doc:
    """One sterility start a day; P1 and P2 can only start 01-06, so both are sampled 01-08."""
    return tiny_site(
        **{
            "product": {**SINGLE_START, "qc_assays": [sterility(max_wait_days=max_wait_days)]},
            "qc_lab": {"capacity": {"sterility": 1}},
            "suites": TWO_POSITIONS,
            "patients": [patient("P1"), patient("P2")],
            **overrides,
        }
    )


def schedule_both(plan: PlanVariables) -> None:
    """Fix P1 and P2 to be scheduled."""
    for patient_id in ("P1", "P2"):
        plan.model.add(plan.scheduled[patient_id] == 1)


def test_c07_second_assay_waits_a_day_for_the_lab() -> None:
    """C7: both sampled 01-08, one start a day, two days' wait allowed: the two assays start on different days."""
    problem, plan = variables_of(one_sterility_start_a_day(max_wait_days=2))
    add_one_start_per_scheduled_patient(plan)
    add_qc_capacity(plan, problem.instance)
    schedule_both(plan)
    verdict, solver = solve(plan)
    assert verdict == FEASIBLE
    days = {
        patient_id: [
            day for day, chosen in plan.assay_start[(patient_id, 0)].items() if solver.value(chosen)
        ]
        for patient_id in ("P1", "P2")
    }
    assert len(days["P1"]) == len(days["P2"]) == 1
    assert days["P1"] != days["P2"]
    sampled = problem.calendar.day(d("2027-01-08"))
    assert {days["P1"][0], days["P2"][0]} <= {sampled, sampled + 1, sampled + 2}


def test_c07_two_assays_that_cannot_wait_exceed_the_lab() -> None:
    """C7: both sampled 01-08, no waiting allowed, one sterility start that day: not both can be tested."""
    problem, plan = variables_of(one_sterility_start_a_day(max_wait_days=0))
    add_one_start_per_scheduled_patient(plan)
    schedule_both(plan)
    assert status(plan) == FEASIBLE
    add_qc_capacity(plan, problem.instance)
    assert status(plan) == INFEASIBLE


def test_c07_running_batch_assay_takes_the_lab_start() -> None:
    """C7/C11: X1 (started 01-06, sampled 01-08 inside the horizon) takes the day's one start; P1 alone cannot be tested."""
    doc = one_sterility_start_a_day(
        max_wait_days=0,
        patients=[patient("P1")],
        in_progress=[in_progress("X1", "2027-01-06T08:00", position=2)],
    )
    problem, plan = variables_of(doc)
    add_one_start_per_scheduled_patient(plan)
    add_qc_capacity(plan, problem.instance)
    assert status(plan) == FEASIBLE  # X1 is tested, P1 left out
    plan.model.add(plan.scheduled["P1"] == 1)
    assert status(plan) == INFEASIBLE


# --- C8 release, C9 delivery, C10 horizon (c08_c10_release_and_delivery) -----------------------

DELIVERY_0113 = 9  # 2027-01-13 is day 9 of the horizon (from Mon 01-04)


def test_c08_c10_delivery_on_the_earliest_day_after_release() -> None:
    """C8/C9: P1 starts 01-06, sterility 01-08..01-11, release 01-12, back at H1 on 01-13."""
    problem, plan = variables_of(tiny_site(product=SINGLE_START))
    assert problem.calendar.date(DELIVERY_0113) == d("2027-01-13")
    add_one_start_per_scheduled_patient(plan)
    add_release_and_delivery(plan, problem.calendar)
    plan.model.add(plan.scheduled["P1"] == 1)
    plan.model.add(plan.delivery_day["P1"] == DELIVERY_0113)
    assert status(plan) == FEASIBLE


def test_c08_c10_delivery_before_release_is_infeasible() -> None:
    """C8/C9: a delivery on 01-12 would be the release day itself; the return transit takes a day."""
    problem, plan = variables_of(tiny_site(product=SINGLE_START))
    add_one_start_per_scheduled_patient(plan)
    add_release_and_delivery(plan, problem.calendar)
    plan.model.add(plan.scheduled["P1"] == 1)
    plan.model.add(plan.delivery_day["P1"] <= DELIVERY_0113 - 1)
    assert status(plan) == INFEASIBLE


def test_c08_c10_a_waiting_assay_delays_one_delivery() -> None:
    """C7/C8: one sterility start a day; both sampled 01-08, so one assay starts 01-09 and that batch is delivered 01-14.

    Both delivered 01-13 is impossible; 01-13 and 01-14 is fine.
    """
    for second_delivery, expected in ((DELIVERY_0113, INFEASIBLE), (DELIVERY_0113 + 1, FEASIBLE)):
        problem, plan = variables_of(one_sterility_start_a_day(max_wait_days=2))
        add_one_start_per_scheduled_patient(plan)
        add_qc_capacity(plan, problem.instance)
        add_release_and_delivery(plan, problem.calendar)
        schedule_both(plan)
        plan.model.add(plan.delivery_day["P1"] <= DELIVERY_0113)
        plan.model.add(plan.delivery_day["P2"] <= second_delivery)
        assert status(plan) == expected, problem.calendar.date(second_delivery)


def running_batch_in_horizon(days: int) -> Doc:
    """X1 started 01-11 08:00: ends 01-13 08:00, sterility 01-13..01-16, release 01-17, delivery 01-18."""
    return tiny_site(
        horizon={"days": days},
        operators=[operator("OP1", dates=horizon_dates(days))],
        patients=[],
        in_progress=[in_progress("X1", "2027-01-11T08:00")],
    )


def test_c08_c10_running_batch_delivered_inside_the_horizon() -> None:
    """C10/C11: in a 21-day horizon (to 01-24) X1's delivery on 01-18 fits."""
    problem, plan = variables_of(running_batch_in_horizon(21))
    add_qc_capacity(plan, problem.instance)
    add_release_and_delivery(plan, problem.calendar)
    assert status(plan) == FEASIBLE


def test_c08_c10_running_batch_delivered_after_the_horizon_is_infeasible() -> None:
    """C10/C11: in a 10-day horizon (to 01-13) X1 ends on the last day and cannot be released and delivered inside it."""
    problem, plan = variables_of(running_batch_in_horizon(10))
    assert status(plan) == FEASIBLE
    add_release_and_delivery(plan, problem.calendar)
    assert status(plan) == INFEASIBLE
