"""KPIs of a plan: every expected value below is worked out by hand.

The plans are in tests/plan_examples.py (each passes the validator); its docstring has the
shared base: horizon 2027-01-04 + 21 days = 504 real hours, batches of 48 h + 24 h changeover.
"""

from __future__ import annotations

import json
import math

import pytest

from models import load_instance, load_schedule
from scheduler.reporting.kpis import (
    compute_kpis,
    day_stats,
    format_kpis,
    percentile,
    ready_to_delivery_days,
    rule_of,
)
from scheduler.reporting.plan_facts import ScheduleMismatch
from tests.helpers import EXAMPLE_INSTANCE, EXAMPLE_SCHEDULE, load_tiny, solve_generated
from tests.plan_examples import checked, one_batch_two_positions, schedule_doc, ward_week


def test_one_batch_on_two_positions_over_21_days() -> None:
    """48 h manufacturing + 24 h changeover on one of 2 positions for 21 days: 72 / (2 × 21 × 24)."""
    instance, schedule = one_batch_two_positions()
    kpis = compute_kpis(instance, schedule)
    assert kpis["suite_utilisation"]["overall"] == {
        "ratio": pytest.approx(72 / (2 * 21 * 24), abs=1e-6),
        "occupied_hours": 72,
        "available_hours": 1008,
    }
    assert kpis["suite_utilisation"]["by_suite"]["S1"]["available_hours"] == 1008
    # OP1 rostered 8 h on each of 21 dates; P1's activation is 4 h by one operator.
    assert kpis["operator_load"]["overall"]["assigned_hours"] == 4
    assert kpis["operator_load"]["overall"]["rostered_hours"] == 21 * 8
    # The lab works every day, 2 sterility starts a day: 1 start of 42.
    assert kpis["qc_load"]["by_assay"]["sterility"] == {
        "ratio": pytest.approx(1 / 42, abs=1e-6),
        "starts": 1,
        "capacity": 42,
    }
    # Window opens 01-05, collected 01-05, delivered 01-13: 8 days both ways.
    assert kpis["ready_to_delivery_days"] == {"median": 8, "p90": 8, "patients": 1}
    assert kpis["vein_to_vein_days"] == {"median": 8, "p90": 8, "patients": 1}
    assert (kpis["patients"], kpis["scheduled"], kpis["unscheduled"], kpis["in_progress"]) == (
        1,
        1,
        0,
        0,
    )
    assert kpis["unscheduled_by_rule"] == {}


def test_suite_utilisation_discounts_downtime_and_clips_to_the_horizon() -> None:
    """S1: 2 × (504 − 72 closed) = 864 available, P1 72 + IP1's last 8 h = 80 occupied;
    S2: 1 × (504 − 24) = 480 available (closed 01-01..01-05, only 01-04 inside), P2 72 occupied."""
    instance, schedule = ward_week()
    utilisation = compute_kpis(instance, schedule)["suite_utilisation"]
    assert utilisation["by_suite"]["S1"] == {
        "ratio": pytest.approx(80 / 864, abs=1e-6),
        "occupied_hours": 80,
        "available_hours": 864,
    }
    assert utilisation["by_suite"]["S2"] == {
        "ratio": pytest.approx(72 / 480, abs=1e-6),
        "occupied_hours": 72,
        "available_hours": 480,
    }
    assert utilisation["overall"] == {
        "ratio": pytest.approx(152 / 1344, abs=1e-6),
        "occupied_hours": 152,
        "available_hours": 1344,
    }


def test_operator_load_counts_every_operator_on_a_step_and_every_skill_held() -> None:
    """Two activations × 4 h × 2 operators = 16 h; OP1 168 h + OP2 80 h rostered; only OP2 holds cryo."""
    instance, schedule = ward_week()
    load = compute_kpis(instance, schedule)["operator_load"]
    assert load["overall"] == {
        "ratio": pytest.approx(16 / 248, abs=1e-6),
        "assigned_hours": 16,
        "rostered_hours": 248,
    }
    assert load["by_skill"] == {
        "aseptic": {
            "ratio": pytest.approx(16 / 248, abs=1e-6),
            "assigned_hours": 16,
            "rostered_hours": 248,
        },
        "cryo": {"ratio": 0.0, "assigned_hours": 0, "rostered_hours": 80},
    }


