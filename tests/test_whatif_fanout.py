"""`whatif` with several scenarios: solved at once in local processes, as good as one by one.

A small generated site (s, seed 1, normal: 20 patients, solved to optimality in about a
second) and three scenarios that each change something else. With one solver thread and a
fixed seed, a scenario's objective does not depend on the process that solves it: the
parallel answers must equal those of solving the scenarios one by one, here, in turn.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import scheduler.workflows.whatif as whatif_module
from cli.main import app
from generator import generate_instance
from models import Instance, Schedule, load_instance
from models.scenarios import apply_scenario, parse_scenario
from tests.helpers import solve_and_validate, validated_files

runner = CliRunner()
SEED = 3
TIME_LIMIT = 30.0
SCENARIOS: dict[str, dict[str, Any]] = {
    "suite-more": {
        "name": "one more isolator",
        "changes": [{"kind": "suite_added", "type": "isolator", "positions": 2}],
    },
    "sterility": {
        "name": "one sterility test a day",
        "changes": [{"kind": "qc_capacity_changed", "assay": "sterility", "capacity": 1}],
    },
    "starts": {
        "name": "two starts a day",
        "changes": [{"kind": "starts_per_day_changed", "max_starts_per_day": 2}],
    },
}
MEASURES = ("scheduled_weight", "plan_changes", "wait_days")


def _objective(schedule: Schedule) -> tuple[float, ...]:
    assert schedule.objective is not None and schedule.status in ("OPTIMAL", "FEASIBLE")
    values = schedule.objective.model_dump()
    return tuple(float(values[measure]) for measure in MEASURES)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """The instance file and one file per scenario."""
    folder = tmp_path_factory.mktemp("fanout")
    instance = folder / "site.json"
    instance.write_text(json.dumps(generate_instance("s", 1, "normal")), encoding="utf-8")
    files = {}
    for key, scenario in SCENARIOS.items():
        files[key] = folder / f"{key}.scenario.json"
        files[key].write_text(json.dumps(scenario), encoding="utf-8")
    return instance, files


@pytest.fixture(scope="module")
def one_by_one(site: tuple[Path, dict[str, Path]]) -> dict[str, tuple[float, ...]]:
    """Each scenario's objective (and the plan's, under ""), solved here one after another."""
    instance_file, _ = site
    document = json.loads(instance_file.read_text(encoding="utf-8"))
    objectives = {}
    for key, scenario in [("", None), *SCENARIOS.items()]:
        changed = (
            document if scenario is None else apply_scenario(document, parse_scenario(scenario))
        )
        _, schedule = solve_and_validate(changed, time_limit=TIME_LIMIT, workers=1, seed=SEED)
        objectives[key] = _objective(schedule)
    return objectives


def _name(instance_file: Path, scenario: dict[str, Any]) -> str:
    """The name of the scenario's instance (and of its files in an `-o` folder)."""
    document = json.loads(instance_file.read_text(encoding="utf-8"))
    return load_instance(apply_scenario(document, parse_scenario(scenario))).name


