"""Property tests: whatever the generator or a coordinator's edits produce, the solver's answer obeys the SPEC.

Hypothesis draws generator seeds and scenarios (and, in the last test, edits to patients) and
checks what must hold for every instance, not just the hand-made ones:

- the answer passes the independent validator (rules C1-C11, objective recomputed, bounds on the
  right side, OPTIMAL only with bound = value);
- every patient and in-progress batch appears exactly once, and every unscheduled patient has
  a reason that starts with a rule id;
- a feasible scenario never comes back INFEASIBLE or UNKNOWN on xs and s (they solve in seconds);
- the infeasible-commitments scenario comes back INFEASIBLE with an explanation of what breaks;
- two runs with different seeds and worker counts agree: a value reached by one never beats the
  bound proven by the other, and two OPTIMAL answers have the same objective;
- more resources never lower the proven best scheduled weight;
- random tiny sites (clock changes, odd shifts, running batches) give a valid plan or an
  INFEASIBLE that explains itself.

Budget: this file runs in about a minute or two on a 2-core machine (xs solves in well under a
second, s in one to five seconds).
"""

from __future__ import annotations

import copy
import re
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import SCENARIOS, generate_instance
from models import Instance, Schedule
from models.instance import MEASURES
from tests.helpers import solve_and_validate

Doc = dict[str, Any]

FEASIBLE_SCENARIOS = [s for s in SCENARIOS if s != "infeasible-commitments"]
MAXIMISED = {"scheduled_weight"}
TIME_LIMIT = 10
WORKERS = 2
SEEDS = st.integers(min_value=1, max_value=100_000)
RULE_ID = re.compile(r"C(1[01]|[1-9])\b")

slow_settings = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- helpers -------------------------------------------------------------------------------


def assert_every_patient_once(instance: Instance, schedule: Schedule) -> None:
    """C1 read directly: each patient once (assigned or unscheduled with a rule-named reason), each batch assigned."""
    assigned = [a.patient for a in schedule.assignments]
    unscheduled = [u.patient for u in schedule.unscheduled]
    listed = assigned + unscheduled
    assert len(listed) == len(set(listed)), "an id appears twice"
    expected = {p.id for p in instance.patients} | {b.patient for b in instance.in_progress}
    assert set(listed) == expected
    assert {b.patient for b in instance.in_progress} <= set(assigned)
    for entry in schedule.unscheduled:
        assert entry.reasons, f"{entry.patient}: no reason"
        assert any(RULE_ID.match(reason) for reason in entry.reasons), (
            f"{entry.patient}: {entry.reasons}"
        )


def assert_bounds_on_the_right_side(schedule: Schedule) -> None:
    """A maximised measure's bound is >= its value, a minimised one's <=; OPTIMAL means equal."""
    assert schedule.objective is not None and schedule.bound is not None
    for measure in MEASURES:
        value = float(getattr(schedule.objective, measure))
        bound = float(getattr(schedule.bound, measure))
        if measure in MAXIMISED:
            assert bound >= value - 1e-6, f"{measure}: bound {bound} < value {value}"
        else:
            assert bound <= value + 1e-6, f"{measure}: bound {bound} > value {value}"
        if schedule.status == "OPTIMAL":
            assert abs(bound - value) <= 1e-6, (
                f"OPTIMAL but {measure} bound {bound} != value {value}"
            )


def assert_feasible_answer(doc: Doc) -> tuple[Instance, Schedule]:
    instance, schedule = solve_and_validate(doc, time_limit=TIME_LIMIT, workers=WORKERS)
    assert schedule.status in ("OPTIMAL", "FEASIBLE"), (
        f"{instance.name}: {schedule.status} {(schedule.model_extra or {}).get('infeasibility')}"
    )
    assert_every_patient_once(instance, schedule)
    assert_bounds_on_the_right_side(schedule)
    return instance, schedule


