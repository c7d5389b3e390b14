"""Operators, their skills and rota, and the hands rostered for the batches already running."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta

from generator.calendar import (
    CHRISTMAS_AND_NEW_YEAR,
    HOLIDAY_SKELETON_DAYS,
    HOLIDAY_START,
    SATURDAY,
    iso,
)
from generator.context import Context, Doc

SKILLS = ("aseptic", "transduction", "harvest", "cryo", "device")
# Aseptic work (activation, washes, feeds, IPC) is the most common step, so more people hold it.
SKILL_WEIGHTS = (3, 2, 2, 2, 2)
SKILL_COUNT_CHOICES = (2, 3, 4)
SKILL_COUNT_WEIGHTS = (3, 4, 3)
MIN_SKILL_HOLDER_SHARE = 0.35
SCARCE_SKILL = "transduction"
# Two-operator steps (four-eyes chain-of-identity checks) need two holders on a shift.
MIN_SKILL_COVER = 2


def build_operators(ctx: Context) -> list[Doc]:
    """Operators with drawn skills, topped up so every skill has enough holders."""
    rng = ctx.rng
    count = ctx.spec.operators
    operators: list[Doc] = []
    for index in range(count):
        k = rng.choices(SKILL_COUNT_CHOICES, SKILL_COUNT_WEIGHTS)[0]
        skills = _weighted_sample(rng, SKILLS, SKILL_WEIGHTS, k)
        operators.append({"id": f"OP{index + 1:03d}", "skills": skills})
    need = max(2, math.ceil(count * MIN_SKILL_HOLDER_SHARE))
    for skill in SKILLS:
        if ctx.scenario == "scarce-skill" and skill == SCARCE_SKILL:
            continue
        order = list(range(count))
        rng.shuffle(order)
        for index in order:
            if sum(skill in op["skills"] for op in operators) >= need:
                break
            op = operators[index]
            if skill not in op["skills"] and len(op["skills"]) < max(SKILL_COUNT_CHOICES):
                op["skills"].append(skill)
    if ctx.scenario == "scarce-skill":
        holders = 2 if count <= 16 else 3
        chosen = rng.sample(range(count), holders)
        for index, op in enumerate(operators):
            if index in chosen:
                if SCARCE_SKILL not in op["skills"]:
                    op["skills"].append(SCARCE_SKILL)
            elif SCARCE_SKILL in op["skills"]:
                op["skills"].remove(SCARCE_SKILL)
                if len(op["skills"]) < 2:
                    spare = [s for s in SKILLS if s != SCARCE_SKILL and s not in op["skills"]]
                    op["skills"].append(rng.choice(spare))
    for op in operators:
        op["skills"] = [s for s in SKILLS if s in op["skills"]]
    return operators


def _weighted_sample(
    rng: random.Random, items: tuple[str, ...], weights: tuple[int, ...], k: int
) -> list[str]:
    """`k` distinct items drawn with probability proportional to weight."""
    pool = list(zip(items, weights, strict=True))
    chosen = []
    for _ in range(k):
        item = rng.choices([i for i, _ in pool], [w for _, w in pool])[0]
        chosen.append(item)
        pool = [(i, w) for i, w in pool if i != item]
    return chosen


def _staffed_shifts(ctx: Context, day: date) -> list[str]:
    """Shifts whose skill cover the roster guarantees on `day` (the night crew is extra)."""
    if ctx.scenario == "holidays" and day in HOLIDAY_SKELETON_DAYS:
        return ["E"]
    if ctx.size == "xs":
        return ["E"]
    if ctx.size == "s" and day.weekday() >= SATURDAY:
        return ["E"]
    return ["E", "L"]


def roster(ctx: Context, operators: list[Doc]) -> None:
    """Give every operator a 5-of-7 rota, leave, then top up thin skill cover."""
    rng = ctx.rng
    weeks = math.ceil(ctx.days / 7)
    night_crew = max(2, round(0.08 * len(operators))) if ctx.night else 0
    patterns = ["E", "L", "EL", "LE"] if ctx.size != "xs" else ["E"]
    weekend_off_share = 0.4 if ctx.size == "xs" else 0.6
    order = list(range(len(operators)))
    rng.shuffle(order)
    for rank, index in enumerate(order):
        op = operators[index]
        pattern = "N" if rank < night_crew else patterns[rank % len(patterns)]
        off: set[date] = set()
        for week in range(weeks):
            monday = ctx.start + timedelta(days=7 * week)
            roll = rng.random()
            if roll < weekend_off_share:
                days_off = (5, 6)
            elif roll < weekend_off_share + 0.25:
                first = rng.randint(0, 3)
                days_off = (first, first + 1)
            else:
                days_off = (rng.randint(0, 4), rng.randint(5, 6))
            off.update(monday + timedelta(days=d) for d in days_off)
        leave: set[date] = set()
        if rng.random() < 0.25:
            first = rng.randrange(ctx.days)
            leave.update(ctx.start + timedelta(days=first + d) for d in range(rng.randint(2, 5)))
        if ctx.scenario == "holidays":
            if rng.random() < 0.5:
                first = rng.randint(0, 10)
                leave.update(
                    HOLIDAY_START + timedelta(days=first + d) for d in range(rng.randint(4, 8))
                )
            for day in HOLIDAY_SKELETON_DAYS:
                if rng.random() < (0.7 if day in CHRISTMAS_AND_NEW_YEAR else 0.4):
                    leave.add(day)
        op["_leave"] = leave
        op["_shifts"] = {}
        for day in ctx.dates:
            if day in off or day in leave:
                continue
            op["_shifts"][day] = _pattern_shift(ctx, pattern, day)
    _top_up_cover(ctx, operators)


def _pattern_shift(ctx: Context, pattern: str, day: date) -> str:
    if pattern == "N":
        return "N"
    week = (day - ctx.start).days // 7
    shift = pattern[week % len(pattern)]
    staffed = _staffed_shifts(ctx, day)
    return shift if shift in staffed else staffed[0]


def _top_up_cover(ctx: Context, operators: list[Doc]) -> None:
    """Add rota days until each skill has two holders on every staffed shift, where possible."""
    tie = {op["id"]: ctx.rng.random() for op in operators}
    for day in ctx.dates:
        week = (day - ctx.start).days // 7
        for shift in _staffed_shifts(ctx, day):
            for skill in SKILLS:
                if ctx.scenario == "scarce-skill" and skill == SCARCE_SKILL:
                    continue
                need = MIN_SKILL_COVER
                if ctx.scenario == "holidays" and day in CHRISTMAS_AND_NEW_YEAR:
                    need = 1
                holders = [op for op in operators if skill in op["skills"]]
                have = sum(op["_shifts"].get(day) == shift for op in holders)
                free = [
                    op for op in holders if day not in op["_shifts"] and day not in op["_leave"]
                ]
                free.sort(key=lambda op: (_days_in_week(ctx, op, week), tie[op["id"]]))
                for op in free[: max(0, need - have)]:
                    op["_shifts"][day] = shift


def _days_in_week(ctx: Context, op: Doc, week: int) -> int:
    monday = ctx.start + timedelta(days=7 * week)
    return sum(monday + timedelta(days=d) in op["_shifts"] for d in range(7))


def roster_entries(op: Doc) -> list[Doc]:
    """An operator's rota as the document lists it, by date."""
    return [{"date": iso(day), "shift": op["_shifts"][day]} for day in sorted(op["_shifts"])]


