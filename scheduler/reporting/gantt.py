"""Pictures of a plan: suite positions over time, operator load per shift, QC-lab load per day.

Three stacked panels sharing the time axis, in site local time:

(a) one row per suite position; each batch a bar coloured by its product (hatched when in
    progress), its changeover a lighter bar after it, suite downtime grey;
(b) per date and shift: hands-on hours assigned to operators against the hours rostered;
(c) per date: QC assay starts (all assays) against the lab's capacity.

`build_figure` draws them with plotly (`write_html`: interactive, self-contained, offline);
`build_png_figure` draws the same with matplotlib (Agg, no browser needed; `write_png`).
Both draw from the same `PlanPicture`, so the two pictures show the same bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import matplotlib.dates
import plotly.graph_objects as go
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from plotly.subplots import make_subplots

from models import Instance, Schedule
from scheduler.reporting.plan_facts import (
    Horizon,
    LabDay,
    Occupancy,
    ShiftLoad,
    downtimes,
    horizon_of,
    lab_days,
    occupancies,
    positions,
    shift_loads,
)

# Colour-blind-safe qualitative palette (Okabe-Ito); products take colours in instance order.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
CHANGEOVER_ALPHA = 0.35
DOWNTIME_COLOUR = "#9E9E9E"
ROSTERED_COLOUR = "#D6DCE4"
ASSIGNED_COLOUR = "#2F5597"
CAPACITY_COLOUR = "#E2D9C7"
STARTS_COLOUR = "#8C6D1F"
PANEL_TITLES = ("Suite positions", "Operator hands-on hours per shift", "QC assay starts per day")
Y_TITLES = ("Suite position", "Operator hours", "Assay starts")
CHANGEOVER = "changeover"
DOWNTIME = "downtime"
ROSTERED = "rostered hours"
ASSIGNED = "assigned hands-on hours"
CAPACITY = "QC capacity"
STARTS = "QC starts"
IN_PROGRESS_HATCH = "//"
MS_PER_HOUR = 3_600_000
# matplotlib.dates has no type hints on its locators and converters; use it untyped.
mdates: Any = matplotlib.dates


@dataclass(frozen=True)
class TimeBar:
    """A bar on a suite-position row from `start` to `end` (naive site wall-clock time)."""

    row: str
    start: datetime
    end: datetime
    colour: str
    label: str  # drawn on the bar
    hover: str
    in_progress: bool = False


@dataclass(frozen=True)
class LoadBar:
    """A load bar of panel (b) or (c): `used` against `capacity` over `[start, end)`."""

    start: datetime
    end: datetime
    used: float
    capacity: float
    hover: str


@dataclass(frozen=True)
class PlanPicture:
    """Everything drawn, computed once from the instance and schedule."""

    title: str
    timezone: str
    rows: list[str]  # suite positions, top to bottom
    batches: dict[str, list[TimeBar]]  # by product id, in instance order
    changeovers: list[TimeBar]
    downtime: list[TimeBar]
    shifts: list[LoadBar]
    lab: list[LoadBar]
    horizon_start: datetime
    horizon_end: datetime

    @property
    def colours(self) -> dict[str, str]:
        """Product colours in legend order."""
        return {product: bars[0].colour for product, bars in self.batches.items() if bars}


def row_label(suite: str, position: int) -> str:
    """A suite position's row label: `S01 / 2`."""
    return f"{suite} / {position}"


def _day(value: date) -> str:
    return f"{value:%a %Y-%m-%d}"


def _moment(value: datetime) -> str:
    return f"{value:%a %Y-%m-%d %H:%M}"


def _batch_hover(batch: Occupancy, horizon: Horizon) -> str:
    a = batch.assignment
    collected = (
        "in progress (collected before this plan)"
        if a.in_progress
        else _day(a.apheresis_date)
        if a.apheresis_date
        else "–"
    )
    return "<br>".join(
        [
            f"<b>{a.patient}</b> · {batch.product.id}"
            + (" · in progress" if a.in_progress else ""),
            f"{row_label(a.suite, a.position)}",
            f"apheresis: {collected}",
            f"start: {_moment(horizon.local(batch.start))}",
            f"end: {_moment(horizon.local(batch.end))}",
            f"release: {_day(a.release_date)}",
            f"delivery: {_day(a.delivery_date)}",
        ]
    )


