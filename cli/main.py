"""The `cart-schedule` command line: a thin shell over models, the solver, the validator, the
instance generator and the service. It reads files, calls one function, prints and picks the
exit code; every rule of the domain lives elsewhere. The commands live in `cli.plan`,
`cli.workbook`, `cli.instances`, `cli.service` and `cli.worker`; this module lists them in help order.

Exit codes (the contract other tools and tests rely on):

- 0: done (a schedule written with status OPTIMAL or FEASIBLE; a valid schedule; a file written)
- 1: `validate` found violations (or the generator produced an instance that fails its checks);
  `audit verify` found a broken link or hash in the audit trail
- 2: bad input: a file that cannot be read or breaks its format, listed problem by problem
- 3: `solve` ended INFEASIBLE or UNKNOWN (the schedule file is still written)
"""

from __future__ import annotations

import typer

from cli import instances, plan, service, simulate, workbook, worker

app = typer.Typer(
    name="cart-schedule",
    help="Plan CAR-T manufacturing slots: solve, validate and generate SPEC v1 instances.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

app.command()(plan.solve)
app.command()(plan.validate)
app.command()(instances.generate)
app.command()(instances.schema)
app.command("import")(workbook.import_workbook)
app.command()(workbook.template)
app.command("export-instance")(workbook.export_instance)
app.command()(workbook.export)
app.command()(workbook.gantt)
app.command()(plan.replan)
app.command()(plan.analyze)
app.command()(plan.suggest)
# `explain` was the name of `suggest` before `explain` came to mean "why a patient is out".
app.command("explain", hidden=True)(plan.suggest)
app.command()(plan.whatif)
app.command()(simulate.simulate)
app.command()(service.serve)
app.command()(worker.worker)
app.add_typer(service.keys, name="keys")
app.add_typer(service.audit, name="audit")


def main() -> None:
    """Entry point of the `cart-schedule` console script."""
    app()


if __name__ == "__main__":
    main()
