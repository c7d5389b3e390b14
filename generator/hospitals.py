"""The hospitals that refer patients: courier times, apheresis chairs and closed dates."""

from __future__ import annotations

from datetime import date, timedelta

from generator.calendar import HOLIDAY_HOSPITAL_CLOSED, PUBLIC_HOLIDAYS, WEEKDAYS, iso
from generator.context import Context, Doc, doc_number
from generator.site import spread_days

# (name, typical courier hours to Ghent). Belgian centres first: small sizes use those.
HOSPITAL_CATALOGUE: tuple[tuple[str, float], ...] = (
    ("UZ Gent", 2),
    ("AZ Sint-Jan Brugge", 2.5),
    ("Cliniques universitaires Saint-Luc", 3),
    ("UZ Leuven", 3.5),
    ("UZ Brussel", 3),
    ("Institut Jules Bordet", 3),
    ("UZA Antwerpen", 3),
    ("ZNA Stuivenberg", 3),
    ("AZ Groeninge Kortrijk", 2.5),
    ("AZ Delta Roeselare", 3),
    ("OLV Ziekenhuis Aalst", 2),
    ("Jessa Ziekenhuis Hasselt", 4),
    ("CHU de Liège", 5),
    ("CHU UCL Namur", 4.5),
    ("Grand Hôpital de Charleroi", 4),
    ("GZA Ziekenhuizen Antwerpen", 3),
    ("AZ Maria Middelares Gent", 2),
    ("Ziekenhuis Oost-Limburg Genk", 4.5),
    ("AZ Sint-Lucas Gent", 2),
    ("AZ Klina Brasschaat", 3.5),
    ("Erasmus MC Rotterdam", 5),
    ("Amsterdam UMC", 7),
    ("UMC Utrecht", 6),
    ("Radboudumc Nijmegen", 7),
    ("Maastricht UMC+", 6),
    ("LUMC Leiden", 6),
    ("UMCG Groningen", 10),
    ("Centre Hospitalier de Luxembourg", 6),
    ("Uniklinik RWTH Aachen", 6),
    ("Uniklinik Köln", 8),
    ("Universitätsklinikum Düsseldorf", 8),
    ("Universitätsklinikum Essen", 9),
    ("Universitätsklinikum Heidelberg", 12),
    ("Charité Berlin", 16),
    ("LMU Klinikum München", 18),
    ("CHU de Lille", 4),
    ("Hôpital Saint-Louis Paris", 8),
    ("Gustave Roussy Villejuif", 8),
    ("Hospices Civils de Lyon", 14),
    ("CHU de Nantes", 14),
    ("Rigshospitalet København", 20),
    ("Ospedale San Raffaele Milano", 22),
    ("Karolinska Universitetssjukhuset", 24),
    ("Hospital Clínic de Barcelona", 26),
    ("Hospital Universitario La Paz Madrid", 28),
)
BELGIAN_HOSPITALS = 20
COLLECTION_END_CHOICES = ("12:00", "12:30", "13:00", "13:30", "14:00", "15:00", "16:00")


def build_hospitals(ctx: Context, products: list[Doc]) -> list[Doc]:
    """The local university hospital and a drawn mix of Belgian and foreign centres."""
    rng = ctx.rng
    count = ctx.spec.hospitals
    belgian = list(range(1, BELGIAN_HOSPITALS))
    abroad = list(range(BELGIAN_HOSPITALS, len(HOSPITAL_CATALOGUE)))
    rng.shuffle(belgian)
    rng.shuffle(abroad)
    n_abroad = max(round(count * (0.4 if count >= 10 else 0.25)), count - BELGIAN_HOSPITALS)
    # The local university hospital is always a customer.
    picks = [0, *belgian[: count - 1 - n_abroad], *abroad[:n_abroad]]
    hospitals = []
    for number, pick in enumerate(picks, start=1):
        name, base_transit = HOSPITAL_CATALOGUE[pick]
        transit = max(2.0, base_transit + rng.choice((-0.5, 0, 0.5, 1)))
        capacity: dict[str, int] = {}
        for weekday in WEEKDAYS[:5]:
            if rng.random() < 0.8:
                capacity[weekday] = rng.choice((1, 1, 2))
        while len(capacity) < 2:
            capacity[rng.choice(WEEKDAYS[:5])] = 1
        if rng.random() < 0.1:
            capacity["Sat"] = 1
        hospital: Doc = {
            "id": f"H{number:02d}",
            "name": name,
            "transit_hours": doc_number(transit),
            "collection_end": rng.choice(COLLECTION_END_CHOICES),
            "return_transit_days": 1 if transit <= 8 else 2,
            "apheresis_capacity": {d: capacity[d] for d in WEEKDAYS if d in capacity},
            "closed_dates": [],
            "booked_elsewhere": {},
        }
        if ctx.scenario == "dst" and number % 2 == 1:
            _dst_hospital(ctx, hospital, products)
        closed = [d for d in PUBLIC_HOLIDAYS if ctx.start <= d < ctx.end]
        if ctx.scenario == "holidays":
            closed = [d for d in HOLIDAY_HOSPITAL_CLOSED if ctx.start <= d < ctx.end]
        if rng.random() < 0.3:
            closed.append(ctx.start + timedelta(days=rng.randrange(spread_days(ctx))))
        hospital["closed_dates"] = [iso(d) for d in sorted(set(closed))]
        booked: dict[str, int] = {}
        chairs_by_day: dict[str, int] = hospital["apheresis_capacity"]
        for day in ctx.dates[: spread_days(ctx) + 7]:
            chairs = chairs_by_day.get(WEEKDAYS[day.weekday()], 0)
            if chairs and iso(day) not in hospital["closed_dates"] and rng.random() < 0.12:
                booked[iso(day)] = rng.randint(1, chairs)
        hospital["booked_elsewhere"] = booked
        hospitals.append(hospital)
    return hospitals


def _dst_hospital(ctx: Context, hospital: Doc, products: list[Doc]) -> None:
    """Tune a hospital so the clock change decides which shift a fresh batch can start in.

    Spring: collection ends 14:00 and courier + receipt take 17 h, so Saturday's material
    is received at 07:00 by the wall clock but 08:00 in real time on the change Sunday,
    missing shift E; a 72 h (lenti) or 48 h (device) shelf-life ends 14:00 by the wall
    clock but 15:00 in real time, so shift L is just reachable. Autumn mirrors both:
    collection ends 15:00, Saturday's material is received 07:00 in real time (E is
    reachable, 08:00 by the wall clock) and shelf-life ends 14:00 (L is missed).
    """
    lenti = products[0]
    collection_end = "14:00" if ctx.spring else "15:00"
    hospital["collection_end"] = collection_end
    hospital["transit_hours"] = 17 - lenti["receipt_hours"]
    hospital["return_transit_days"] = 1
    capacity = dict(hospital["apheresis_capacity"])
    for weekday in ("Thu", "Fri", "Sat"):
        capacity[weekday] = 2  # the clock-change weekend draws extra collections here
    hospital["apheresis_capacity"] = {d: capacity[d] for d in WEEKDAYS if d in capacity}
    hospital["_dst"] = True


def collection_days(hospital: Doc, first: date, last: date) -> list[date]:
    """Days from `first` to `last` on which the hospital has a chair free and is open."""
    closed = set(hospital["closed_dates"])
    days = []
    day = first
    while day <= last:
        chairs = hospital["apheresis_capacity"].get(WEEKDAYS[day.weekday()], 0)
        if chairs > hospital["booked_elsewhere"].get(iso(day), 0) and iso(day) not in closed:
            days.append(day)
        day += timedelta(days=1)
    return days
