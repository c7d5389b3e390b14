"""A self-contained HTML page of a simulation report: plotly.js is embedded from the installed
plotly package (no CDN), so the file opens offline."""

from __future__ import annotations

import html
from typing import Any

# What the histograms show: (title, per-run measure or pooled list, pooled?)
PANELS: tuple[tuple[str, str, bool], ...] = (
    ("Treated weight per run", "treated_weight", False),
    ("Patients late or untreated per run", "late_or_untreated", False),
    ("Rescue delay per rescued patient (days, failure to delivery)", "rescue_delay_days", True),
    ("Communicated collection dates moved per run", "date_changes", False),
    ("Vein-to-vein days per treated patient", "vein_to_vein_days", True),
)
COLOURS = {"policy": "#1f77b4", "do_nothing": "#d62728", "clairvoyant": "#2ca02c"}


def _values(report: dict[str, Any], variant: str, name: str, pooled: bool) -> list[float]:
    values: list[float] = []
    for run in report["runs"]:
        if variant not in run:
            continue
        found = run[variant].get(name)
        if pooled:
            values += [float(v) for v in found or []]
        elif found is not None:
            values.append(float(found))
    return values


def _table(report: dict[str, Any]) -> str:
    variants = list(report["summary"])
    rows = []
    for measure in report["summary"][variants[0]]:
        cells = []
        for variant in variants:
            s = report["summary"][variant][measure]
            if s["mean"] is None:
                cells.append("<td>-</td>")
            else:
                low, high = s["ci95"]
                cells.append(f"<td>{s['mean']:.3g} <small>[{low:.3g}, {high:.3g}]</small></td>")
        rows.append(f"<tr><th>{html.escape(measure)}</th>{''.join(cells)}</tr>")
    head = "".join(f"<th>{html.escape(v)}</th>" for v in variants)
    return f"<table><tr><th>measure (mean [95 % CI])</th>{head}</tr>{''.join(rows)}</table>"


def report_html(report: dict[str, Any]) -> str:
    """The page: settings, the summary table, the checks and one histogram per measure."""
    from plotly.subplots import make_subplots

    variants = list(report["summary"])
    figure = make_subplots(
        rows=len(PANELS), cols=1, subplot_titles=[title for title, _, _ in PANELS]
    )
    for row, (_, name, pooled) in enumerate(PANELS, start=1):
        for variant in variants:
            figure.add_histogram(
                x=_values(report, variant, name, pooled),
                name=variant,
                legendgroup=variant,
                showlegend=row == 1,
                marker_color=COLOURS.get(variant),
                opacity=0.6,
                row=row,
                col=1,
            )
    figure.update_layout(barmode="overlay", height=330 * len(PANELS), template="plotly_white")
    plots = figure.to_html(include_plotlyjs=True, full_html=False)
    config = report["config"]
    checks = report["checks"]
    title = f"Simulation of {report['instance']}: {config['runs']} runs, policy {config['policy']}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}} th:first-child{{text-align:left}}</style>
</head><body>
<h1>{html.escape(title)}</h1>
<p>seed {config["seed"]}, re-solve time limit {config["time_limit"]} s,
clairvoyant time limit {config["clairvoyant_time_limit"]} s.
Plans validated: {checks["plans_validated"]}, invalid: {len(checks["invalid_plans"])};
clairvoyant solves at their time limit: {len(checks.get("clairvoyant_time_limited_runs", []))}.</p>
{_table(report)}
{plots}
</body></html>
"""
