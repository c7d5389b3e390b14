"""The validator as domain examples: the SPEC example is valid, and each rule C1-C11 catches its breach.

One module over 500 lines on purpose: one mutation case per rule breach, in SPEC order,
read top to bottom beside `validator/`.

Mutation tests start from the SPEC example (`example.instance.json`, `example.schedule.json`),
change one thing, and expect the rule that forbids it. DST tests use a tiny instance around the
Europe/Brussels changes of 2027 (spring forward 28 March, fall back 31 October).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import load_instance, load_schedule
from tests.helpers import example_instance, example_schedule, rules_of
from validator import RULES, Violation, compute_objective, validate

Doc = dict[str, Any]
Mutation = Callable[[Doc, Doc], None]

_REPO = Path(__file__).resolve().parent.parent


def check(instance: Doc, schedule: Doc) -> list[Violation]:
    """Load both documents through the models and validate."""
    return validate(load_instance(instance), load_schedule(schedule))


# --- document helpers: find the piece of the example a mutation changes ----------------------


def assignment(schedule: Doc, patient: str) -> Doc:
    return next(a for a in schedule["assignments"] if a["patient"] == patient)


def step(schedule: Doc, patient: str, step_id: str) -> Doc:
    return next(s for s in assignment(schedule, patient)["steps"] if s["step"] == step_id)


def assay(schedule: Doc, patient: str, assay_id: str) -> Doc:
    return next(q for q in assignment(schedule, patient)["qc"] if q["assay"] == assay_id)


def patient(instance: Doc, patient_id: str) -> Doc:
    return next(p for p in instance["patients"] if p["id"] == patient_id)


def product(instance: Doc, product_id: str) -> Doc:
    return next(p for p in instance["products"] if p["id"] == product_id)


def hospital(instance: Doc, hospital_id: str) -> Doc:
    return next(h for h in instance["hospitals"] if h["id"] == hospital_id)


def suite(instance: Doc, suite_id: str) -> Doc:
    return next(s for s in instance["suites"] if s["id"] == suite_id)


# --- the SPEC example --------------------------------------------------------------------------


def test_spec_example_schedule_is_valid() -> None:
    assert check(example_instance(), example_schedule()) == []


def test_spec_example_objective_is_recomputed() -> None:
    schedule = example_schedule()
    measures = compute_objective(load_instance(example_instance()), load_schedule(schedule))
    assert measures == {k: float(v) for k, v in schedule["objective"].items()}
    # 9 = P0006 (1) + P0001 (3) + P0005 (1) + P0003 (4); in-progress batches count in no measure.
    assert measures["scheduled_weight"] == 9


def test_violation_reads_as_rule_then_message() -> None:
    violation = Violation(
        "C6", "P0003: operator OP004 is not rostered on 2027-03-17 shift L (step transduction)"
    )
    assert (
        str(violation)
        == "C6: P0003: operator OP004 is not rostered on 2027-03-17 shift L (step transduction)"
    )


# --- mutations: one change to the valid example, and the rule that forbids it ------------------


def _drop_assignment(patient_id: str) -> Mutation:
    def mutate(instance: Doc, schedule: Doc) -> None:
        schedule["assignments"] = [a for a in schedule["assignments"] if a["patient"] != patient_id]

    return mutate


def _set(where: Callable[[Doc, Doc], Doc], field: str, value: Any) -> Mutation:
    def mutate(instance: Doc, schedule: Doc) -> None:
        where(instance, schedule)[field] = value

    return mutate


def _in_schedule(patient_id: str) -> Callable[[Doc, Doc], Doc]:
    return lambda instance, schedule: assignment(schedule, patient_id)


def _both(*mutations: Mutation) -> Mutation:
    def mutate(instance: Doc, schedule: Doc) -> None:
        for mutation in mutations:
            mutation(instance, schedule)

    return mutate


def _c1_unknown_patient(instance: Doc, schedule: Doc) -> None:
    ghost = copy.deepcopy(assignment(schedule, "P0001"))
    ghost["patient"] = "P7777"
    schedule["assignments"].append(ghost)


def _c1_in_progress_unscheduled(instance: Doc, schedule: Doc) -> None:
    _drop_assignment("P9002")(instance, schedule)
    schedule["unscheduled"].append({"patient": "P9002", "reasons": ["C5 suite: no position"]})


def _c1_assigned_and_unscheduled(instance: Doc, schedule: Doc) -> None:
    schedule["unscheduled"].append({"patient": "P0001", "reasons": ["C2 apheresis: no chair"]})


def _c5_downtime(instance: Doc, schedule: Doc) -> None:
    suite(instance, "S02")["unavailable"] = [
        {"start": "2027-03-20T00:00", "end": "2027-03-21T00:00", "reason": "requalification"}
    ]


def _c6_extra_unknown_step(instance: Doc, schedule: Doc) -> None:
    assignment(schedule, "P0003")["steps"].append(
        {"step": "magic", "date": "2027-03-27", "shift": "E", "operators": ["OP002"]}
    )


def _c7_unknown_assay(instance: Doc, schedule: Doc) -> None:
    assignment(schedule, "P0003")["qc"].append(
        {"assay": "karma", "start_date": "2027-04-02", "end_date": "2027-04-02"}
    )


def _c11_done_step_listed(instance: Doc, schedule: Doc) -> None:
    assignment(schedule, "P9001")["steps"].insert(
        0,
        {"step": "activation", "date": "2027-03-13", "shift": "E", "operators": ["OP001", "OP003"]},
    )


def _remove(where: Callable[[Doc, Doc], list[Doc]], key: str, value: str) -> Mutation:
    def mutate(instance: Doc, schedule: Doc) -> None:
        items = where(instance, schedule)
        items[:] = [item for item in items if item[key] != value]

    return mutate


P0003 = _in_schedule("P0003")
P9001 = _in_schedule("P9001")


def _step_of(patient_id: str, step_id: str) -> Callable[[Doc, Doc], Doc]:
    return lambda instance, schedule: step(schedule, patient_id, step_id)


def _assay_of(patient_id: str, assay_id: str) -> Callable[[Doc, Doc], Doc]:
    return lambda instance, schedule: assay(schedule, patient_id, assay_id)


def _patient(patient_id: str) -> Callable[[Doc, Doc], Doc]:
    return lambda instance, schedule: patient(instance, patient_id)


def _product(product_id: str) -> Callable[[Doc, Doc], Doc]:
    return lambda instance, schedule: product(instance, product_id)


def _step_def(product_id: str, step_id: str) -> Callable[[Doc, Doc], Doc]:
    return lambda instance, schedule: next(
        s for s in product(instance, product_id)["steps"] if s["id"] == step_id
    )


def _schedule(instance: Doc, schedule: Doc) -> Doc:
    return schedule


def case(name: str, rule: str, words: str, mutate: Mutation, *, only: bool = True) -> Any:
    """One mutation of the example: the `rule` it breaks and `words` its message contains.

    `only`: no other rule is broken (the reported objective may follow the change).
    """
    return pytest.param(mutate, rule, only, words, id=name)


def _hospital_dates(field: str, value: Any) -> Mutation:
    def mutate(instance: Doc, schedule: Doc) -> None:
        target = hospital(instance, "H01")[field]
        if isinstance(target, list):
            target.append(value)
        else:
            target.update(value)

    return mutate


MUTATIONS = [
    # C1 coverage
    case("C1-patient-dropped", "C1", "neither", _drop_assignment("P0001")),
    case("C1-in-progress-dropped", "C1", "in-progress batch is not", _drop_assignment("P9001")),
    case("C1-in-progress-unscheduled", "C1", "always assigned", _c1_in_progress_unscheduled),
    case(
        "C1-reason-without-rule-id",
        "C1",
        "rule id",
        lambda i, s: s["unscheduled"][0].update(reasons=["no isolator free"]),
    ),
    case(
        "C1-reason-with-C12",
        "C1",
        "rule id",
        lambda i, s: s["unscheduled"][0].update(reasons=["C12 suite: full"]),
    ),
    case("C1-unknown-patient", "C1", "unknown patient", _c1_unknown_patient, only=False),
    case("C1-assigned-and-unscheduled", "C1", "appears 2 times", _c1_assigned_and_unscheduled),
    case(
        "C1-new-patient-flagged-in-progress", "C1", "in_progress", _set(P0003, "in_progress", True)
    ),
    # C2 apheresis
    case("C2-outside-window", "C2", "window", _set(P0003, "apheresis_date", "2027-03-23")),
    case("C2-hospital-closed", "C2", "closed", _hospital_dates("closed_dates", "2027-03-25")),
    case(
        "C2-chairs-with-booked-elsewhere",
        "C2",
        "chair",
        _hospital_dates("apheresis_capacity", {"Thu": 1}),
    ),
    case(
        "C2-booked-elsewhere",
        "C2",
        "2 booked elsewhere",
        _hospital_dates("booked_elsewhere", {"2027-03-23": 2}),
    ),
    case(
        "C2-missing-weekday-is-zero",
        "C2",
        "0 apheresis chair",
        lambda i, s: hospital(i, "H01")["apheresis_capacity"].pop("Tue"),
    ),
    case(
        "C2-collected-on-moved",
        "C2",
        "collected_on",
        _set(_in_schedule("P0001"), "apheresis_date", "2027-03-18"),
    ),
    case(
        "C2-locked-date-not-kept",
        "C2",
        "locked",
        _both(
            _set(_patient("P0005"), "locked", True),
            _set(_patient("P0005"), "previous", {"apheresis_date": "2027-03-19"}),
        ),
    ),
    case(
        "C2-new-patient-without-date",
        "C2",
        "no apheresis_date",
        _set(P0003, "apheresis_date", None),
    ),
    # C3 material
    case(
        "C3-shelf-life-exceeded",
        "C3",
        "shelf-life",
        _set(_product("bcma-lv-01"), "fresh_shelf_life_hours", 60),
    ),
    case("C3-start-before-arrival", "C3", "received", _set(P0003, "apheresis_date", "2027-03-26")),
    case(
        "C3-receipt-too-short", "C3", "receipt", _set(_product("cd19-auto-02"), "receipt_hours", 20)
    ),
    # C4 start
    case(
        "C4-start-at-non-shift-time",
        "C4",
        "not the start of a site shift",
        _both(
            _set(P0003, "manufacturing_start", "2027-03-26T08:00:00+01:00"),
            _set(P0003, "manufacturing_end", "2027-04-03T03:00:00+02:00"),
        ),
    ),
    case(
        "C4-day0-step-in-other-shift",
        "C4",
        "day-0",
        _set(_step_of("P0003", "setup-selection"), "shift", "L"),
        only=False,  # nobody is rostered on shift L either (C6)
    ),
    case(
        "C4-max-starts-per-day",
        "C4",
        "max_starts_per_day",
        lambda i, s: i["site"].update(max_starts_per_day=1),
    ),
    # C5 suite
    case("C5-overlap-on-position", "C5", "overlap", _set(_in_schedule("P0001"), "position", 1)),
    case("C5-overlap-with-in-progress", "C5", "P9003", _set(_in_schedule("P0006"), "position", 2)),
    case("C5-incompatible-suite-type", "C5", "type", _set(P0003, "suite", "S01"), only=False),
    case("C5-position-out-of-range", "C5", "positions 1..2", _set(P0003, "position", 3)),
    case("C5-unknown-suite", "C5", "unknown suite", _set(P0003, "suite", "S99")),
    case(
        # 186 h after 2027-03-26 07:00 CET is 04-03 02:00 CEST; calendar arithmetic would say 01:00.
        "C5-end-by-calendar-not-real-hours",
        "C5",
        "should be 2027-04-03T02:00:00+02:00",
        _set(P0003, "manufacturing_end", "2027-04-03T01:00:00+02:00"),
    ),
    case("C5-batch-in-downtime", "C5", "unavailable", _c5_downtime),
    # C6 steps
    case(
        "C6-unqualified-operator",
        "C6",
        "lacks skill harvest",
        _set(_step_of("P0005", "harvest-formulation"), "operators", ["OP003", "OP005"]),
    ),
    case(
        "C6-unrostered-operator",
        "C6",
        "OP001 is not rostered on 2027-03-27 shift E",
        _set(_step_of("P0003", "transduction"), "operators", ["OP001"]),
    ),
    case(
        "C6-shift-hours-overloaded",
        "C6",
        "exceed",
        _set(_step_def("bcma-lv-01", "harvest-formulation"), "hours", 7.5),
    ),
    case(
        "C6-too-few-operators",
        "C6",
        "needs 2",
        _set(_step_of("P0003", "setup-selection"), "operators", ["OP005"]),
    ),
    case(
        "C6-operator-twice",
        "C6",
        "listed 2 times",
        _set(_step_of("P0003", "setup-selection"), "operators", ["OP005", "OP005"]),
    ),
    case(
        "C6-step-missing",
        "C6",
        "not scheduled",
        _remove(lambda i, s: assignment(s, "P0003")["steps"], "step", "ipc-sampling"),
    ),
    case(
        "C6-in-progress-step-in-horizon-missing",
        "C6",
        "wash",
        _remove(lambda i, s: assignment(s, "P9001")["steps"], "step", "wash"),
    ),
    case(
        "C6-wrong-step-date",
        "C6",
        "should be 2027-03-31",
        _set(_step_of("P0003", "ipc-sampling"), "date", "2027-03-30"),
    ),
    case(
        "C6-unknown-shift",
        "C6",
        "unknown shift",
        _set(_step_of("P0003", "ipc-sampling"), "shift", "N"),
    ),
    case(
        "C6-unknown-operator",
        "C6",
        "unknown operator",
        _set(_step_of("P0003", "ipc-sampling"), "operators", ["OP999"]),
    ),
    case("C6-unknown-step", "C6", "unknown step", _c6_extra_unknown_step),
    # C7 qc
    case(
        "C7-assay-on-saturday",
        "C7",
        "Sat 2027-03-27",
        _both(
            _set(_assay_of("P0001", "viability"), "start_date", "2027-03-27"),
            _set(_assay_of("P0001", "viability"), "end_date", "2027-03-27"),
        ),
    ),
    case(
        "C7-lab-closed",
        "C7",
        "closed",
        lambda i, s: i["qc_lab"]["closed_dates"].append("2027-03-25"),
    ),
    case(
        "C7-capacity-exceeded",
        "C7",
        "capacity is 0",
        lambda i, s: i["qc_lab"]["capacity"].update(sterility=0),
    ),
    case(
        "C7-max-wait-exceeded",
        "C7",
        "max wait",
        _both(
            _set(_assay_of("P0003", "identity"), "start_date", "2027-04-05"),
            _set(_assay_of("P0003", "identity"), "end_date", "2027-04-07"),
        ),
    ),
    case(
        "C7-wrong-end-date",
        "C7",
        "end_date",
        _set(_assay_of("P0003", "sterility"), "end_date", "2027-04-08"),
        only=False,  # the release is computed from the stated end dates (C8)
    ),
    case(
        "C7-assay-missing",
        "C7",
        "not scheduled",
        _remove(lambda i, s: assignment(s, "P0003")["qc"], "assay", "endotoxin"),
    ),
    case(
        "C7-wrong-sample-date",
        "C7",
        "sample_date",
        _set(_assay_of("P0003", "sterility"), "sample_date", "2027-04-01"),
    ),
    case("C7-unknown-assay", "C7", "unknown assay", _c7_unknown_assay),
    # C8 release
    case(
        "C8-wrong-release-date",
        "C8",
        "release_date",
        _set(P0003, "release_date", "2027-04-10"),
        only=False,  # the delivery follows the release (C9)
    ),
    # C9 delivery
    case(
        "C9-delivery-after-infusion-latest",
        "C9",
        "closes",
        lambda i, s: patient(i, "P0003")["infusion_window"].update(latest="2027-04-12"),
    ),
    case(
        "C9-delivery-not-release-plus-transit",
        "C9",
        "should be 2027-04-13",
        _set(P0003, "delivery_date", "2027-04-14"),
    ),
    case(
        "C9-in-progress-infusion-window-ignored",
        "C9",
        "window opens",
        _set(_in_schedule("P9002"), "delivery_date", "2027-04-04"),
    ),
    # C10 horizon
    case("C10-date-past-horizon", "C10", "horizon end", lambda i, s: i["horizon"].update(days=30)),
    case(
        "C10-manufacturing-past-horizon",
        "C10",
        "manufacturing_end",
        lambda i, s: i["horizon"].update(days=21),
    ),
    case(
        "C10-start-before-horizon",
        "C10",
        "before the horizon",
        lambda i, s: i["horizon"].update(start="2027-03-16"),
        only=False,  # in-progress steps of 03-15 are now done but listed (C11)
    ),
    # C11 in progress
    case(
        "C11-in-progress-moved",
        "C11",
        "moved",
        _set(P9001, "position", 2),
    ),
    case(
        "C11-in-progress-restarted",
        "C11",
        "actual start",
        _both(
            _set(P9001, "manufacturing_start", "2027-03-13T15:00:00+01:00"),
            _set(P9001, "manufacturing_end", "2027-03-24T09:00:00+01:00"),
        ),
        only=False,  # the end no longer follows the batch's real start (C5)
    ),
    case(
        "C11-in-progress-apheresis",
        "C11",
        "must be null",
        _set(P9001, "apheresis_date", "2027-03-10"),
    ),
    case("C11-in-progress-flag-false", "C11", "in_progress", _set(P9001, "in_progress", False)),
    case("C11-done-step-listed", "C11", "before the horizon", _c11_done_step_listed),
    # FORMAT
    case("FORMAT-instance-name", "FORMAT", "other-week", _set(_schedule, "instance", "other-week")),
    case(
        "FORMAT-utc-instead-of-local-offset",
        "FORMAT",
        "local offset",
        _both(
            _set(P0003, "manufacturing_start", "2027-03-26T06:00:00Z"),
            _set(P0003, "manufacturing_end", "2027-04-03T00:00:00Z"),
        ),
    ),
    case(
        "FORMAT-naive-datetime",
        "FORMAT",
        "no UTC offset",
        _set(P0003, "manufacturing_start", "2027-03-26T07:00:00"),
    ),
    case(
        "FORMAT-feasible-without-objective",
        "FORMAT",
        "requires objective",
        _set(_schedule, "objective", None),
    ),
    # OBJECTIVE
    case(
        "OBJECTIVE-wrong-value",
        "OBJECTIVE",
        "give 9",
        lambda i, s: s["objective"].update(scheduled_weight=10),
    ),
    case(
        "OBJECTIVE-max-bound-below-value",
        "OBJECTIVE",
        "below",
        lambda i, s: s["bound"].update(scheduled_weight=8),
    ),
    case(
        "OBJECTIVE-min-bound-above-value",
        "OBJECTIVE",
        "above",
        lambda i, s: s["bound"].update(wait_days=300),
    ),
    case(
        "OBJECTIVE-optimal-with-gap",
        "OBJECTIVE",
        "OPTIMAL",
        _set(_schedule, "status", "OPTIMAL"),
    ),
]


@pytest.mark.parametrize(("mutate", "rule", "only", "words"), MUTATIONS)
def test_mutation_breaks_rule(mutate: Mutation, rule: str, only: bool, words: str) -> None:
    instance, schedule = example_instance(), example_schedule()
    mutate(instance, schedule)
    found = check(instance, schedule)
    assert rule in rules_of(found), f"expected {rule}, got:\n" + "\n".join(map(str, found))
    assert any(words in v.message for v in found if v.rule == rule), "\n".join(map(str, found))
    if only:
        # Dropping or moving a patient also changes the measures the example reports; that
        # OBJECTIVE follow-on is not a second broken rule of the plan.
        assert rules_of(found) - ({"OBJECTIVE"} - {rule}) == {rule}, "\n".join(map(str, found))


# --- readings of SPEC 8 on the example ----------------------------------------------------------


def test_downtime_touching_occupancy_is_not_overlap() -> None:
    # S02 position 1 is free from 03-23 02:00 (P0006 end + changeover) to P0003's start 03-26 07:00,
    # position 2 from 03-26 02:00 (P0001 end + 1 h changeover): half-open intervals only touch.
    instance = example_instance()
    suite(instance, "S02")["unavailable"] = [
        {"start": "2027-03-26T02:00", "end": "2027-03-26T07:00"}
    ]
    assert check(instance, example_schedule()) == []


def test_given_sample_date_that_matches_is_fine() -> None:
    schedule = example_schedule()
    assay(schedule, "P0003", "sterility")["sample_date"] = "2027-04-02"
    assert check(example_instance(), schedule) == []


def test_planless_infeasible_answer_needs_no_coverage() -> None:
    schedule = example_schedule()
    schedule.update(status="INFEASIBLE", objective=None, bound=None, assignments=[], unscheduled=[])
    assert check(example_instance(), schedule) == []


def test_planless_unknown_answer_still_needs_reasons_with_rule_ids() -> None:
    schedule = example_schedule()
    schedule.update(status="UNKNOWN", objective=None, bound=None, assignments=[])
    schedule["unscheduled"] = [{"patient": "P0001", "reasons": ["timed out"]}]
    assert rules_of(check(example_instance(), schedule)) == {"C1"}


def test_violations_are_sorted_by_rule_then_message() -> None:
    instance, schedule = example_instance(), example_schedule()
    instance["horizon"]["days"] = 21  # C10 several times
    schedule["instance"] = "other"  # FORMAT
    assignment(schedule, "P0003")["position"] = 3  # C5
    schedule["objective"]["wait_days"] = 1  # OBJECTIVE
    found = check(instance, schedule)
    order = [RULES.index(v.rule) for v in found]
    assert order == sorted(order)
    assert found[0].rule == "FORMAT" and found[-1].rule == "OBJECTIVE"
    for first, second in itertools.pairwise(found):
        if first.rule == second.rule:
            assert first.message <= second.message


def test_objective_counts_plan_changes_and_weighted_wait() -> None:
    instance, schedule = example_instance(), example_schedule()
    patient(instance, "P0005")["previous"] = {"apheresis_date": "2027-03-19"}
    schedule["assignments"] = [a for a in schedule["assignments"] if a["patient"] != "P0003"]
    measures = compute_objective(load_instance(instance), load_schedule(schedule))
    # Without P0003 (weight 4, wait 20 days): 9 - 4 and 200 - 80; P0005 moved from 03-19 to 03-23.
    assert measures == {"scheduled_weight": 5.0, "plan_changes": 1.0, "wait_days": 120.0}


# --- robustness: nonsense references give violations, never exceptions -------------------------


FIELD_VALUES: dict[str, list[Any]] = {
    "patient": ["P0001", "P9001", "PX"],
    "in_progress": [True, False],
    "apheresis_date": [None, "2027-03-25", "1900-01-01", "9999-12-31"],
    "suite": ["S01", "S02", "nope"],
    "position": [-1, 0, 1, 2, 99],
    "manufacturing_start": [
        "2027-03-26T07:00:00+01:00",
        "2027-03-28T02:30:00+01:00",
        "2027-03-26T07:00:00",
        "0001-01-01T00:00:00+00:00",
        "9999-12-31T23:00:00-05:00",
    ],
    "manufacturing_end": [
        "2027-04-03T02:00:00+02:00",
        "0001-01-01T00:00:00",
        "9999-12-31T23:59:59+14:00",
    ],
    "release_date": ["2027-04-11", "0001-01-01", "9999-12-31"],
    "delivery_date": ["2027-04-13", "0001-01-01", "9999-12-31"],
    "steps": [
        [],
        [{"step": "??", "date": "2027-03-27", "shift": "?", "operators": []}],
        [
            {
                "step": "transduction",
                "date": "9999-12-31",
                "shift": "E",
                "operators": ["OP001", "OP001", "X"],
            }
        ],
    ],
    "qc": [
        [],
        [{"assay": "??", "start_date": "0001-01-01", "end_date": "9999-12-31"}],
        [
            {
                "assay": "sterility",
                "start_date": "2027-03-27",
                "end_date": "2027-03-01",
                "sample_date": "1999-01-01",
            }
        ],
    ],
}


TOP_LEVEL_VALUES: dict[str, list[Any]] = {
    "status": ["OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN"],
    "objective": [None, {"scheduled_weight": -1, "plan_changes": 0.5, "wait_days": 1e9}],
    "bound": [None, {"scheduled_weight": 0, "plan_changes": 99, "wait_days": -3}],
    "unscheduled": [
        [],
        [{"patient": "P0001", "reasons": [" C2 x", "?"]}, {"patient": "PX", "reasons": [""]}],
    ],
    "assignments": [[]],
}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=6),
            st.sampled_from(sorted(FIELD_VALUES)),
            st.integers(min_value=0, max_value=4),
        ),
        min_size=1,
        max_size=6,
    ),
    st.lists(
        st.tuples(st.sampled_from(sorted(TOP_LEVEL_VALUES)), st.integers(min_value=0, max_value=3)),
        max_size=2,
    ),
)
def test_nonsense_schedules_give_violations_not_exceptions(
    edits: list[tuple[int, str, int]], top_edits: list[tuple[str, int]]
) -> None:
    instance = load_instance(example_instance())
    schedule_doc = example_schedule()
    for index, field, choice in edits:
        values = FIELD_VALUES[field]
        schedule_doc["assignments"][index][field] = copy.deepcopy(values[choice % len(values)])
    for field, choice in top_edits:
        values = TOP_LEVEL_VALUES[field]
        schedule_doc[field] = copy.deepcopy(values[choice % len(values)])
    schedule = load_schedule(schedule_doc)
    found = validate(instance, schedule)
    assert all(v.rule in RULES and v.message for v in found)
    assert found == sorted(found, key=lambda v: (RULES.index(v.rule), v.message))
    compute_objective(instance, schedule)


# --- daylight saving: hours are real hours (SPEC 2, 8) ------------------------------------------


def tiny_instance(
    horizon: str,
    apheresis: str,
    shift_start: str,
    *,
    receipt_hours: float = 2,
    in_progress: list[Doc] | None = None,
) -> Doc:
    """One fresh-material patient, one shift, no steps; assays only if in-progress batches are given."""
    every_day = {day: 1 for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
    return {
        "format": "cart-schedule-instance/1",
        "name": "tiny-dst",
        "site": {
            "id": "GHENT",
            "timezone": "Europe/Brussels",
            "shifts": [{"id": "D", "start": shift_start, "hours": 8}],
            "max_starts_per_day": 1,
        },
        "horizon": {"start": horizon, "days": 28},
        "products": [
            {
                "id": "fresh-72",
                "fresh_shelf_life_hours": 72,
                "receipt_hours": receipt_hours,
                "manufacturing_hours": 48,
                "changeover_hours": 0,
                "suite_types": ["isolator"],
                "steps": [],
                "qc_assays": [
                    {
                        "id": "sterility",
                        "sample_day_offset": 1,
                        "duration_days": 3,
                        "max_wait_days": 0,
                    }
                ],
                "qp_release_days": 1,
            }
        ],
        "suites": [{"id": "S1", "type": "isolator", "positions": 3}],
        "operators": [],
        "qc_lab": {
            "working_days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
            "capacity": {"sterility": 0},
        },
        "hospitals": [
            {
                "id": "H",
                "name": "AZ Sint-Jan",
                "transit_hours": 1,
                "collection_end": "13:30",
                "return_transit_days": 1,
                "apheresis_capacity": every_day,
            }
        ],
        "patients": [
            {
                "id": "P1",
                "hospital": "H",
                "product": "fresh-72",
                "material": "fresh",
                "apheresis_window": {"earliest": apheresis, "latest": apheresis},
                "infusion_window": {"earliest": apheresis},
            }
        ]
        if apheresis
        else [],
        "in_progress": in_progress or [],
    }


def tiny_schedule(
    apheresis: str, start: str, end: str, release: str, delivery: str, wait_days: int
) -> Doc:
    """The one patient's batch; its single assay is sampled on day 1 and runs 3 days."""
    return {
        "format": "cart-schedule/1",
        "instance": "tiny-dst",
        "status": "OPTIMAL",
        "objective": {"scheduled_weight": 1, "plan_changes": 0, "wait_days": wait_days},
        "bound": {"scheduled_weight": 1, "plan_changes": 0, "wait_days": wait_days},
        "solve_seconds": 0.01,
        "assignments": [
            {
                "patient": "P1",
                "in_progress": False,
                "apheresis_date": apheresis,
                "suite": "S1",
                "position": 1,
                "manufacturing_start": start,
                "manufacturing_end": end,
                "steps": [],
                "qc": [],
                "release_date": release,
                "delivery_date": delivery,
            }
        ],
        "unscheduled": [],
    }