def _batch_bars(
    instance: Instance, schedule: Schedule, horizon: Horizon
) -> tuple[dict[str, list[TimeBar]], list[TimeBar]]:
    colours = {p.id: PALETTE[n % len(PALETTE)] for n, p in enumerate(instance.products)}
    batches: dict[str, list[TimeBar]] = {p.id: [] for p in instance.products}
    changeovers = []
    for batch in occupancies(instance, schedule):
        a, colour = batch.assignment, colours[batch.product.id]
        row = row_label(a.suite, a.position)
        start, end, free_at = (
            horizon.local(batch.start),
            horizon.local(batch.end),
            horizon.local(batch.free_at),
        )
        hover = _batch_hover(batch, horizon)
        batches[batch.product.id].append(
            TimeBar(row, start, end, colour, a.patient, hover, a.in_progress)
        )
        if free_at > end:
            changeovers.append(
                TimeBar(
                    row,
                    end,
                    free_at,
                    colour,
                    "",
                    f"<b>changeover</b> after {a.patient}<br>{row}<br>{_moment(end)} – {_moment(free_at)}",
                )
            )
    return batches, changeovers


def _downtime_bars(instance: Instance, horizon: Horizon) -> list[TimeBar]:
    suites = instance.suite_by_id
    bars = []
    for period in downtimes(instance):
        start, end = horizon.local(period.start), horizon.local(period.end)
        for position in range(1, suites[period.suite].positions + 1):
            row = row_label(period.suite, position)
            hover = f"<b>{period.suite} closed</b>: {period.reason or 'unavailable'}<br>{_moment(start)} – {_moment(end)}"
            bars.append(TimeBar(row, start, end, DOWNTIME_COLOUR, "", hover))
    return bars


def _shift_bar(load: ShiftLoad, horizon: Horizon) -> LoadBar:
    start = horizon.local(load.start)
    end = start + timedelta(hours=load.shift.hours)
    steps = "<br>".join(load.steps) if load.steps else "no steps"
    hover = (
        f"<b>{_day(load.day)} shift {load.shift.id}</b><br>assigned {load.assigned_hours:g} h of "
        f"{load.rostered_hours:g} h rostered ({load.rostered_operators} operators)<br>{steps}"
    )
    return LoadBar(start, end, load.assigned_hours, load.rostered_hours, hover)


def _lab_bar(day: LabDay) -> LoadBar:
    start = datetime.combine(day.day, time(0, 0))
    detail = "<br>".join(
        f"{assay}: {count} of {day.capacity.get(assay, 0)}"
        for assay, count in sorted(day.starts.items())
    )
    hover = (
        f"<b>{_day(day.day)}</b><br>{day.total_starts} assay starts of {day.total_capacity} capacity"
        + (f"<br>{detail}" if detail else "")
    )
    return LoadBar(start, start + timedelta(days=1), day.total_starts, day.total_capacity, hover)


def plan_picture(instance: Instance, schedule: Schedule) -> PlanPicture:
    """What the three panels show, in site local time."""
    horizon = horizon_of(instance)
    batches, changeovers = _batch_bars(instance, schedule, horizon)
    return PlanPicture(
        title=f"{instance.name} — {schedule.status}, {sum(1 for a in schedule.assignments if not a.in_progress)} "
        f"patients scheduled, {len(schedule.unscheduled)} unscheduled",
        timezone=instance.site.timezone,
        rows=[row_label(suite, position) for suite, position in positions(instance)],
        batches=batches,
        changeovers=changeovers,
        downtime=_downtime_bars(instance, horizon),
        shifts=[_shift_bar(load, horizon) for load in shift_loads(instance, schedule)],
        lab=[_lab_bar(day) for day in lab_days(instance, schedule)],
        horizon_start=horizon.local(horizon.start),
        horizon_end=horizon.local(horizon.end),
    )


# ---------------------------------------------------------------- plotly (interactive HTML)


def _hours_ms(start: datetime, end: datetime) -> float:
    # Wall-clock width: the bar must end where the local end time is drawn, DST or not.
    return (end - start).total_seconds() * 1000


def _rgba(colour: str, alpha: float) -> str:
    red, green, blue, _ = to_rgba(colour)
    return f"rgba({round(255 * red)},{round(255 * green)},{round(255 * blue)},{alpha})"