def staff_in_progress(
    ctx: Context, products: list[Doc], operators: list[Doc], in_progress: list[Doc]
) -> None:
    """Roster enough hands for the remaining steps of running batches: those are commitments.

    Steps are booked first-fit against each operator's shift hours, as a coordinator would
    check the rota, and rota days are added where the booked hands run out.
    """
    by_id = {p["id"]: p for p in products}
    shift_hours = {s["id"]: s["hours"] for s in ctx.shifts}
    booked: dict[tuple[str, date], float] = {}
    for batch in sorted(in_progress, key=lambda b: b["manufacturing_start"]):
        start = datetime.fromisoformat(batch["manufacturing_start"]).date()
        steps = by_id[batch["product"]]["steps"]
        for step in sorted(steps, key=lambda s: (s["day_offset"], -s["hours"])):
            day = start + timedelta(days=step["day_offset"])
            if not ctx.start <= day < ctx.end:
                continue
            holders = [op for op in operators if step["skill"] in op["skills"]]
            need, hours = step["operators"], step["hours"]
            team: list[Doc] = []
            for shift in _staffed_shifts(ctx, day):
                fit = [
                    op
                    for op in holders
                    if op["_shifts"].get(day) == shift
                    and booked.get((op["id"], day), 0) + hours <= shift_hours[shift]
                ]
                free = [op for op in holders if day not in op["_shifts"]]
                # Someone on another shift with nothing booked yet can swap shifts.
                movable = [
                    op
                    for op in holders
                    if op["_shifts"].get(day) not in (None, shift) and (op["id"], day) not in booked
                ]
                if len(fit) + len(free) + len(movable) >= need:
                    fit.sort(key=lambda op: booked.get((op["id"], day), 0))
                    team = (fit + free + movable)[:need]
                    for op in team:
                        op["_shifts"][day] = shift
                    break
            for op in team:
                booked[(op["id"], day)] = booked.get((op["id"], day), 0) + hours