def _no_assays(instance: Doc) -> Doc:
    instance["products"][0]["qc_assays"] = []
    instance["qc_lab"]["capacity"] = {}
    return instance


def _calendar_hours(earlier: str, later: str) -> float:
    """Hours between two local wall-clock times read naively, the mistake the validator must not make."""
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds() / 3600


def test_dst_spring_shelf_life_counts_real_hours() -> None:
    # Collected Thu 2027-03-25 13:30 CET; started Sun 03-28 14:00 CEST after the clocks went forward:
    # 72.5 h on the wall clock, 71.5 real hours: within the 72 h shelf-life.
    assert _calendar_hours("2027-03-25T13:30", "2027-03-28T14:00") == 72.5
    instance = _no_assays(tiny_instance("2027-03-22", "2027-03-25", "14:00"))
    schedule = tiny_schedule(
        "2027-03-25",
        "2027-03-28T14:00:00+02:00",
        "2027-03-30T14:00:00+02:00",
        "2027-03-31",
        "2027-04-01",
        7,
    )
    assert check(instance, schedule) == []


def test_dst_autumn_shelf_life_breached_in_real_hours() -> None:
    # Collected Thu 2027-10-28 13:30 CEST; started Sun 10-31 13:00 CET after the clocks went back:
    # 71.5 h on the wall clock looks fine, but 72.5 real hours have passed.
    assert _calendar_hours("2027-10-28T13:30", "2027-10-31T13:00") == 71.5
    instance = _no_assays(tiny_instance("2027-10-25", "2027-10-28", "13:00"))
    schedule = tiny_schedule(
        "2027-10-28",
        "2027-10-31T13:00:00+01:00",
        "2027-11-02T13:00:00+01:00",
        "2027-11-03",
        "2027-11-04",
        7,
    )
    found = check(instance, schedule)
    assert rules_of(found) == {"C3"}
    assert "expires at 2027-10-31T12:30:00+01:00" in found[0].message