def _time_bar_trace(name: str, bars: list[TimeBar], colours: list[str], **extra: Any) -> go.Bar:
    return go.Bar(
        name=name,
        orientation="h",
        y=[bar.row for bar in bars],
        base=[bar.start.isoformat() for bar in bars],
        x=[_hours_ms(bar.start, bar.end) for bar in bars],
        marker={"color": colours, "line": {"width": 0}},
        hovertext=[bar.hover for bar in bars],
        hoverinfo="text",
        **extra,
    )


def _suite_traces(picture: PlanPicture) -> list[go.Bar]:
    traces = []
    if picture.downtime:
        traces.append(
            _time_bar_trace(DOWNTIME, picture.downtime, [DOWNTIME_COLOUR] * len(picture.downtime))
        )
    if picture.changeovers:
        colours = [_rgba(bar.colour, CHANGEOVER_ALPHA) for bar in picture.changeovers]
        traces.append(_time_bar_trace(CHANGEOVER, picture.changeovers, colours))
    for product, bars in picture.batches.items():
        if not bars:
            continue
        trace = _time_bar_trace(
            product,
            bars,
            [bar.colour for bar in bars],
            text=[bar.label for bar in bars],
            textposition="inside",
            insidetextanchor="start",
            legendgroup=product,
        )
        # In-progress batches are hatched, as in the PNG.
        trace.marker.pattern = {
            "shape": ["/" if bar.in_progress else "" for bar in bars],
            "fgcolor": "white",
        }
        traces.append(trace)
    return traces


def _load_traces(
    bars: list[LoadBar], names: tuple[str, str], colours: tuple[str, str]
) -> list[go.Bar]:
    centres = [(bar.start + (bar.end - bar.start) / 2).isoformat() for bar in bars]
    widths = [0.9 * _hours_ms(bar.start, bar.end) for bar in bars]
    hover = [bar.hover for bar in bars]
    return [
        go.Bar(
            name=names[0],
            x=centres,
            y=[bar.capacity for bar in bars],
            width=widths,
            marker={"color": colours[0]},
            hovertext=hover,
            hoverinfo="text",
        ),
        go.Bar(
            name=names[1],
            x=centres,
            y=[bar.used for bar in bars],
            width=[0.6 * w for w in widths],
            marker={"color": colours[1]},
            hovertext=hover,
            hoverinfo="text",
        ),
    ]


def build_figure(instance: Instance, schedule: Schedule) -> go.Figure:
    """The plan as an interactive plotly figure of three stacked panels (site local time)."""
    picture = plan_picture(instance, schedule)
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.07,
        row_heights=[0.56, 0.22, 0.22],
        subplot_titles=PANEL_TITLES,
    )
    for trace in _suite_traces(picture):
        fig.add_trace(trace, row=1, col=1)
    for trace in _load_traces(
        picture.shifts, (ROSTERED, ASSIGNED), (ROSTERED_COLOUR, ASSIGNED_COLOUR)
    ):
        fig.add_trace(trace, row=2, col=1)
    for trace in _load_traces(picture.lab, (CAPACITY, STARTS), (CAPACITY_COLOUR, STARTS_COLOUR)):
        fig.add_trace(trace, row=3, col=1)
    for row, title in enumerate(Y_TITLES, start=1):
        fig.update_yaxes(title_text=title, row=row, col=1)
    fig.update_yaxes(
        categoryorder="array", categoryarray=picture.rows, autorange="reversed", row=1, col=1
    )
    fig.update_xaxes(type="date")
    fig.update_xaxes(title_text=f"Date ({picture.timezone})", row=3, col=1)
    for moment, name in (
        (picture.horizon_start, "horizon start"),
        (picture.horizon_end, "horizon end"),
    ):
        fig.add_vline(
            x=moment.isoformat(), line={"dash": "dot", "color": "#555", "width": 1}, name=name
        )
    fig.update_layout(
        title=picture.title,
        barmode="overlay",
        hovermode="closest",
        bargap=0.25,
        height=520 + 22 * len(picture.rows),
        legend={"title": {"text": "product / load"}},
        template="plotly_white",
    )
    return fig


def write_html(fig: go.Figure, path: str | Path) -> None:
    """Write a self-contained interactive HTML page (plotly.js inlined: works offline)."""
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)


# ---------------------------------------------------------------- matplotlib (static PNG)


def _num(moment: datetime) -> float:
    return float(mdates.date2num(moment))


