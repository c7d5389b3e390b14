"""Robust planning (`solve --robust`, docs/ROBUST.md): the reservation keeps rescue positions free,
only removes capacity, never breaks a commitment, costs nothing when nothing can fail, and is
reproducible. Every schedule here passes the independent validator."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from models import Instance, Schedule, load_instance, to_json
from scheduler.problem.planning import prepare
from scheduler.problem.reservation import RescueReservation, ReservedPositions
from scheduler.search.outcome import SolveOptions
from scheduler.workflows.robust import RobustConfig, rescue_samples, solve_robust
from scheduler.workflows.simulate import Rates
from scheduler.workflows.solve import solve
from tests.helpers import (
    ZONE,
    in_progress,
    patient,
    scheduled_ids,
    solve_and_validate,
    tiny_site,
    validated_files,
)
from validator import validate

OPTIONS = SolveOptions(time_limit=20, workers=1, seed=0)


def two_position_site_with_failing_batches() -> Instance:
    """Two positions, six patients over three weeks, a product that fails half its batches."""
    doc = tiny_site(
        suites=[{"id": "S1", "type": "isolator", "positions": 2}],
        patients=[
            patient(f"P{i}", earliest=f"2027-01-{5 + i:02d}", latest=f"2027-01-{9 + i:02d}")
            for i in range(6)
        ],
    )
    doc["products"][0]["failure_rate"] = 0.5
    return load_instance(doc)


def one_position_site_with_commitments() -> Instance:
    """One position: a batch running into the horizon, a locked patient, a free patient P1."""
    return load_instance(
        tiny_site(
            patients=[
                patient("P1"),
                patient(
                    "P2",
                    earliest="2027-01-12",
                    previous={"apheresis_date": "2027-01-12"},
                    locked=True,
                ),
            ],
            in_progress=[in_progress("X1", "2027-01-01T08:00")],
        )
    )


def valid(instance: Instance, schedule: Schedule) -> Schedule:
    """The schedule, after the validator found nothing wrong with it."""
    violations = validate(instance, schedule)
    assert violations == [], violations[:5]
    return schedule


def uncommitted_in_position(instance: Instance, schedule: Schedule, at: datetime) -> int:
    """New uncommitted batches manufacturing or changing over at an instant."""
    product = instance.products[0]
    hours = product.manufacturing_hours + product.changeover_hours
    patients = {p.id: p for p in instance.patients}
    count = 0
    for a in schedule.assignments:
        p = patients.get(a.patient)
        if p is None or p.locked or p.collected_on is not None:
            continue
        start = a.manufacturing_start
        if (
            start
            <= at
            < start + (a.manufacturing_end - start) * (hours / product.manufacturing_hours)
        ):
            count += 1
    return count


def test_robust_plan_on_a_failing_two_position_site_reserves_a_position_and_stays_valid() -> None:
    instance = two_position_site_with_failing_batches()
    config = RobustConfig(samples=200, max_weight_loss=1.0, method="reserve")
    schedule = valid(instance, solve_robust(instance, OPTIONS, config))
    report = schedule.robust  # type: ignore[attr-defined]
    assert report["reserved_positions"], report
    for window in report["reserved_positions"]:
        start = datetime.fromisoformat(window["start"])
        end = datetime.fromisoformat(window["end"])
        for a in schedule.assignments:
            if start <= a.manufacturing_start < end:
                assert uncommitted_in_position(instance, schedule, a.manufacturing_start) <= (
                    2 - window["positions"]
                )


@pytest.mark.parametrize("method", ["soft", "reserve"])
def test_robust_with_zero_rates_gives_the_deterministic_plan(method: str) -> None:
    instance = two_position_site_with_failing_batches()
    _, deterministic = solve_and_validate(instance)
    config = RobustConfig(
        rates=Rates(failure_rate=0, out_of_spec_rate=0, dropout_rate=0), method=method
    )
    robust = valid(instance, solve_robust(instance, OPTIONS, config))
    assert robust.objective == deterministic.objective
    assert robust.status == deterministic.status
    assert robust.robust["reserved_positions"] == []  # type: ignore[attr-defined]
    if method == "soft":
        assert robust.assignments == deterministic.assignments
        assert robust.robust["kept_deterministic"] == "no rescue need sampled"  # type: ignore[attr-defined]


def occupied_at_noon(instance: Instance, schedule: Schedule, day: date) -> int:
    """Batches holding one of the positions (manufacturing or changeover) at noon of a day."""
    product = instance.products[0]
    noon = datetime.combine(day, time(12), ZONE)
    return sum(
        1
        for a in schedule.assignments
        if a.manufacturing_start
        <= noon
        < a.manufacturing_end + timedelta(hours=product.changeover_hours)
    )


def test_soft_robust_plan_keeps_the_weight_and_frees_a_position_where_rescues_are_needed() -> None:
    """Six patients on two positions, half the batches fail: every patient still gets a
    slot (same scheduled weight, no plan change), but one batch starts a day later so that a
    position stands free on a day when sampled rescues of the first batches need one."""
    instance = two_position_site_with_failing_batches()
    _, deterministic = solve_and_validate(instance)
    config = RobustConfig(samples=200, min_cover_gain=0)
    robust = valid(instance, solve_robust(instance, OPTIONS, config))
    assert deterministic.objective is not None and robust.objective is not None
    assert robust.objective.scheduled_weight == deterministic.objective.scheduled_weight
    assert robust.objective.plan_changes == deterministic.objective.plan_changes
    assert robust.objective.wait_days <= deterministic.objective.wait_days * 1.02 + 1
    report = robust.robust  # type: ignore[attr-defined]
    assert report["cover_robust"] > report["cover_deterministic"], report
    problem = prepare(instance)
    need = rescue_samples(
        problem, deterministic, config.rates, config.samples, config.seed
    ).positions
    freed = [
        day
        for d in range(problem.calendar.days)
        if occupied_at_noon(instance, robust, day := problem.calendar.date(d))
        < occupied_at_noon(instance, deterministic, day)
    ]
    assert freed, "the robust plan frees no position on any day"
    # A freed day is one on which some sampled rescue wants a position.
    assert any(need[:, 0, problem.calendar.day(day)].max() > 0 for day in freed)


def test_reserving_every_position_keeps_running_batches_and_locked_patients() -> None:
    instance = one_position_site_with_commitments()
    _, plain = solve_and_validate(instance)
    assert scheduled_ids(plain) == {"P1", "P2"}
    everything = RescueReservation(
        (
            ReservedPositions(
                0, datetime(2027, 1, 1, tzinfo=ZONE), datetime(2027, 2, 1, tzinfo=ZONE), 1
            ),
        )
    )
    reserved = valid(instance, solve(instance, OPTIONS, everything))
    assert reserved.status in ("OPTIMAL", "FEASIBLE")
    # The commitments keep their places; only the free patient gives up the reserved position.
    assert scheduled_ids(reserved) == {"P2"}
    assert reserved.assignment_of("X1") == plain.assignment_of("X1")


def without_timing(value: Any) -> Any:
    """The document without its wall-clock fields (`solve_seconds`, per level `seconds`, ...)."""
    if isinstance(value, dict):
        return {k: without_timing(v) for k, v in value.items() if not k.endswith("seconds")}
    if isinstance(value, list):
        return [without_timing(v) for v in value]
    return value


def test_robust_output_is_reproducible() -> None:
    instance = two_position_site_with_failing_batches()
    config = RobustConfig(samples=100, max_weight_loss=1.0, seed=3)

    def document() -> Any:
        schedule = valid(instance, solve_robust(instance, OPTIONS, config))
        return without_timing(json.loads(to_json(schedule)))

    assert document() == document()


def test_solve_robust_command_writes_a_valid_plan_with_its_reservation(tmp_path: Path) -> None:
    instance_path = tmp_path / "failing.json"
    instance_path.write_text(to_json(two_position_site_with_failing_batches()), encoding="utf-8")
    schedule_path = tmp_path / "robust.schedule.json"
    result = CliRunner().invoke(
        app,
        [
            "solve",
            str(instance_path),
            "-o",
            str(schedule_path),
            "--robust",
            "--failure-rate",
            "0.5",
            "--max-weight-loss",
            "1",
            "--robust-method",
            "reserve",
            "--workers",
            "1",
            "--time-limit",
            "20",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "robust:" in result.output
    _, schedule = validated_files(instance_path, schedule_path)
    assert schedule.robust["reserved_positions"]  # type: ignore[attr-defined]


def test_solve_robust_command_soft_by_default(tmp_path: Path) -> None:
    instance_path = tmp_path / "failing.json"
    instance_path.write_text(to_json(two_position_site_with_failing_batches()), encoding="utf-8")
    schedule_path = tmp_path / "robust.schedule.json"
    result = CliRunner().invoke(
        app,
        [
            "solve",
            str(instance_path),
            "-o",
            str(schedule_path),
            "--robust",
            "--failure-rate",
            "0.5",
            "--min-cover-gain",
            "0",
            "--workers",
            "1",
            "--time-limit",
            "20",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "robust (soft): scheduled weight and plan changes held" in result.output
    _, schedule = validated_files(instance_path, schedule_path)
    assert schedule.robust["cover_robust"] > schedule.robust["cover_deterministic"]  # type: ignore[attr-defined]