def test_dst_spring_receipt_breached_in_real_hours() -> None:
    # Collected Sat 03-27 13:30 CET, 1 h transit + 17 h receipt = ready 03-28 08:30 CEST in real hours;
    # a wall-clock reading would say 07:30 and accept the 08:00 shift.
    instance = _no_assays(tiny_instance("2027-03-22", "2027-03-27", "08:00", receipt_hours=17))
    schedule = tiny_schedule(
        "2027-03-27",
        "2027-03-28T08:00:00+02:00",
        "2027-03-30T08:00:00+02:00",
        "2027-03-31",
        "2027-04-01",
        5,
    )
    found = check(instance, schedule)
    assert rules_of(found) == {"C3"}
    assert "received at 2027-03-28T08:30:00+02:00" in found[0].message


def test_dst_manufacturing_end_is_real_hours_later() -> None:
    # 48 h after Sat 03-27 14:00 CET is Mon 03-29 15:00 CEST, not 14:00.
    instance = _no_assays(tiny_instance("2027-03-22", "2027-03-25", "14:00"))
    good = tiny_schedule(
        "2027-03-25",
        "2027-03-27T14:00:00+01:00",
        "2027-03-29T15:00:00+02:00",
        "2027-03-30",
        "2027-03-31",
        6,
    )
    assert check(instance, good) == []
    calendar = copy.deepcopy(good)
    calendar["assignments"][0]["manufacturing_end"] = "2027-03-29T14:00:00+02:00"
    assert rules_of(check(instance, calendar)) == {"C5"}
    wrong_offset = copy.deepcopy(good)
    wrong_offset["assignments"][0]["manufacturing_end"] = (
        "2027-03-29T14:00:00+01:00"  # same instant as 15:00 CEST
    )
    assert rules_of(check(instance, wrong_offset)) == {"FORMAT"}


