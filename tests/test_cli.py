"""The `cart-schedule` command line: exit codes, messages and files."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from models import load_instance
from tests.helpers import EXAMPLE_INSTANCE, EXAMPLE_SCHEDULE, TINY, validated_files

RULE_LINE = re.compile(r"^C(?:[1-9]|1[01])\b.*: ")

runner = CliRunner()


def run(*args: str | Path) -> Any:
    return runner.invoke(app, [str(arg) for arg in args])


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


COMMANDS = (
    "solve",
    "validate",
    "generate",
    "schema",
    "import",
    "template",
    "export-instance",
    "export",
    "gantt",
    "replan",
    "analyze",
    "suggest",
    "whatif",
    "simulate",
    "serve",
    "worker",
    "keys",
    "audit",
)


def listed_commands(help_text: str) -> list[str]:
    """The command names in the first column of the help's command table."""
    return re.findall(r"^│ ([a-z][a-z-]*) ", help_text, flags=re.MULTILINE)


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.exit_code == 0, result.output
    assert listed_commands(result.stdout) == list(COMMANDS)


def test_module_entry_point_lists_every_command() -> None:
    """`python -m cli --help` lists every command; `explain`, the old name of `suggest`, is hidden."""
    completed = subprocess.run(
        [sys.executable, "-m", "cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "100"},
    )
    assert completed.returncode == 0, completed.stderr
    assert listed_commands(completed.stdout) == list(COMMANDS)
    assert "explain" not in listed_commands(completed.stdout)


# --- schema ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "field"), [("instance", "patients"), ("schedule", "assignments")])
def test_schema_prints_a_json_schema(kind: str, field: str) -> None:
    result = run("schema", kind)
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert "properties" in schema
    assert field in schema["properties"]
    assert schema["$schema"].startswith("https://json-schema.org/")


def test_schema_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "instance.schema.json"
    result = run("schema", "instance", "-o", target)
    assert result.exit_code == 0, result.output
    assert "properties" in read(target)


def test_schema_rejects_an_unknown_kind() -> None:
    result = run("schema", "roster")
    assert result.exit_code == 2


# --- validate -------------------------------------------------------------------------------


def test_validate_accepts_the_example_schedule() -> None:
    result = run("validate", EXAMPLE_INSTANCE, EXAMPLE_SCHEDULE)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("valid: 7 assignments, 2 unscheduled")
    assert "scheduled_weight 9" in result.stdout


def test_validate_reports_violations_with_rule_ids(tmp_path: Path) -> None:
    schedule = read(EXAMPLE_SCHEDULE)
    new_patient = next(a for a in schedule["assignments"] if not a["in_progress"])
    new_patient["position"] = 99  # C5: no such position in the suite
    schedule["unscheduled"].pop(0)  # C1: a patient is neither assigned nor unscheduled
    broken = write(tmp_path / "broken.schedule.json", schedule)

    result = run("validate", EXAMPLE_INSTANCE, broken)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines, result.output
    for line in lines:
        assert RULE_LINE.match(line), line
    rules = {line.split(":")[0].split()[0] for line in lines}
    assert {"C1", "C5"} <= rules


def test_validate_rejects_a_schedule_that_is_not_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.schedule.json"
    bad.write_text("{not json", encoding="utf-8")
    result = run("validate", EXAMPLE_INSTANCE, bad)
    assert result.exit_code == 2
    assert "not valid JSON" in result.output


def test_validate_rejects_a_schedule_of_the_wrong_format(tmp_path: Path) -> None:
    schedule = read(EXAMPLE_SCHEDULE)
    schedule["status"] = "GREAT"
    del schedule["solve_seconds"]
    result = run("validate", EXAMPLE_INSTANCE, write(tmp_path / "s.json", schedule))
    assert result.exit_code == 2
    assert "status" in result.output
    assert "solve_seconds" in result.output


def test_validate_rejects_a_missing_instance_file(tmp_path: Path) -> None:
    result = run("validate", tmp_path / "nowhere.json", EXAMPLE_SCHEDULE)
    assert result.exit_code == 2
    assert "cannot read file" in result.output


# --- solve: bad input -----------------------------------------------------------------------


def test_solve_lists_every_format_problem_and_writes_nothing(tmp_path: Path) -> None:
    instance = read(EXAMPLE_INSTANCE)
    instance["horizon"]["start"] = "2027-02-30"
    instance["products"][0]["manufacturing_hours"] = -5
    instance["patients"][1]["apheresis_window"]["earliest"] = "next week"
    broken = write(tmp_path / "broken.json", instance)
    target = tmp_path / "out.schedule.json"

    result = run("solve", broken, "-o", target)
    assert result.exit_code == 2, result.output
    assert "3 problems" in result.output
    for path in (
        "horizon.start:",
        "products[0].manufacturing_hours:",
        "patients[1].apheresis_window.earliest:",
    ):
        assert path in result.output
    assert not target.exists()


def test_solve_lists_every_reference_problem_and_writes_nothing(tmp_path: Path) -> None:
    instance = read(EXAMPLE_INSTANCE)
    instance["patients"][2]["hospital"] = "H99"
    instance["patients"][0]["apheresis_window"]["earliest"] = "2027-05-30"
    instance["patients"][3]["id"] = instance["patients"][4]["id"]
    broken = write(tmp_path / "broken.json", instance)
    target = tmp_path / "out.schedule.json"

    result = run("solve", broken, "-o", target)
    assert result.exit_code == 2, result.output
    assert "patients[2].hospital: unknown hospital 'H99'" in result.output
    assert "patients[0].apheresis_window: earliest 2027-05-30 is after latest" in result.output
    assert "patients[3].id:" in result.output
    assert not target.exists()


def test_solve_refuses_an_output_folder_that_does_not_exist(tmp_path: Path) -> None:
    result = run("solve", EXAMPLE_INSTANCE, "-o", tmp_path / "missing" / "out.json")
    assert result.exit_code == 2
    assert "does not exist" in result.output


# --- solve: success -------------------------------------------------------------------------


def test_solve_example_writes_a_valid_schedule(tmp_path: Path) -> None:
    target = tmp_path / "example.schedule.json"
    result = run("solve", EXAMPLE_INSTANCE, "-o", target, "--time-limit", "20", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert target.exists()

    _, schedule = validated_files(EXAMPLE_INSTANCE, target)
    assert schedule.status in ("OPTIMAL", "FEASIBLE")
    # the summary is printed although stdout is not a terminal
    assert schedule.status in result.stdout
    for measure in ("scheduled_weight", "plan_changes", "wait_days", "solve seconds"):
        assert measure in result.stdout
    # at least as good as the first-come-first-served example schedule
    assert schedule.objective is not None
    assert schedule.objective.scheduled_weight >= 9

    checked = run("validate", EXAMPLE_INSTANCE, target)
    assert checked.exit_code == 0, checked.output


# --- generate -------------------------------------------------------------------------------


def test_generate_writes_a_loadable_instance(tmp_path: Path) -> None:
    target = tmp_path / "xs-1.json"
    result = run("generate", "--size", "xs", "--seed", "1", "-o", target)
    assert result.exit_code == 0, result.output
    instance = load_instance(target)
    assert len(instance.patients) == 6
    assert instance.horizon.days == 35


def test_generate_is_reproducible(tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert run("generate", "--size", "xs", "--seed", "7", "-o", first).exit_code == 0
    assert run("generate", "--size", "xs", "--seed", "7", "-o", second).exit_code == 0
    assert first.read_text() == second.read_text()


def test_generate_rejects_an_unknown_size(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    result = run("generate", "--size", "xxl", "--seed", "1", "-o", target)
    assert result.exit_code == 2
    assert "unknown size" in result.output
    assert not target.exists()


def test_solve_summary_shows_the_plans_kpis(tmp_path: Path) -> None:
    """After a solve the coordinator sees utilisation, loads and time to delivery, not only the objective."""
    result = run(
        "solve", TINY / "chair-capacity.json", "-o", tmp_path / "plan.json", "--time-limit", "10"
    )
    assert result.exit_code == 0, result.output
    validated_files(TINY / "chair-capacity.json", tmp_path / "plan.json")
    assert "KPIs" in result.output
    assert "Suite position utilisation" in result.output and "Ready to delivery" in result.output
    assert "Unscheduled by main rule" in result.output and "C2: 1" in result.output


def test_suggest_names_changes_to_make_together_and_says_when_nothing_is_within_reach(
    tmp_path: Path,
) -> None:
    """two-changes: P1 needs a chair and an operator at once (tests/test_suggest.py); locked: P2 is
    locked to a date its hospital is closed, which no change of chairs, staff or windows can help."""
    from openpyxl import load_workbook

    result = run(
        "solve",
        TINY / "two-changes.json",
        "-o",
        tmp_path / "two.json",
        "--time-limit",
        "10",
        "--suggest",
    )
    assert result.exit_code == 0, result.output
    validated_files(TINY / "two-changes.json", tmp_path / "two.json")
    assert (
        "  C2+C6: one more apheresis chair at H1 (Tiny Hospital) on Tue 2027-01-05 (it has 1, all taken) and one "
        "more aseptic operator on Wed 2027-01-06 shift D (e.g. roster OP1) (fits the plan as it is, nobody moves)"
    ) in result.output.splitlines()
    assert (
        run(
            "solve", TINY / "locked.json", "-o", tmp_path / "locked.json", "--time-limit", "10"
        ).exit_code
        == 0
    )
    validated_files(TINY / "locked.json", tmp_path / "locked.json")
    suggested = run("suggest", TINY / "locked.json", tmp_path / "locked.json", "--time-limit", "3")
    assert suggested.exit_code == 0, suggested.output
    assert suggested.output.startswith(
        "P2: nothing within reach: locked to collect on Wed 2027-01-06"
    )
    assert "C2 apheresis: H1 (Tiny Hospital) is closed on Wed 2027-01-06" in suggested.output
    workbook = tmp_path / "locked.xlsx"
    exported = run(
        "export",
        tmp_path / "locked.json",
        "--instance",
        TINY / "locked.json",
        "-o",
        workbook,
        "--suggest",
    )
    assert exported.exit_code == 0, exported.output
    rows = list(load_workbook(workbook)["suggestions"].iter_rows(values_only=True))
    assert rows[0] == ("patient", "rank", "rule", "change", "verified_by")
    assert rows[1][0] == "P2" and str(rows[1][3]).startswith("nothing within reach: ")


def test_explain_is_the_old_name_of_suggest_with_the_same_output(tmp_path: Path) -> None:
    """`explain` and `--explain` still work, and print (or write) exactly what `suggest` and
    `--suggest` do."""
    from openpyxl import load_workbook

    instance = TINY / "two-changes.json"
    schedule = tmp_path / "two.json"

    def solved(flag: str) -> list[str]:
        result = run(
            "solve", instance, "-o", schedule, "--time-limit", "10", "--workers", "1", flag
        )
        assert result.exit_code == 0, result.output
        validated_files(instance, schedule)
        # the solve time is the one line that differs from run to run
        return [line for line in result.stdout.splitlines() if "solve seconds" not in line]

    with_suggest, with_explain = solved("--suggest"), solved("--explain")
    assert with_suggest == with_explain
    assert any(line.startswith("  C2+C6: ") for line in with_suggest)

    suggested = run("suggest", instance, schedule, "-p", "P1", "--time-limit", "3")
    explained = run("explain", instance, schedule, "-p", "P1", "--time-limit", "3")
    assert suggested.exit_code == explained.exit_code == 0, suggested.output + explained.output
    assert suggested.stdout == explained.stdout
    assert suggested.stdout.startswith("P1")

    sheets = []
    for flag in ("--suggest", "--explain"):
        workbook = tmp_path / f"plan{flag}.xlsx"
        exported = run("export", schedule, "--instance", instance, "-o", workbook, flag)
        assert exported.exit_code == 0, exported.output
        sheets.append(list(load_workbook(workbook)["suggestions"].iter_rows(values_only=True)))
    assert sheets[0] == sheets[1]
    assert len(sheets[0]) > 1 and sheets[0][1][0] == "P1"

    wrong = run("explain", instance, schedule, "-p", "P9")
    assert wrong.exit_code == run("suggest", instance, schedule, "-p", "P9").exit_code == 2


def test_gantt_draws_html_and_png_and_refuses_other_formats(tmp_path: Path) -> None:
    """`cart-schedule gantt` writes a self-contained HTML page or a PNG of the SPEC example plan."""
    html, png = tmp_path / "plan.html", tmp_path / "plan.png"
    assert run("gantt", EXAMPLE_SCHEDULE, "--instance", EXAMPLE_INSTANCE, "-o", html).exit_code == 0
    assert "plotly" in html.read_text(encoding="utf-8").lower()
    assert run("gantt", EXAMPLE_SCHEDULE, "--instance", EXAMPLE_INSTANCE, "-o", png).exit_code == 0
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    svg = run(
        "gantt", EXAMPLE_SCHEDULE, "--instance", EXAMPLE_INSTANCE, "-o", tmp_path / "plan.svg"
    )
    assert svg.exit_code == 2 and ".html" in svg.output
    assert not (tmp_path / "plan.svg").exists()


def test_whatif_solves_the_changed_plan_and_compares_it(tmp_path: Path) -> None:
    """Two patients share one suite position in tiny-suite-changeover; one more suite shortens their wait."""
    scenario = write(
        tmp_path / "scenario.json",
        {
            "name": "one more suite",
            "changes": [{"kind": "suite_added", "type": "isolator", "positions": 2}],
        },
    )
    result = run(
        "whatif",
        TINY / "suite-changeover.json",
        "--scenario",
        scenario,
        "-o",
        tmp_path / "what.json",
        "--time-limit",
        "10",
    )
    assert result.exit_code == 0, result.output
    assert "what if: one more suite" in result.output and "wait_days" in result.output
    changed, _ = validated_files(tmp_path / "what.instance.json", tmp_path / "what.json")
    assert any(suite.id == "WHATIF-S1" for suite in changed.suites)
    bad = write(
        tmp_path / "bad.json", {"name": "x", "changes": [{"kind": "suite_removed", "suite": "S9"}]}
    )
    refused = run(
        "whatif",
        TINY / "suite-changeover.json",
        "--scenario",
        bad,
        "-o",
        tmp_path / "x.json",
    )
    assert refused.exit_code == 2 and "changes[0].suite" in refused.output


def test_whatif_checks_the_scenario_before_the_plan_it_compares_with(tmp_path: Path) -> None:
    """A bad scenario is reported first; then a --schedule of another instance or a broken one
    exits 2 naming the file, before any solve."""
    instance = TINY / "suite-changeover.json"
    good = write(
        tmp_path / "good.json",
        {"name": "x", "changes": [{"kind": "suite_added", "type": "isolator", "positions": 2}]},
    )
    bad = write(
        tmp_path / "bad.json", {"name": "x", "changes": [{"kind": "suite_removed", "suite": "S9"}]}
    )
    broken = tmp_path / "broken.json"
    broken.write_text('{"not": json', encoding="utf-8")

    def whatif(scenario: Path, schedule: Path) -> Any:
        return run(
            "whatif",
            instance,
            "--scenario",
            scenario,
            "--schedule",
            schedule,
            "-o",
            tmp_path / "w.json",
        )

    first = whatif(bad, EXAMPLE_SCHEDULE)
    assert first.exit_code == 2 and "changes[0].suite" in first.output
    other = whatif(good, EXAMPLE_SCHEDULE)
    assert other.exit_code == 2
    assert f"{EXAMPLE_SCHEDULE} plans instance 'example-xs', not 'tiny-suite-changeover'" in (
        other.output
    )
    unreadable = whatif(good, broken)
    assert unreadable.exit_code == 2 and f"error: {broken}: 1 problem" in unreadable.output
    assert not (tmp_path / "w.json").exists()
