"""Pictures of a plan, checked by content: traces, bars, hover texts, labels.

The plans are in tests/plan_examples.py. `ward_week` has 3 assignments (IP1 in progress on
S1/2, P1 on S1/1, P2 on S2/1), S1 (2 positions) closed twice and S2 (1 position) once:
2 × 2 + 1 = 5 downtime bars.
"""

from __future__ import annotations

import struct
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from models import load_schedule
from scheduler.reporting.gantt import (
    ASSIGNED,
    CAPACITY,
    CHANGEOVER,
    DOWNTIME,
    ROSTERED,
    STARTS,
    build_figure,
    build_png_figure,
    write_html,
    write_png,
)
from tests.helpers import load_tiny
from tests.plan_examples import one_batch_two_positions, schedule_doc, ward_week

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MS_PER_HOUR = 3_600_000


def traces(fig, name):
    return [trace for trace in fig.data if trace.name == name]


def only(fig, name):
    found = traces(fig, name)
    assert len(found) == 1, [t.name for t in fig.data]
    return found[0]


def test_one_bar_per_assignment_in_one_trace_per_product() -> None:
    instance, schedule = ward_week()
    fig = build_figure(instance, schedule)
    product = only(fig, "tiny-cel")
    assert len(product.x) == len(schedule.assignments) == 3
    assert product.orientation == "h"
    assert list(product.text) == ["IP1", "P1", "P2"]  # start order
    assert list(product.y) == ["S1 / 2", "S1 / 1", "S2 / 1"]
    assert product.showlegend is not False
    names = [trace.name for trace in fig.data]
    assert names.count("tiny-cel") == 1  # one legend entry per product


def test_hover_shows_patient_and_dates_in_site_time() -> None:
    instance, schedule = ward_week()
    hover = list(only(build_figure(instance, schedule), "tiny-cel").hovertext)
    p2 = next(text for text in hover if "<b>P2</b>" in text)
    for part in (
        "apheresis: Tue 2027-01-05",
        "start: Thu 2027-01-07 08:00",
        "end: Sat 2027-01-09 08:00",
        "release: Fri 2027-01-15",
        "delivery: Sat 2027-01-16",
        "S2 / 1",
    ):
        assert part in p2, (part, p2)
    ip1 = next(text for text in hover if "<b>IP1</b>" in text)
    assert "in progress" in ip1


def test_in_progress_batches_are_hatched() -> None:
    instance, schedule = ward_week()
    product = only(build_figure(instance, schedule), "tiny-cel")
    assert list(product.marker.pattern.shape) == ["/", "", ""]


def test_bars_start_and_end_at_local_wall_clock_time() -> None:
    instance, schedule = ward_week()
    product = only(build_figure(instance, schedule), "tiny-cel")
    p1 = list(product.text).index("P1")
    assert product.base[p1] == "2027-01-06T08:00:00"
    assert product.x[p1] == 48 * MS_PER_HOUR


def test_a_batch_across_spring_forward_ends_where_the_local_clock_says() -> None:
    """dst-week: 48 real hours from Sat 2027-03-27 12:30 (+01:00) end Mon 03-29 13:30 (+02:00):
    the bar spans 49 wall-clock hours so that its end is drawn at 13:30."""
    instance = load_tiny("dst-week")
    doc = schedule_doc(
        instance.name,
        [
            {
                "patient": "P1",
                "in_progress": False,
                "apheresis_date": "2027-03-26",
                "suite": "S1",
                "position": 1,
                "manufacturing_start": "2027-03-27T12:30:00+01:00",
                "manufacturing_end": "2027-03-29T13:30:00+02:00",
                "steps": [],
                "qc": [],
                "release_date": "2027-04-02",
                "delivery_date": "2027-04-03",
            }
        ],
        [],
    )
    product = only(build_figure(instance, load_schedule(doc)), "tiny-cel")
    start = datetime.fromisoformat(product.base[0])
    assert start == datetime(2027, 3, 27, 12, 30)
    assert start + timedelta(milliseconds=product.x[0]) == datetime(2027, 3, 29, 13, 30)


def test_changeover_is_a_lighter_bar_after_each_batch() -> None:
    instance, schedule = ward_week()
    changeover = only(build_figure(instance, schedule), CHANGEOVER)
    assert len(changeover.x) == 3
    assert all(width == 24 * MS_PER_HOUR for width in changeover.x)
    assert all(
        colour.startswith("rgba(") and colour.endswith(",0.35)")
        for colour in changeover.marker.color
    )
    assert "2027-01-08T08:00:00" in list(changeover.base)  # after P1's end


def test_downtime_is_shaded_on_every_position_of_the_suite() -> None:
    instance, schedule = ward_week()
    downtime = only(build_figure(instance, schedule), DOWNTIME)
    assert len(downtime.x) == 5
    assert sorted(downtime.y) == ["S1 / 1", "S1 / 1", "S1 / 2", "S1 / 2", "S2 / 1"]
    assert any("requalification" in text for text in downtime.hovertext)


def test_no_downtime_trace_without_downtime() -> None:
    instance, schedule = one_batch_two_positions()
    fig = build_figure(instance, schedule)
    assert traces(fig, DOWNTIME) == []
    # Both positions are rows, even the empty one.
    assert list(fig.layout.yaxis.categoryarray) == ["S1 / 1", "S1 / 2"]