def test_dst_shift_in_spring_gap_starts_an_hour_later() -> None:
    # A 02:30 shift on 2027-03-28 does not exist on the wall clock; SPEC 8 moves it forward to 03:30 CEST.
    instance = _no_assays(tiny_instance("2027-03-22", "2027-03-25", "02:30"))
    schedule = tiny_schedule(
        "2027-03-25",
        "2027-03-28T03:30:00+02:00",
        "2027-03-30T03:30:00+02:00",
        "2027-03-31",
        "2027-04-01",
        7,
    )
    assert check(instance, schedule) == []
    same_instant_wrong_offset = copy.deepcopy(schedule)
    same_instant_wrong_offset["assignments"][0]["manufacturing_start"] = "2027-03-28T02:30:00+01:00"
    assert rules_of(check(instance, same_instant_wrong_offset)) == {"FORMAT"}


# --- in-progress work that started before the horizon (SPEC 8) ----------------------------------


def _in_progress_case() -> tuple[Doc, Doc]:
    # Two batches started Sat 2027-03-20 14:00, before the horizon (Mon 03-22): they count in no
    # start limit; their sterility assays, sampled Sun 03-21, are taken as started then, use none
    # of the zero lab capacity and are exempt from working days.
    batches = [
        {"patient": f"P900{n}", "product": "fresh-72", "hospital": "H", "suite": "S1", "position": n,
         "manufacturing_start": "2027-03-20T14:00"}
        for n in (1, 2)
    ]  # fmt: skip
    instance = tiny_instance("2027-03-22", "", "14:00", in_progress=batches)
    schedule = tiny_schedule("", "", "", "", "", 0)
    schedule["objective"] = schedule["bound"] = {
        "scheduled_weight": 0,
        "plan_changes": 0,
        "wait_days": 0,
    }
    schedule["assignments"] = [
        {
            "patient": batch["patient"],
            "in_progress": True,
            "apheresis_date": None,
            "suite": "S1",
            "position": batch["position"],
            "manufacturing_start": "2027-03-20T14:00:00+01:00",
            "manufacturing_end": "2027-03-22T14:00:00+01:00",
            "steps": [],
            "qc": [{"assay": "sterility", "start_date": "2027-03-21", "end_date": "2027-03-24"}],
            "release_date": "2027-03-25",
            "delivery_date": "2027-03-26",
        }
        for batch in batches
    ]
    return instance, schedule