def assert_infeasible_answer(doc: Doc) -> None:
    instance, schedule = solve_and_validate(doc, time_limit=TIME_LIMIT, workers=WORKERS)
    assert schedule.status == "INFEASIBLE", f"{instance.name}: {schedule.status}"
    explanation = (schedule.model_extra or {}).get("infeasibility")
    assert explanation and all(isinstance(line, str) and line.strip() for line in explanation)
    running = {batch.patient for batch in instance.in_progress}
    assert any(any(batch in line for batch in running) for line in explanation), (
        f"the explanation names no in-progress batch: {explanation}"
    )
    # Nothing is planned and every patient is told why.
    assert schedule.assignments == []
    assert {u.patient for u in schedule.unscheduled} == {p.id for p in instance.patients}
    assert all(u.reasons for u in schedule.unscheduled)


# --- generated instances ---------------------------------------------------------------------


@settings(slow_settings, max_examples=80)
@given(seed=SEEDS, scenario=st.sampled_from(FEASIBLE_SCENARIOS))
def test_xs_generated_plans_are_valid(seed: int, scenario: str) -> None:
    """Every xs instance of a feasible scenario solves to a schedule the validator accepts."""
    assert_feasible_answer(generate_instance("xs", seed, scenario))


@settings(slow_settings, max_examples=15)
@given(seed=SEEDS, scenario=st.sampled_from(FEASIBLE_SCENARIOS))
def test_s_generated_plans_are_valid(seed: int, scenario: str) -> None:
    """Every s instance of a feasible scenario solves to a schedule the validator accepts."""
    assert_feasible_answer(generate_instance("s", seed, scenario))


@settings(slow_settings, max_examples=12)
@given(seed=SEEDS, size=st.sampled_from(["xs", "s"]))
def test_broken_commitments_are_reported_infeasible_with_what_breaks(seed: int, size: str) -> None:
    """infeasible-commitments: running batches that cannot be honoured give INFEASIBLE, naming the batch."""
    assert_infeasible_answer(generate_instance(size, seed, "infeasible-commitments"))


@settings(slow_settings, max_examples=25)
@given(seed=SEEDS, scenario=st.sampled_from(FEASIBLE_SCENARIOS), other_seed=st.integers(1, 1000))
def test_two_runs_agree_on_the_optimum(seed: int, scenario: str, other_seed: int) -> None:
    """A value one run reaches never beats a bound the other proved; two proofs give the same objective.

    One worker with seed 0 against two workers with another seed: different search paths, same
    optimum. A solver reporting a too-tight bound (claiming optimality too early) shows up here.
    """
    doc = generate_instance("xs", seed, scenario)
    instance, first = solve_and_validate(doc, time_limit=TIME_LIMIT, workers=1, seed=0)
    _, second = solve_and_validate(doc, time_limit=TIME_LIMIT, workers=2, seed=other_seed)
    assert first.status in ("OPTIMAL", "FEASIBLE") and second.status in ("OPTIMAL", "FEASIBLE")
    assert first.objective is not None and second.objective is not None
    assert first.bound is not None and second.bound is not None
    top = instance.objective_order[
        0
    ]  # the first level's bound is unconditional (later ones depend on it)
    for a, b in ((first, second), (second, first)):
        if top in MAXIMISED:
            assert float(getattr(a.objective, top)) <= float(getattr(b.bound, top)) + 1e-6
        else:
            assert float(getattr(a.objective, top)) >= float(getattr(b.bound, top)) - 1e-6
    if first.status == second.status == "OPTIMAL":
        assert first.objective == second.objective


def relaxed(doc: Doc, resources: list[str]) -> Doc:
    """The same week with more of some resources: chairs, suite positions, lab slots, starts, operators."""
    doc = copy.deepcopy(doc)
    if "chairs" in resources:
        for hospital in doc["hospitals"]:
            hospital["apheresis_capacity"] = {
                day: n + 1 for day, n in hospital["apheresis_capacity"].items()
            }
            hospital["closed_dates"], hospital["booked_elsewhere"] = [], {}
    if "suites" in resources:
        for suite in doc["suites"]:
            suite["positions"] += 1
            suite.pop("unavailable", None)
    if "lab" in resources:
        doc["qc_lab"]["capacity"] = {assay: n + 1 for assay, n in doc["qc_lab"]["capacity"].items()}
        doc["qc_lab"]["closed_dates"] = []
    if "starts" in resources:
        doc["site"].pop("max_starts_per_day", None)
    if "operators" in resources:
        skills = sorted({skill for op in doc["operators"] for skill in op["skills"]})
        shifts = sorted({(r["date"], r["shift"]) for op in doc["operators"] for r in op["roster"]})
        roster = [{"date": day, "shift": shift} for day, shift in shifts]
        doc["operators"] += [
            {"id": f"EXTRA{i}", "skills": skills, "roster": roster} for i in range(2)
        ]
    return doc