def _table_row(output: str, measure: str) -> list[str]:
    """The cells of a measure's row of the printed comparison table."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│┃ ").split("│")]
        if cells and cells[0] == measure:
            return cells[1:]
    raise AssertionError(f"no row {measure!r} in:\n{output}")


def test_three_scenarios_in_parallel_processes_match_solving_them_one_by_one(
    site: tuple[Path, dict[str, Path]],
    one_by_one: dict[str, tuple[float, ...]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Plan and three scenarios: four solves in local processes; the same objectives, valid plans,
    one column per scenario, and the files in the `-o` folder."""
    instance_file, files = site
    calls: list[tuple[int, int | None]] = []
    solve_in_processes = whatif_module.solve_in_processes

    def counted(
        instances: list[Instance],
        options: whatif_module.FanOutOptions,
        processes: int | None = None,
    ) -> list[Schedule]:
        calls.append((len(instances), processes))
        return solve_in_processes(instances, options, processes)

    monkeypatch.setattr(whatif_module, "solve_in_processes", counted)
    started = time.monotonic()
    result = runner.invoke(
        app,
        [
            *("whatif", str(instance_file)),
            *(arg for key in SCENARIOS for arg in ("--scenario", str(files[key]))),
            *("-o", str(tmp_path / "out")),
            *("--workers", "1", "--seed", str(SEED), "--time-limit", str(TIME_LIMIT)),
        ],
        env={"COLUMNS": "400"},
    )
    seconds = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert calls == [(4, None)]  # the plan and the three scenarios, in one pool
    print(f"whatif, plan + 3 scenarios in local processes: {seconds:.1f} s")

    header = next(line for line in result.output.splitlines() if "measure" in line)
    for scenario in SCENARIOS.values():
        assert scenario["name"] in result.output.splitlines()[0]  # the table's title
    names = [_name(instance_file, scenario) for scenario in SCENARIOS.values()]
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")] == [
        "measure",
        "gen-s-normal-s1",
        *names,
    ]
    for index, measure in enumerate(MEASURES):
        row = _table_row(result.output, measure)
        assert [float(cell) for cell in row] == [
            one_by_one[key][index] for key in ("", *SCENARIOS)
        ], measure

    written = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert len(written) == 6
    for key, name in zip(SCENARIOS, names, strict=True):
        changed, schedule = validated_files(
            tmp_path / "out" / f"{name}.instance.json", tmp_path / "out" / f"{name}.json"
        )
        assert changed.name == name
        assert _objective(schedule) == one_by_one[key]


def test_one_output_per_scenario_and_a_compared_plan_given(
    site: tuple[Path, dict[str, Path]],
    one_by_one: dict[str, tuple[float, ...]],
    tmp_path: Path,
) -> None:
    """`-o` once per scenario, in order; with `--schedule` only the scenarios are solved."""
    instance_file, files = site
    plan = tmp_path / "plan.json"
    solved = runner.invoke(
        app,
        ["solve", str(instance_file), "-o", str(plan), "--workers", "1", "--seed", str(SEED)],
    )
    assert solved.exit_code == 0, solved.output
    keys = ["starts", "suite-more"]
    result = runner.invoke(
        app,
        [
            *("whatif", str(instance_file), "--schedule", str(plan)),
            *(arg for key in keys for arg in ("--scenario", str(files[key]))),
            *(arg for key in keys for arg in ("-o", str(tmp_path / f"{key}.json"))),
            *("--workers", "1", "--seed", str(SEED), "--time-limit", str(TIME_LIMIT)),
        ],
        env={"COLUMNS": "400"},
    )
    assert result.exit_code == 0, result.output
    for key in keys:
        _, schedule = validated_files(tmp_path / f"{key}.instance.json", tmp_path / f"{key}.json")
        assert _objective(schedule) == one_by_one[key]
    assert [float(cell) for cell in _table_row(result.output, "wait_days")] == [
        one_by_one[key][2] for key in ("", *keys)
    ]


def test_outputs_that_do_not_fit_the_scenarios_exit_2_before_any_solve(
    site: tuple[Path, dict[str, Path]], tmp_path: Path
) -> None:
    """Two scenarios: one `.json` file, or three outputs, are refused; so is a bad scenario, by its file."""
    instance_file, files = site
    scenarios = ["--scenario", str(files["starts"]), "--scenario", str(files["sterility"])]
    one_file = runner.invoke(
        app, ["whatif", str(instance_file), *scenarios, "-o", str(tmp_path / "x.json")]
    )
    assert one_file.exit_code == 2 and "give a folder or one -o per scenario" in one_file.output
    three = runner.invoke(
        app,
        [
            *("whatif", str(instance_file), *scenarios),
            *("-o", str(tmp_path / "a.json"), "-o", str(tmp_path / "b.json")),
            *("-o", str(tmp_path / "c.json")),
        ],
    )
    assert three.exit_code == 2 and "2 scenario(s) and 3 -o" in three.output
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"name": "x", "changes": [{"kind": "suite_removed", "suite": "S9"}]}),
        encoding="utf-8",
    )
    refused = runner.invoke(
        app,
        [
            *("whatif", str(instance_file), *scenarios, "--scenario", str(bad)),
            *("-o", str(tmp_path / "out")),
        ],
    )
    assert refused.exit_code == 2 and f"{bad}" in refused.output
    assert "changes[0].suite" in refused.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "a.json").exists()
