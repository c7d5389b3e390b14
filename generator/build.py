"""The builder that runs the sections in a fixed order, and the public entry points."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

from generator.calendar import TIMEZONE, horizon_start, iso
from generator.context import Context, Doc
from generator.hospitals import build_hospitals
from generator.in_progress import break_commitments, build_in_progress
from generator.patients import LOCKED_SHARE, build_patients
from generator.products import build_products
from generator.qc import lab_closed_dates, lab_days, qc_capacity
from generator.site import has_night_crew, max_starts, site_shifts
from generator.sizes import GHENT_WEEK, GHENT_WEEK_SEED, SCENARIOS, SIZES, SizeSpec
from generator.staff import build_operators, roster, roster_entries, staff_in_progress
from generator.suites import add_unavailability, build_suites

FORMAT = "cart-schedule-instance/1"


def generate_instance(size: str, seed: int, scenario: str = "normal") -> Doc:
    """Return a cart-schedule-instance/1 document as a plain JSON-ready dict."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r} (sizes: {', '.join(SIZES)})")
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r} (scenarios: {', '.join(SCENARIOS)})")
    builder = _Builder(
        size=size,
        spec=SIZES[size],
        seed=seed,
        scenario=scenario,
        name=f"gen-{size}-{scenario}-s{seed}",
        site_id="GHENT-GEN",
    )
    return builder.build()


def ghent_week() -> Doc:
    """Return the realistic mid-size Ghent planning week `ghent-week-49`."""
    builder = _Builder(
        size="ghent",
        spec=GHENT_WEEK,
        seed=GHENT_WEEK_SEED,
        scenario="normal",
        name="ghent-week-49",
        site_id="GHENT",
        locked_share=0.15,
        maintenance=True,
    )
    return builder.build()


def write_instance(doc: Doc, path: str | Path) -> None:
    """Write an instance document as indented JSON (the layout of instances/*.json)."""
    Path(path).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


class _Builder:
    """Builds one instance; sections run in a fixed order so the random stream is reproducible."""

    def __init__(
        self,
        size: str,
        spec: SizeSpec,
        seed: int,
        scenario: str,
        name: str,
        site_id: str,
        locked_share: float = LOCKED_SHARE,
        maintenance: bool | None = None,
    ) -> None:
        self.name = name
        self.site_id = site_id
        rng = random.Random(seed)
        spring = seed % 2 == 1
        start = horizon_start(scenario, spring)
        days = spec.horizon_days
        end = start + timedelta(days=days)
        night = has_night_crew(size, scenario, rng)
        self.ctx = Context(
            size=size,
            spec=spec,
            seed=seed,
            scenario=scenario,
            locked_share=locked_share,
            maintenance=maintenance,
            rng=rng,
            spring=spring,
            start=start,
            days=days,
            dates=[start + timedelta(days=i) for i in range(days)],
            end=end,
            night=night,
            shifts=site_shifts(night),
            lab_days=lab_days(size),
            lab_closed=lab_closed_dates(scenario, start, end),
        )

    def build(self) -> Doc:
        """Assemble the whole document."""
        ctx = self.ctx
        products = build_products(ctx)
        suites = build_suites(ctx)
        operators = build_operators(ctx)
        hospitals = build_hospitals(ctx, products)
        patients = build_patients(ctx, products, hospitals, suites)
        capacity = qc_capacity(ctx, products)
        in_progress = build_in_progress(ctx, products, suites, hospitals, operators, capacity)
        add_unavailability(ctx, products, suites, in_progress)
        roster(ctx, operators)
        staff_in_progress(ctx, products, operators, in_progress)
        if ctx.scenario == "infeasible-commitments":
            break_commitments(ctx, products, operators, in_progress)
        return {
            "format": FORMAT,
            "name": self.name,
            "site": {
                "id": self.site_id,
                "timezone": TIMEZONE,
                "shifts": ctx.shifts,
                "max_starts_per_day": max_starts(ctx),
            },
            "horizon": {"start": iso(ctx.start), "days": ctx.days},
            "products": products,
            "suites": suites,
            "operators": [
                {"id": op["id"], "skills": op["skills"], "roster": roster_entries(op)}
                for op in operators
            ],
            "qc_lab": {
                "working_days": list(ctx.lab_days),
                "closed_dates": [iso(d) for d in ctx.lab_closed],
                "capacity": capacity,
            },
            "hospitals": [{k: v for k, v in h.items() if not k.startswith("_")} for h in hospitals],
            "patients": patients,
            "in_progress": in_progress,
        }