RESOURCES = st.lists(
    st.sampled_from(["chairs", "suites", "lab", "starts", "operators"]), min_size=1, unique=True
)


@settings(slow_settings, max_examples=20)
@given(seed=SEEDS, scenario=st.sampled_from(FEASIBLE_SCENARIOS), resources=RESOURCES)
def test_more_capacity_never_treats_fewer_patients(
    seed: int, scenario: str, resources: list[str]
) -> None:
    """Adding chairs, positions, lab slots, starts or operators never lowers the proven best scheduled weight.

    Every schedule of the original week is still valid with more resources, so a proven optimum
    can only grow; a model that over-constrains (drops options it should keep) breaks this.
    """
    doc = generate_instance("xs", seed, scenario)
    _, before = assert_feasible_answer(doc)
    _, after = assert_feasible_answer(relaxed(doc, resources))
    assert before.objective is not None and after.objective is not None
    if before.status == after.status == "OPTIMAL":
        assert after.objective.scheduled_weight >= before.objective.scheduled_weight


# --- a coordinator's edits -------------------------------------------------------------------


@st.composite
def edited_instance(draw: st.DrawFn) -> Doc:
    """An xs instance whose patients' windows, weights, materials and plan history are redrawn.

    The edits stay within the instance format (earliest <= latest, locked only with a previous
    date, weight >= 0) but not within what is schedulable: windows may leave the horizon, close
    before delivery is possible or collide, which must give unscheduled patients, never an
    invalid plan. The objective order is sometimes permuted.
    """
    scenario = draw(st.sampled_from(FEASIBLE_SCENARIOS))
    doc = copy.deepcopy(generate_instance("xs", draw(SEEDS), scenario))
    start = date.fromisoformat(doc["horizon"]["start"])
    days = doc["horizon"]["days"]
    offsets = st.integers(min_value=-3, max_value=days + 2)
    for patient in doc["patients"]:
        if not draw(st.booleans()):
            continue  # leave about half the patients as generated
        earliest = start + timedelta(days=draw(offsets))
        latest = earliest + timedelta(days=draw(st.integers(0, 6)))
        patient["apheresis_window"] = {
            "earliest": earliest.isoformat(),
            "latest": latest.isoformat(),
        }
        infusion_open = earliest + timedelta(days=draw(st.integers(0, days)))
        infusion: Doc = {"earliest": infusion_open.isoformat()}
        if draw(st.booleans()):
            infusion["latest"] = (
                infusion_open + timedelta(days=draw(st.integers(0, 20)))
            ).isoformat()
        patient["infusion_window"] = infusion
        patient["weight"] = draw(st.sampled_from([0, 1, 1, 2, 3, 0.5, 2.5]))
        patient["material"] = draw(st.sampled_from(["fresh", "cryopreserved"]))
        patient.pop("previous", None)
        patient.pop("locked", None)
        patient.pop("collected_on", None)
        history = draw(st.sampled_from(["none", "previous", "locked", "collected"]))
        if history in ("previous", "locked"):
            previous = earliest + timedelta(
                days=draw(st.integers(-1, (latest - earliest).days + 1))
            )
            patient["previous"] = {"apheresis_date": previous.isoformat()}
            patient["locked"] = history == "locked"
        elif history == "collected":
            patient["collected_on"] = (
                earliest + timedelta(days=draw(st.integers(-3, 2)))
            ).isoformat()
    if draw(st.booleans()):
        doc["objective"] = {"order": draw(st.permutations(list(MEASURES)))}
    return doc


@settings(slow_settings, max_examples=120)
@given(doc=edited_instance())
def test_edited_patients_still_give_valid_plans(doc: Doc) -> None:
    """Redrawn patient windows, weights, materials, previous/locked/collected dates: the plan stays valid."""
    assert_feasible_answer(doc)