def test_operator_panel_shows_assigned_against_rostered_hours_per_shift() -> None:
    """21 D shifts: OP1 every date, OP2 on the first 10: 248 h rostered; 2 × 4 h × 2 operators assigned."""
    instance, schedule = ward_week()
    fig = build_figure(instance, schedule)
    rostered, assigned = only(fig, ROSTERED), only(fig, ASSIGNED)
    assert len(rostered.x) == len(assigned.x) == 21
    assert sum(rostered.y) == 248
    assert sum(assigned.y) == 16
    assert rostered.xaxis == assigned.xaxis == "x2"
    busy = next(text for text, hours in zip(assigned.hovertext, assigned.y, strict=True) if hours)
    assert "P1 activation" in busy and "shift D" in busy


def test_qc_panel_shows_starts_against_capacity_per_day() -> None:
    """Capacity 2 on the 14 open weekdays; P1 and P2 start inside the horizon, IP1 before it."""
    instance, schedule = ward_week()
    fig = build_figure(instance, schedule)
    capacity, starts = only(fig, CAPACITY), only(fig, STARTS)
    assert len(capacity.x) == 21
    assert sum(capacity.y) == 28
    assert sum(starts.y) == 2
    assert capacity.xaxis == "x3"


def test_axis_titles_and_panel_titles() -> None:
    instance, schedule = ward_week()
    layout = build_figure(instance, schedule).layout
    assert layout.yaxis.title.text == "Suite position"
    assert layout.yaxis2.title.text == "Operator hours"
    assert layout.yaxis3.title.text == "Assay starts"
    assert layout.xaxis3.title.text == "Date (Europe/Brussels)"
    titles = [annotation.text for annotation in layout.annotations]
    assert titles[:3] == [
        "Suite positions",
        "Operator hands-on hours per shift",
        "QC assay starts per day",
    ]
    assert "kpi-ward-week" in layout.title.text


def test_an_empty_plan_still_draws() -> None:
    instance = load_tiny("suite-downtime")
    schedule = load_schedule(schedule_doc(instance.name, [], []) | {"status": "UNKNOWN"})
    fig = build_figure(instance, schedule)
    assert traces(fig, "tiny-cel") == []
    assert len(only(fig, DOWNTIME).x) == 2
    assert build_png_figure(instance, schedule).axes[0].get_ylabel() == "Suite position"


def test_html_is_self_contained(tmp_path: Path) -> None:
    instance, schedule = ward_week()
    path = tmp_path / "plan.html"
    write_html(build_figure(instance, schedule), path)
    html = path.read_text(encoding="utf-8")
    assert len(html) > 1_000_000  # plotly.js is inlined
    assert 'src="https://cdn.plot.ly' not in html
    assert "P2" in html and "Suite position" in html


# ---------------------------------------------------------------- the static PNG


def containers(ax):
    return {container.get_label(): container for container in ax.containers}


def test_png_figure_has_the_same_three_panels() -> None:
    instance, schedule = ward_week()
    fig = build_png_figure(instance, schedule)
    suites, shifts, lab = fig.axes[:3]
    assert [ax.get_title(loc="left") for ax in (suites, shifts, lab)] == [
        "Suite positions",
        "Operator hands-on hours per shift",
        "QC assay starts per day",
    ]
    assert [ax.get_ylabel() for ax in (suites, shifts, lab)] == [
        "Suite position",
        "Operator hours",
        "Assay starts",
    ]
    assert lab.get_xlabel() == "Date (Europe/Brussels)"
    assert [tick.get_text() for tick in suites.get_yticklabels()] == ["S1 / 1", "S1 / 2", "S2 / 1"]


def test_png_figure_bars() -> None:
    instance, schedule = ward_week()
    suites, shifts, lab = build_png_figure(instance, schedule).axes[:3]
    bars = containers(suites)
    assert len(bars["tiny-cel"].patches) == len(schedule.assignments) == 3
    assert len(bars[CHANGEOVER].patches) == 3
    assert len(bars[DOWNTIME].patches) == 5
    assert [patch.get_hatch() for patch in bars["tiny-cel"].patches] == ["//", None, None]
    legend = [text.get_text() for text in suites.get_legend().get_texts()]
    assert legend == [DOWNTIME, CHANGEOVER, "tiny-cel", "in progress"]
    assert sum(p.get_height() for p in containers(shifts)[ROSTERED].patches) == 248
    assert sum(p.get_height() for p in containers(shifts)[ASSIGNED].patches) == 16
    assert sum(p.get_height() for p in containers(lab)[CAPACITY].patches) == 28
    assert sum(p.get_height() for p in containers(lab)[STARTS].patches) == 2


def test_png_bar_spans_the_batch_in_local_time() -> None:
    import matplotlib.dates as mdates

    instance, schedule = ward_week()
    patches = containers(build_png_figure(instance, schedule).axes[0])["tiny-cel"].patches
    p1 = patches[1]  # IP1, P1, P2 in start order
    assert mdates.num2date(p1.get_x()).replace(tzinfo=None) == datetime(2027, 1, 6, 8, 0)
    assert p1.get_width() == pytest.approx(2.0)  # 48 h in days


def test_write_png(tmp_path: Path) -> None:
    instance, schedule = ward_week()
    path = tmp_path / "plan.png"
    write_png(instance, schedule, path)
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert 1000 <= width <= 2500 and 600 <= height <= 4000, (width, height)
    assert 20_000 < len(data) < 2_000_000
