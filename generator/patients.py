"""The patients: product, hospital, material, apheresis and infusion windows, last week's plan."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

from generator.calendar import DST_CHANGE_DAY, WEEKDAYS, iso
from generator.context import Context, Doc
from generator.hospitals import collection_days
from generator.products import chain_days
from generator.site import spread_days
from generator.suites import isolator_patient_share

OVERLOAD_FACTOR = 1.5
# A site with a waitlist (CART-DOMAIN: one or two slots a month against twenty referrals):
# demand 2.5-3x what the plant can take, patients referred weeks ago whose collection can
# wait for a slot, and most of them already promised a date last week.
WAITLIST_FACTOR = (2.5, 3.0)
WAITLIST_WINDOW_DAYS = (7, 21)
WAITLIST_PREVIOUS_SHARE = 0.6
WAITLIST_LOCKED_SHARE = 0.25
URGENT_SHARE = 0.1
CRYO_SHARE = 0.12
PREVIOUS_SHARE = 0.3
LOCKED_SHARE = 0.08  # of the patients with a previous date
COLLECTED_SHARE = 0.05
NO_INFUSION_LATEST_SHARE = 0.2
# With shifts at 07:00 and 15:00 the longest gap between shift starts is 16 h: a fresh
# batch needs at least that much between receipt and shelf-life end to be startable at all.
MIN_FRESH_START_WINDOW_HOURS = 16
# Of the patients whose window opens in the clock-change week, the share that collects at
# one of the clock-sensitive hospitals.
DST_PATIENT_SHARE = 0.7


def build_patients(
    ctx: Context, products: list[Doc], hospitals: list[Doc], suites: list[Doc]
) -> list[Doc]:
    """The patients to plan, numbered in order of their apheresis window."""
    rng = ctx.rng
    count = ctx.spec.patients
    if ctx.scenario == "overload":
        count = round(count * OVERLOAD_FACTOR)
    elif ctx.scenario == "waitlist":
        count = round(count * rng.uniform(*WAITLIST_FACTOR))
    n_lenti = round(count * isolator_patient_share(products, suites))
    product_of = [products[0]] * n_lenti + [products[1]] * (count - n_lenti)
    rng.shuffle(product_of)
    window_start = _window_starts(ctx, products, product_of)
    weights = [sum(h["apheresis_capacity"].values()) for h in hospitals]
    collected = set(rng.sample(range(count), max(1, round(COLLECTED_SHARE * count))))
    drafts: list[Doc] = []
    for index, product in enumerate(product_of):
        near_change = window_start[index] <= DST_CHANGE_DAY
        if ctx.scenario == "dst" and near_change and rng.random() < DST_PATIENT_SHARE:
            hospital = rng.choice([h for h in hospitals if h.get("_dst")])
        else:
            hospital = rng.choices(hospitals, weights)[0]
        material = "cryopreserved" if rng.random() < CRYO_SHARE else "fresh"
        start_window = (
            product["fresh_shelf_life_hours"] - hospital["transit_hours"] - product["receipt_hours"]
        )
        if start_window < MIN_FRESH_START_WINDOW_HOURS:
            material = "cryopreserved"  # far centres ship frozen material
        weight = rng.choice((2, 3)) if rng.random() < URGENT_SHARE else 1
        if index in collected:
            draft = _collected_patient(ctx, rng, product, hospital, material)
        else:
            draft = _new_patient(ctx, rng, product, hospital, material, window_start[index])
        draft.update(weight=weight, _hospital=hospital, _product=product)
        drafts.append(draft)
    _add_previous_dates(ctx, drafts)
    drafts.sort(
        key=lambda d: (d["_earliest"], d["_hospital"]["id"], d["_product"]["id"], d["_seq"])
    )
    return [_patient_doc(f"P{number:04d}", d) for number, d in enumerate(drafts, start=1)]


def _window_starts(ctx: Context, products: list[Doc], product_of: list[Doc]) -> list[int]:
    """Apheresis-window openings (day offsets), stratified per product.

    Referrals arrive as a steady stream, not in random clumps: each product's patients
    get one opening per equal slice of the collection weeks, jittered within the slice.
    """
    rng = ctx.rng
    starts = [0] * len(product_of)
    for product in products:
        last = max(0, min(spread_days(ctx), ctx.days - chain_days(product) - 2))
        members = [i for i, p in enumerate(product_of) if p is product]
        rng.shuffle(members)
        for rank, index in enumerate(members):
            starts[index] = math.floor((last + 1) * (rank + rng.random()) / len(members))
    return starts


def _new_patient(
    ctx: Context, rng: random.Random, product: Doc, hospital: Doc, material: str, first_day: int
) -> Doc:
    earliest = ctx.start + timedelta(days=first_day)
    width = WAITLIST_WINDOW_DAYS if ctx.scenario == "waitlist" else (2, 6)
    latest = earliest + timedelta(days=rng.randint(*width))
    # A window without a single collection day is a data-entry error, not a test case.
    for _ in range(7):
        if collection_days(hospital, earliest, latest):
            break
        earliest += timedelta(days=1)
        latest += timedelta(days=1)
    return _with_infusion(ctx, rng, product, material, earliest, latest, None)


def _collected_patient(
    ctx: Context, rng: random.Random, product: Doc, hospital: Doc, material: str
) -> Doc:
    if material == "fresh" and rng.random() < 0.5:
        collected_on = ctx.start - timedelta(days=rng.randint(0, 1))
    else:
        material = "cryopreserved"  # collected last week or earlier and frozen at the site
        collected_on = ctx.start - timedelta(days=rng.randint(2, 10))
    earliest = collected_on - timedelta(days=rng.randint(0, 2))
    latest = max(collected_on, earliest + timedelta(days=rng.randint(2, 6)))
    return _with_infusion(ctx, rng, product, material, earliest, latest, collected_on)


def _with_infusion(
    ctx: Context,
    rng: random.Random,
    product: Doc,
    material: str,
    earliest: date,
    latest: date,
    collected_on: date | None,
) -> Doc:
    # Material collected before the horizon can only start now, so its window follows.
    infusion_earliest = max(earliest, ctx.start) + timedelta(days=rng.randint(20, 30))
    # Windows opening at the horizon end would make the patient trivially unschedulable.
    infusion_earliest = min(infusion_earliest, ctx.end - timedelta(days=rng.randint(2, 5)))
    infusion_latest = None
    if rng.random() >= NO_INFUSION_LATEST_SHARE:
        infusion_latest = infusion_earliest + timedelta(days=rng.randint(10, 21))
    return {
        "_seq": rng.random(),
        "_earliest": earliest,
        "material": material,
        "apheresis_window": {"earliest": iso(earliest), "latest": iso(latest)},
        "infusion_window": {"earliest": iso(infusion_earliest)}
        | ({"latest": iso(infusion_latest)} if infusion_latest else {}),
        "collected_on": iso(collected_on) if collected_on else None,
    }


def _add_previous_dates(ctx: Context, drafts: list[Doc]) -> None:
    """Previous dates form last week's plan, so together they respect the chairs."""
    rng = ctx.rng
    open_drafts = [i for i, d in enumerate(drafts) if d["collected_on"] is None]
    share = WAITLIST_PREVIOUS_SHARE if ctx.scenario == "waitlist" else PREVIOUS_SHARE
    chosen = rng.sample(open_drafts, round(share * len(open_drafts)))
    used: dict[tuple[str, date], int] = {}
    with_previous = []
    for index in sorted(chosen):
        draft = drafts[index]
        hospital = draft["_hospital"]
        window = draft["apheresis_window"]
        days = collection_days(
            hospital,
            date.fromisoformat(window["earliest"]),
            date.fromisoformat(window["latest"]),
        )
        free = [
            d
            for d in days
            if used.get((hospital["id"], d), 0) + hospital["booked_elsewhere"].get(iso(d), 0)
            < hospital["apheresis_capacity"][WEEKDAYS[d.weekday()]]
        ]
        if not free:
            continue
        day = rng.choice(free)
        used[(hospital["id"], day)] = used.get((hospital["id"], day), 0) + 1
        draft["previous"] = {"apheresis_date": iso(day)}
        with_previous.append(index)
    locked_share = WAITLIST_LOCKED_SHARE if ctx.scenario == "waitlist" else ctx.locked_share
    locked = round(locked_share * len(with_previous))
    if locked == 0 and len(with_previous) >= 5:
        locked = 1
    for index in rng.sample(with_previous, locked):
        drafts[index]["locked"] = True


def _patient_doc(patient_id: str, draft: Doc) -> Doc:
    doc: Doc = {
        "id": patient_id,
        "hospital": draft["_hospital"]["id"],
        "product": draft["_product"]["id"],
        "weight": draft["weight"],
        "material": draft["material"],
        "apheresis_window": draft["apheresis_window"],
        "infusion_window": draft["infusion_window"],
    }
    if "previous" in draft:
        doc["previous"] = draft["previous"]
    doc["locked"] = draft.get("locked", False)
    doc["collected_on"] = draft["collected_on"]
    return doc