# --- random tiny sites -----------------------------------------------------------------------

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
# Around the Europe/Brussels clock changes of 2027 (28 March, 31 October) and a plain January.
HORIZON_STARTS = [
    date(2027, 1, 4),
    date(2027, 3, 22),
    date(2027, 3, 25),
    date(2027, 10, 25),
    date(2027, 10, 28),
]
# 00:30 and 02:30 fall inside the spring gap or the autumn repeat; 22:00 and 23:30 run past midnight.
SHIFT_STARTS = ["00:30", "02:30", "06:00", "08:00", "14:00", "22:00", "23:30"]


@st.composite
def tiny_site(draw: st.DrawFn) -> Doc:
    """A random one-product site: 1-3 shifts, 1-2 suites with downtime, 2-4 operators with patchy
    rosters, a picky QC lab, one hospital, 1-5 patients and up to 2 running batches.

    Small enough to solve in milliseconds, varied enough to reach corners the generator does not:
    clock changes under shifts and shelf-lives, zero-day assays and changeovers, weight-0 patients,
    running batches that start inside the horizon or cannot be honoured at all.
    """
    start = draw(st.sampled_from(HORIZON_STARTS))
    days = draw(st.integers(10, 24))
    dates = [start + timedelta(days=i) for i in range(days)]
    any_date = st.sampled_from(dates)
    shifts = [
        {"id": f"S{i}", "start": clock, "hours": draw(st.sampled_from([4, 8, 10, 12]))}
        for i, clock in enumerate(
            draw(st.lists(st.sampled_from(SHIFT_STARTS), min_size=1, max_size=3, unique=True))
        )
    ]
    skills = ["aseptic", "harvest"]
    steps = [
        {
            "id": f"step{i}",
            "day_offset": 0 if i == 0 else draw(st.integers(0, 4)),
            "hours": draw(st.sampled_from([1, 2, 3.5, 5, 6])),
            "operators": draw(st.integers(1, 2)),
            "skill": draw(st.sampled_from(skills)),
        }
        for i in range(draw(st.integers(1, 3)))
    ]
    assays = [
        {
            "id": f"assay{i}",
            "sample_day_offset": draw(st.integers(0, 4)),
            "duration_days": draw(st.integers(0, 5)),
            "max_wait_days": draw(st.integers(0, 3)),
        }
        for i in range(draw(st.integers(1, 2)))
    ]
    product = {
        "id": "p",
        "fresh_shelf_life_hours": draw(st.sampled_from([12, 24, 48, 72, 200])),
        "receipt_hours": draw(st.sampled_from([0, 4, 6.5])),
        "manufacturing_hours": draw(st.sampled_from([24, 47.5, 48, 96])),
        "changeover_hours": draw(st.sampled_from([0, 8, 24, 30.5])),
        "suite_types": ["iso"],
        "steps": steps,
        "qc_assays": assays,
        "qp_release_days": draw(st.integers(0, 2)),
    }
    suites = []
    for i in range(draw(st.integers(1, 2))):
        suite: Doc = {"id": f"U{i}", "type": "iso", "positions": draw(st.integers(1, 3))}
        if draw(st.booleans()):
            down = datetime.fromisoformat(
                f"{draw(any_date)}T{draw(st.sampled_from(['00:00', '02:30', '07:00']))}"
            )
            up = down + timedelta(hours=draw(st.sampled_from([1, 12, 30, 72])))
            suite["unavailable"] = [
                {"start": f"{down:%Y-%m-%dT%H:%M}", "end": f"{up:%Y-%m-%dT%H:%M}"}
            ]
        suites.append(suite)
    operators = [
        {
            "id": f"O{i}",
            "skills": skills
            if i == 0
            else draw(st.lists(st.sampled_from(skills), min_size=1, unique=True)),
            "roster": [
                {"date": day.isoformat(), "shift": shift["id"]}
                for day in dates
                for shift in shifts
                if draw(st.integers(0, 9)) < 7
            ],
        }
        for i in range(draw(st.integers(2, 4)))
    ]
    patients = []
    for i in range(draw(st.integers(1, 5))):
        earliest = start + timedelta(days=draw(st.integers(-2, days // 2)))
        latest = earliest + timedelta(days=draw(st.integers(0, 4)))
        infusion: Doc = {
            "earliest": (earliest + timedelta(days=draw(st.integers(0, days)))).isoformat()
        }
        if draw(st.booleans()):
            opens = date.fromisoformat(infusion["earliest"])
            infusion["latest"] = (opens + timedelta(days=draw(st.integers(0, 15)))).isoformat()
        patient: Doc = {
            "id": f"P{i}",
            "hospital": "H",
            "product": "p",
            "weight": draw(st.sampled_from([0, 1, 2, 1.5])),
            "material": draw(st.sampled_from(["fresh", "cryopreserved"])),
            "apheresis_window": {"earliest": earliest.isoformat(), "latest": latest.isoformat()},
            "infusion_window": infusion,
        }
        history = draw(st.sampled_from(["none", "previous", "locked", "collected"]))
        if history in ("previous", "locked"):
            previous = earliest + timedelta(days=draw(st.integers(0, (latest - earliest).days)))
            patient["previous"] = {"apheresis_date": previous.isoformat()}
            patient["locked"] = history == "locked"
        elif history == "collected":
            patient["collected_on"] = (
                earliest + timedelta(days=draw(st.integers(-4, 1)))
            ).isoformat()
        patients.append(patient)
    running = []
    for i in range(draw(st.integers(0, 2))):
        suite = draw(st.sampled_from(suites))
        day = start + timedelta(days=draw(st.integers(-8, 4)))
        running.append(
            {
                "patient": f"X{i}",
                "product": "p",
                "hospital": "H",
                "suite": suite["id"],
                "position": draw(st.integers(1, suite["positions"])),
                "manufacturing_start": f"{day}T{draw(st.sampled_from(shifts))['start']}",
            }
        )
    site: Doc = {"id": "F", "timezone": "Europe/Brussels", "shifts": shifts}
    limit = draw(st.sampled_from([None, 1, 2]))
    if limit is not None:
        site["max_starts_per_day"] = limit
    doc: Doc = {
        "format": "cart-schedule-instance/1",
        "name": "tiny-random",
        "site": site,
        "horizon": {"start": start.isoformat(), "days": days},
        "products": [product],
        "suites": suites,
        "operators": operators,
        "qc_lab": {
            "working_days": draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, unique=True)),
            "closed_dates": [
                d.isoformat() for d in draw(st.lists(any_date, max_size=3, unique=True))
            ],
            "capacity": {assay["id"]: draw(st.integers(1, 2)) for assay in assays},
        },
        "hospitals": [
            {
                "id": "H",
                "name": "Random Hospital",
                "transit_hours": draw(st.sampled_from([0, 2, 7.5, 30])),
                "collection_end": draw(st.sampled_from(["01:00", "09:00", "12:00", "23:00"])),
                "return_transit_days": draw(st.integers(0, 2)),
                "apheresis_capacity": {day: draw(st.integers(0, 2)) for day in WEEKDAYS},
                "closed_dates": [
                    d.isoformat() for d in draw(st.lists(any_date, max_size=2, unique=True))
                ],
                "booked_elsewhere": {
                    d.isoformat(): draw(st.integers(0, 2))
                    for d in draw(st.lists(any_date, max_size=2, unique=True))
                },
            }
        ],
        "patients": patients,
        "in_progress": running,
    }
    if draw(st.integers(0, 3)) == 0:
        doc["objective"] = {"order": draw(st.permutations(list(MEASURES)))}
    return doc


@settings(slow_settings, max_examples=300)
@given(doc=tiny_site())
def test_random_tiny_sites_give_valid_answers(doc: Doc) -> None:
    """Any small site, however odd: a valid plan with everyone listed once, or an INFEASIBLE naming a batch.

    INFEASIBLE is allowed only when there are running batches (new patients can always be left
    out); a plan must satisfy the validator and the C1 and bound checks above.
    """
    instance, schedule = solve_and_validate(doc, time_limit=TIME_LIMIT)
    running = {batch.patient for batch in instance.in_progress}
    if schedule.status == "INFEASIBLE":
        assert running, "INFEASIBLE without any running batch"
        explanation = (schedule.model_extra or {}).get("infeasibility") or []
        assert explanation, "INFEASIBLE without an explanation"
        return
    assert schedule.status in ("OPTIMAL", "FEASIBLE"), schedule.status
    assert_every_patient_once(instance, schedule)
    assert_bounds_on_the_right_side(schedule)
