"""`cart-schedule simulate`: how a plan holds up when batches fail and patients drop out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import check_writable, fail, load_pair, out

RATE_HELP = "(default: the product's own field, else docs/SIMULATION.md)"


def simulate(
    instance_file: Annotated[
        Path, typer.Argument(metavar="INSTANCE.json", help="The plan's instance.")
    ],
    schedule_file: Annotated[
        Path, typer.Argument(metavar="SCHEDULE.json", help="The plan to simulate.")
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="REPORT.json", help="Where to write the report."),
    ],
    runs: Annotated[int, typer.Option("--runs", min=1, help="Independent runs.")] = 100,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
    html_file: Annotated[
        Path | None,
        typer.Option("--html", metavar="REPORT.html", help="Also write a self-contained page."),
    ] = None,
    policy: Annotated[
        str, typer.Option("--policy", help="How the plan reacts: repair or replan.")
    ] = "repair",
    failure_rate: Annotated[
        float | None,
        typer.Option("--failure-rate", min=0, max=1, help=f"Per batch: no product {RATE_HELP}."),
    ] = None,
    out_of_spec_rate: Annotated[
        float | None,
        typer.Option(
            "--out-of-spec-rate", min=0, max=1, help=f"Per batch: out of specification {RATE_HELP}."
        ),
    ] = None,
    dropout_rate: Annotated[
        float | None,
        typer.Option(
            "--dropout-rate", min=0, max=1, help=f"Per patient: never infused {RATE_HELP}."
        ),
    ] = None,
    suite_down_rate: Annotated[
        float,
        typer.Option("--suite-down-rate", min=0, max=1, help="Per suite and week: a closure."),
    ] = 0.01,
    operator_absence_rate: Annotated[
        float,
        typer.Option(
            "--operator-absence-rate", min=0, max=1, help="Per operator and week: an absence."
        ),
    ] = 0.05,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.001, help="Seconds per re-solve.")
    ] = 5.0,
    clairvoyant_time_limit: Annotated[
        float,
        typer.Option(
            "--clairvoyant-time-limit", min=0.001, help="Seconds of the clairvoyant solve."
        ),
    ] = 10.0,
    no_clairvoyant: Annotated[
        bool, typer.Option("--no-clairvoyant", help="Skip the clairvoyant reference.")
    ] = False,
    processes: Annotated[
        int, typer.Option("--processes", min=1, help="Local processes playing runs.")
    ] = 1,
    broker: Annotated[
        str | None,
        typer.Option(
            "--broker",
            envvar="CART_BROKER_URL",
            help="Play the runs on the Celery workers of this broker (`cart-schedule worker`).",
            show_default=False,
        ),
    ] = None,
    queue: Annotated[
        str,
        typer.Option(
            "--queue",
            envvar="CART_SCHEDULER_SOLVE_QUEUE",
            help="The broker queue the workers take work from.",
        ),
    ] = "cart-plans",
    chunks: Annotated[
        int, typer.Option("--chunks", min=1, help="With --broker: tasks the runs are cut into.")
    ] = 8,
) -> None:
    """Simulate disruptions over the plan's horizon: the policy beside doing nothing and clairvoyant."""
    from scheduler.workflows.simulate import POLICIES, Rates, SimulationConfig
    from scheduler.workflows.simulate import simulate as run_simulation

    if policy not in POLICIES:
        fail(f"--policy {policy!r}: choose one of {', '.join(POLICIES)}")
    instance, schedule = load_pair(instance_file, schedule_file)
    if schedule.status not in ("OPTIMAL", "FEASIBLE"):
        fail(f"{schedule_file} has no plan to simulate (status {schedule.status})")
    check_writable(output)
    if html_file is not None:
        check_writable(html_file)
    config = SimulationConfig(
        runs=runs,
        seed=seed,
        policy=policy,
        rates=Rates(
            failure_rate=failure_rate,
            out_of_spec_rate=out_of_spec_rate,
            dropout_rate=dropout_rate,
            suite_down_rate=suite_down_rate,
            operator_absence_rate=operator_absence_rate,
        ),
        time_limit=time_limit,
        clairvoyant_time_limit=clairvoyant_time_limit,
        references=("do_nothing",) if no_clairvoyant else ("do_nothing", "clairvoyant"),
    )
    if broker:
        from api.solving.simfanout import celery_mapper

        try:
            report = run_simulation(
                instance, schedule, config, mapper=celery_mapper(broker, queue, chunks)
            )
        except Exception as error:  # the broker unreachable, no worker in time, a failed run
            fail(
                f"the workers of {queue} did not play the runs: {type(error).__name__}: {error}", 1
            )
    else:
        report = run_simulation(instance, schedule, config, processes=processes)
    output.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    if html_file is not None:
        from scheduler.workflows.simulate.html import report_html

        html_file.write_text(report_html(report), encoding="utf-8")
    console = out()
    table = Table(title=f"{runs} runs, policy {policy}", title_justify="left")
    variants = list(report["summary"])
    table.add_column("mean [95 % CI]")
    for variant in variants:
        table.add_column(variant, justify="right")
    for measure in (
        "treated_weight",
        "late_or_untreated",
        "rescue_delay_days_mean",
        "date_changes",
    ):
        cells = []
        for variant in variants:
            s = report["summary"][variant][measure]
            cells.append(
                "-"
                if s["mean"] is None
                else f"{s['mean']:.2f} [{s['ci95'][0]:.2f}, {s['ci95'][1]:.2f}]"
            )
        table.add_row(measure, *cells)
    console.print(table)
    checks = report["checks"]
    console.print(
        f"plans validated: {checks['plans_validated']}, invalid: {len(checks['invalid_plans'])}; "
        f"{report['timing']['seconds']:.1f} s",
        markup=False,
    )
    written = f"wrote {output}" + (f" and {html_file}" if html_file is not None else "")
    console.print(written, markup=False)
    if checks["invalid_plans"]:
        fail(f"{len(checks['invalid_plans'])} final plans break the rules: see {output}", 1)
