"""Batches already running at the horizon start, the plant they book, and how the
infeasible-commitments scenario breaks them."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from generator.calendar import iso, stamp
from generator.context import Context, Doc
from generator.products import ISOLATOR, latest_delivery, manufacturing_days
from generator.qc import lab_open
from generator.site import EARLY_SHIFT, LATE_SHIFT, max_starts
from generator.sizes import IN_PROGRESS_SHARE
from generator.staff import SKILLS


def build_in_progress(
    ctx: Context,
    products: list[Doc],
    suites: list[Doc],
    hospitals: list[Doc],
    operators: list[Doc],
    qc_capacity: dict[str, int],
) -> list[Doc]:
    """Running batches on about half the positions, each a commitment the plant can honour."""
    rng = ctx.rng
    slots = [(s, p) for s in suites for p in range(1, s["positions"] + 1)]
    count = round(IN_PROGRESS_SHARE * len(slots))
    picked = sorted(rng.sample(range(len(slots)), count))
    holders = {skill: sum(skill in op["skills"] for op in operators) for skill in SKILLS}
    books = _Books(qc_capacity, holders, EARLY_SHIFT["hours"], max_starts(ctx))
    batches: list[Doc] = []
    for slot_index in picked:
        suite, position = slots[slot_index]
        product = products[0] if suite["type"] == ISOLATOR else products[1]
        start = _in_progress_start(ctx, rng, product, books)
        if start is None:
            continue  # nothing that week could have been started here: the position idles
        batch: Doc = {
            "patient": f"P{9001 + len(batches)}",
            "product": product["id"],
            "hospital": rng.choice(hospitals)["id"],
            "suite": suite["id"],
            "position": position,
            "manufacturing_start": stamp(start),
        }
        if rng.random() < 0.4:
            done = latest_delivery(product, start.date())
            earliest = done - timedelta(days=rng.randint(3, 8))
            latest = max(done + timedelta(days=rng.randint(3, 10)), earliest)
            latest = min(latest, ctx.end - timedelta(days=1))
            if latest >= done:
                batch["infusion_window"] = {"earliest": iso(earliest), "latest": iso(latest)}
        batches.append(batch)
    return batches


def _in_progress_start(
    ctx: Context, rng: random.Random, product: Doc, books: _Books
) -> datetime | None:
    """A start before the horizon whose remaining work fits the plant (it is a commitment).

    Its remaining assays must find lab days with capacity left, its remaining steps must
    leave hands for the rest, and it must be delivered inside the horizon.
    """
    for _ in range(50):
        days_before = rng.randint(1, manufacturing_days(product))
        day = ctx.start - timedelta(days=days_before)
        if latest_delivery(product, day) >= ctx.end:
            continue
        booking = _commitment_booking(ctx, product, day, books)
        if booking is not None:
            books.commit(day, *booking)
            shift = rng.choice((EARLY_SHIFT, LATE_SHIFT))
            return datetime.fromisoformat(f"{iso(day)}T{shift['start']}")
    return None


def _commitment_booking(
    ctx: Context, product: Doc, start_day: date, books: _Books
) -> tuple[list[tuple[str, date]], list[tuple[str, date, float]]] | None:
    """The QC starts and step hours a running batch still needs, if the plant has them."""
    if books.starts.get(start_day, 0) >= books.max_starts:
        return None
    assays: list[tuple[str, date]] = []
    for assay in product["qc_assays"]:
        sample = start_day + timedelta(days=assay["sample_day_offset"])
        if sample < ctx.start:
            continue  # taken as started on its sample date: uses no capacity
        window = [sample + timedelta(days=w) for w in range(assay["max_wait_days"] + 1)]
        free = [
            d for d in window if d < ctx.end and lab_open(ctx, d) and books.qc_free(assay["id"], d)
        ]
        if not free:
            return None
        assays.append((assay["id"], free[0]))
    steps: list[tuple[str, date, float]] = []
    for step in product["steps"]:
        day = start_day + timedelta(days=step["day_offset"])
        if ctx.start <= day < ctx.end:
            steps.append((step["skill"], day, step["hours"] * step["operators"]))
    if not books.hands_free(steps):
        return None
    return assays, steps


class _Books:
    """What the batches already running have booked: QC starts, step hours and starts per day."""

    # Running batches may use up to this share of a skill's hands on a day: the rest is for
    # new patients, and the rota does not put every holder on every day.
    HANDS_SHARE = 0.5

    def __init__(
        self,
        qc_capacity: dict[str, int],
        holders: dict[str, int],
        shift_hours: float,
        max_starts: int,
    ) -> None:
        self.qc_capacity = qc_capacity
        self.hands = {skill: self.HANDS_SHARE * n * shift_hours for skill, n in holders.items()}
        self.max_starts = max_starts
        self.qc: dict[tuple[str, date], int] = {}
        self.hours: dict[tuple[str, date], float] = {}
        self.starts: dict[date, int] = {}

    def qc_free(self, assay: str, day: date) -> bool:
        """Whether the lab can still start one more `assay` on `day`."""
        return self.qc.get((assay, day), 0) < self.qc_capacity[assay]

    def hands_free(self, steps: list[tuple[str, date, float]]) -> bool:
        """Whether the person-hours of these steps fit what is left per skill and day."""
        extra: dict[tuple[str, date], float] = {}
        for skill, day, hours in steps:
            extra[(skill, day)] = extra.get((skill, day), 0) + hours
        return all(self.hours.get(key, 0) + h <= self.hands[key[0]] for key, h in extra.items())

    def commit(
        self, start_day: date, assays: list[tuple[str, date]], steps: list[tuple[str, date, float]]
    ) -> None:
        """Book one running batch."""
        self.starts[start_day] = self.starts.get(start_day, 0) + 1
        for key in assays:
            self.qc[key] = self.qc.get(key, 0) + 1
        for skill, day, hours in steps:
            self.hours[(skill, day)] = self.hours.get((skill, day), 0) + hours


def break_commitments(
    ctx: Context, products: list[Doc], operators: list[Doc], in_progress: list[Doc]
) -> None:
    """Make the fixed work impossible in a way a coordinator can see at a glance."""
    by_id = {p["id"]: p for p in products}
    holders = {s: sum(s in op["skills"] for op in operators) for s in SKILLS}
    remaining = []
    for batch in in_progress:
        start = datetime.fromisoformat(batch["manufacturing_start"]).date()
        for step in by_id[batch["product"]]["steps"]:
            day = start + timedelta(days=step["day_offset"])
            if ctx.start <= day < ctx.end:
                remaining.append((holders[step["skill"]], day, step["skill"]))
    if ctx.seed % 2 == 0 and remaining:
        # A remaining step on a day when no holder of its skill is rostered at all.
        _, day, skill = min(remaining)
        for op in operators:
            if skill in op["skills"]:
                op["_shifts"].pop(day, None)
        return
    # Two running batches booked on one position at overlapping times.
    first = min(in_progress, key=lambda b: b["manufacturing_start"])
    start = datetime.fromisoformat(first["manufacturing_start"]) + timedelta(days=1)
    if start.date() >= ctx.start:
        start -= timedelta(days=2)
    in_progress.append(
        {
            **first,
            "patient": f"P{9001 + len(in_progress)}",
            "manufacturing_start": stamp(start),
        }
    )
    in_progress[-1].pop("infusion_window", None)