def _days(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 86400


def _draw_time_bars(
    ax: Any, bars: list[TimeBar], rows: dict[str, int], label: str, colours: list[Any]
) -> Any:
    return ax.barh(
        [rows[bar.row] for bar in bars],
        [_days(bar.start, bar.end) for bar in bars],
        left=[_num(bar.start) for bar in bars],
        height=0.7,
        color=colours,
        label=label,
        linewidth=0,
    )


def _draw_suites(ax: Any, picture: PlanPicture) -> None:
    rows = {row: n for n, row in enumerate(picture.rows)}
    if picture.downtime:
        _draw_time_bars(
            ax, picture.downtime, rows, DOWNTIME, [DOWNTIME_COLOUR] * len(picture.downtime)
        )
    if picture.changeovers:
        colours = [to_rgba(bar.colour, CHANGEOVER_ALPHA) for bar in picture.changeovers]
        _draw_time_bars(ax, picture.changeovers, rows, CHANGEOVER, colours)
    labelled = (
        sum(len(bars) for bars in picture.batches.values()) <= 80
    )  # text only where it stays legible
    for product, bars in picture.batches.items():
        if not bars:
            continue
        container = _draw_time_bars(ax, bars, rows, product, [bar.colour for bar in bars])
        for patch, bar in zip(container.patches, bars, strict=True):
            if bar.in_progress:
                patch.set_hatch(IN_PROGRESS_HATCH)
                patch.set_edgecolor("white")
            if labelled:
                ax.text(
                    _num(bar.start),
                    rows[bar.row],
                    f" {bar.label}",
                    va="center",
                    ha="left",
                    fontsize=7,
                    color="white",
                    clip_on=True,
                )
    ax.set_yticks(
        range(len(picture.rows)), picture.rows, fontsize=7 if len(picture.rows) > 30 else 9
    )
    ax.set_ylim(len(picture.rows) - 0.5, -0.5)  # first position on top, as in the HTML
    handles, _ = ax.get_legend_handles_labels()
    handles.append(
        Patch(facecolor="#777777", edgecolor="white", hatch=IN_PROGRESS_HATCH, label="in progress")
    )
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False
    )


def _draw_load(
    ax: Any, bars: list[LoadBar], names: tuple[str, str], colours: tuple[str, str]
) -> None:
    centres = [_num(bar.start + (bar.end - bar.start) / 2) for bar in bars]
    widths = [0.9 * _days(bar.start, bar.end) for bar in bars]
    ax.bar(centres, [bar.capacity for bar in bars], width=widths, color=colours[0], label=names[0])
    ax.bar(
        centres,
        [bar.used for bar in bars],
        width=[0.6 * w for w in widths],
        color=colours[1],
        label=names[1],
    )
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)


def build_png_figure(instance: Instance, schedule: Schedule) -> Figure:
    """The plan as a matplotlib figure of the same three panels, ready to inspect or save."""
    picture = plan_picture(instance, schedule)
    suite_height = min(30.0, max(3.0, 0.22 * len(picture.rows)))
    fig = Figure(figsize=(16, suite_height + 6), layout="constrained")
    suites, shifts, lab = fig.subplots(3, 1, sharex=True, height_ratios=[suite_height, 3, 3])
    _draw_suites(suites, picture)
    _draw_load(shifts, picture.shifts, (ROSTERED, ASSIGNED), (ROSTERED_COLOUR, ASSIGNED_COLOUR))
    _draw_load(lab, picture.lab, (CAPACITY, STARTS), (CAPACITY_COLOUR, STARTS_COLOUR))
    for ax, title, y_title in zip((suites, shifts, lab), PANEL_TITLES, Y_TITLES, strict=True):
        ax.set_title(title, loc="left", fontsize=11)
        ax.set_ylabel(y_title)
        ax.grid(axis="x", color="#E5E5E5", linewidth=0.6)
        ax.set_axisbelow(True)
        for moment in (picture.horizon_start, picture.horizon_end):
            ax.axvline(_num(moment), color="#555555", linestyle=":", linewidth=1)
    lab.set_xlabel(f"Date ({picture.timezone})")
    # Mondays as major ticks: coordinators plan by the week; every day a minor tick.
    lab.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO))
    lab.xaxis.set_minor_locator(mdates.DayLocator())
    lab.xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b"))
    fig.suptitle(picture.title)
    return fig


def write_png(instance: Instance, schedule: Schedule, path: str | Path) -> None:
    """Write the plan as a static PNG (matplotlib, Agg: nothing to download, no browser)."""
    build_png_figure(instance, schedule).savefig(str(path), format="png", dpi=100)