def test_qc_load_over_lab_working_days_without_assays_started_before_the_horizon() -> None:
    """Mon-Fri in 01-04..01-24 = 15 dates, minus closed Wed 01-06 = 14 × 2 = 28 starts possible.
    P1 starts 01-08 and P2 01-11; IP1's sterility (sampled 01-03) uses no capacity."""
    instance, schedule = ward_week()
    lab = compute_kpis(instance, schedule)["qc_load"]
    assert lab["overall"] == {"ratio": pytest.approx(2 / 28, abs=1e-6), "starts": 2, "capacity": 28}
    assert list(lab["by_assay"]) == ["sterility"]


def test_ready_to_delivery_and_vein_to_vein_over_new_patients_only() -> None:
    """P1: window 01-05, collected 01-05, delivered 01-13 → 8 and 8.
    P2: window 01-04, collected 01-05, delivered 01-16 → 12 and 11. IP1 does not count."""
    instance, schedule = ward_week()
    kpis = compute_kpis(instance, schedule)
    assert kpis["ready_to_delivery_days"] == {"median": 10, "p90": 12, "patients": 2}
    assert kpis["vein_to_vein_days"] == {"median": 9.5, "p90": 11, "patients": 2}


def test_counts_and_unscheduled_reasons_by_rule() -> None:
    """P3 (C5, C2), P4 (C2, C2), P5 (C7, free text): a patient counts once per rule it names."""
    instance, schedule = ward_week()
    kpis = compute_kpis(instance, schedule)
    assert (kpis["patients"], kpis["scheduled"], kpis["unscheduled"], kpis["in_progress"]) == (
        5,
        2,
        3,
        1,
    )
    assert kpis["unscheduled_by_rule"] == {"C2": 2, "C5": 1, "C7": 1, "other": 1}
    assert list(kpis["unscheduled_by_rule"]) == ["C2", "C5", "C7", "other"]
    assert kpis["unscheduled_by_main_rule"] == {"C2": 1, "C5": 1, "C7": 1}


def test_horizon_across_spring_forward_has_503_real_hours() -> None:
    """dst-week: 2027-03-22 + 21 days contains 2027-03-28, when the clocks skip an hour."""
    instance = load_tiny("dst-week")
    schedule = checked(
        instance,
        {
            **schedule_doc(
                instance.name, [], [{"patient": "P1", "reasons": ["C3 material: shelf-life"]}]
            ),
            "status": "FEASIBLE",
        },
    )
    kpis = compute_kpis(instance, schedule)
    assert kpis["suite_utilisation"]["overall"] == {
        "ratio": 0.0,
        "occupied_hours": 0,
        "available_hours": 503,
    }
    assert kpis["ready_to_delivery_days"] == {"median": None, "p90": None, "patients": 0}
    assert kpis["unscheduled_by_main_rule"] == {"C3": 1}


def test_p90_is_the_nearest_rank_and_the_median_of_an_even_count_the_middle_mean() -> None:
    assert percentile(list(range(1, 11)), 90) == 9  # ceil(0.9 × 10) = 9th value
    assert percentile([5, 1, 3], 90) == 5  # ceil(2.7) = 3rd value
    assert percentile([7], 90) == 7
    assert day_stats([3, 1, 4, 2]) == {"median": 2.5, "p90": 4, "patients": 4}


def test_rule_of_a_reason() -> None:
    assert rule_of("C5 suite: no isolator position free") == "C5"
    assert rule_of("C10 horizon: delivery after the horizon") == "C10"
    assert rule_of("C1 coverage: …") == "C1"
    assert rule_of("Cx is not a rule") == "other"


def test_format_kpis_gives_readable_rows() -> None:
    instance, schedule = ward_week()
    rows = dict(format_kpis(compute_kpis(instance, schedule)))
    assert rows["Patients scheduled"] == "2 of 5"
    assert rows["Patients unscheduled"] == "3"
    assert rows["Unscheduled by main rule"] == "C2: 1, C5: 1, C7: 1"
    assert rows["Unscheduled by any rule"] == "C2: 2, C5: 1, C7: 1, other: 1"
    assert rows["In-progress batches"] == "1"
    assert rows["Suite position utilisation"] == "11.3 % (152 of 1,344 position-hours)"
    assert rows["Suite S2 utilisation"] == "15.0 % (72 of 480 position-hours)"
    assert rows["Operator hands-on load"] == "6.5 % (16 of 248 h)"
    assert rows["Operator load, skill cryo"] == "0.0 % (0 of 80 h)"
    assert rows["QC load, assay sterility"] == "7.1 % (2 of 28 starts)"
    assert rows["Ready to delivery (days)"] == "median 10, p90 12 (2 patients)"
    assert rows["Vein-to-vein (days)"] == "median 9.5, p90 11 (2 patients)"
    assert all(
        isinstance(label, str) and isinstance(text, str)
        for label, text in format_kpis(compute_kpis(instance, schedule))
    )