def test_in_progress_assays_sampled_before_horizon_are_exempt() -> None:
    instance, schedule = _in_progress_case()
    assert check(instance, schedule) == []


def test_in_progress_assay_sampled_before_horizon_starts_on_its_sample_date() -> None:
    instance, schedule = _in_progress_case()
    schedule["assignments"][0]["qc"][0].update(start_date="2027-03-22", end_date="2027-03-25")
    schedule["assignments"][0].update(release_date="2027-03-26", delivery_date="2027-03-27")
    found = check(instance, schedule)
    assert rules_of(found) == {"C7"}
    assert "taken as started on its sample date" in found[0].message


def test_in_progress_starts_inside_horizon_count_against_max_starts() -> None:
    instance, schedule = _in_progress_case()
    instance["horizon"]["start"] = "2027-03-20"  # now both starts fall inside the horizon
    found = check(instance, schedule)
    assert "C4" in rules_of(found)


# --- independence from the solver ----------------------------------------------------------------


def test_validator_imports_only_models_and_stdlib() -> None:
    # A solver bug must not be able to hide by being shared with its check.
    import ast
    import sys

    folder = _REPO / "validator"
    for source in folder.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert (
                    top in {"models", "validator", "__future__"} or top in sys.stdlib_module_names
                ), f"{source.name} imports {name}"