def test_format_kpis_without_a_plan() -> None:
    """An UNKNOWN answer: nothing scheduled, no ratio can be worse than 0, stats are n/a."""
    instance = load_tiny("suite-downtime")
    schedule = load_schedule(schedule_doc(instance.name, [], []) | {"status": "UNKNOWN"})
    kpis = compute_kpis(instance, schedule)
    rows = dict(format_kpis(kpis))
    assert rows["Ready to delivery (days)"] == "n/a (no scheduled patient)"
    assert rows["Unscheduled by main rule"] == "none"
    assert kpis["suite_utilisation"]["overall"]["ratio"] == 0.0


def test_ratio_is_none_when_nothing_is_available() -> None:
    """A skill nobody is rostered for has no load ratio rather than a division by zero."""
    instance, schedule = one_batch_two_positions()
    instance.operators[0].roster = []
    load = compute_kpis(instance, schedule)["operator_load"]
    assert load["overall"] == {"ratio": None, "assigned_hours": 4, "rostered_hours": 0}
    assert "n/a" in dict(format_kpis(compute_kpis(instance, schedule)))["Operator hands-on load"]


def test_kpis_of_a_schedule_read_from_a_file() -> None:
    """The SPEC example files: KPIs need only the documents, not the solver."""
    instance = load_instance(EXAMPLE_INSTANCE)
    schedule = load_schedule(EXAMPLE_SCHEDULE)
    kpis = compute_kpis(instance, schedule)
    json.dumps(kpis, allow_nan=False)
    assert kpis["in_progress"] == len(instance.in_progress)
    assert kpis["scheduled"] + kpis["unscheduled"] == kpis["patients"] == len(instance.patients)


def test_kpis_of_a_solved_overloaded_week_are_consistent() -> None:
    """A generated overload week solved for real (and validated): shares in [0, 1], parts add up to wholes."""
    from validator.objective import compute_objective

    instance, schedule = solve_generated("xs", 1, "overload", time_limit=10, workers=1)
    kpis = compute_kpis(instance, schedule)
    json.dumps(kpis, allow_nan=False)
    for family, parts in (
        ("suite_utilisation", "by_suite"),
        ("operator_load", "by_skill"),
        ("qc_load", "by_assay"),
    ):
        for entry in [kpis[family]["overall"], *kpis[family][parts].values()]:
            assert entry["ratio"] is None or 0 <= entry["ratio"] <= 1, (family, entry)
    suites = kpis["suite_utilisation"]
    assert math.isclose(
        suites["overall"]["occupied_hours"],
        sum(e["occupied_hours"] for e in suites["by_suite"].values()),
    )
    assert kpis["scheduled"] + kpis["unscheduled"] == kpis["patients"]
    assert kpis["unscheduled"] > 0
    assert sum(kpis["unscheduled_by_main_rule"].values()) == kpis["unscheduled"]
    assert kpis["ready_to_delivery_days"]["patients"] == kpis["scheduled"]
    # wait_days (SPEC 4) is the weighted sum of the very same day counts.
    weights = {p.id: p.weight for p in instance.patients}
    scheduled = [a for a in schedule.assignments if not a.in_progress]
    days = ready_to_delivery_days(instance, schedule)
    assert (
        sum(weights[a.patient] * d for a, d in zip(scheduled, days, strict=True))
        == compute_objective(instance, schedule)["wait_days"]
    )


def test_a_schedule_of_another_instance_is_named() -> None:
    instance, schedule = one_batch_two_positions()
    schedule.assignments[0].patient = "P404"
    with pytest.raises(ScheduleMismatch, match="P404"):
        compute_kpis(instance, schedule)


def test_a_position_the_instance_lacks_is_named() -> None:
    instance, schedule = one_batch_two_positions()
    schedule.assignments[0].position = 3
    with pytest.raises(ScheduleMismatch, match="S1 position 3"):
        compute_kpis(instance, schedule)
