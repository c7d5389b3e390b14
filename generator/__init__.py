"""Deterministic generator of realistic `cart-schedule-instance/1` documents.

A document is a function of `(size, seed, scenario)` only: one `random.Random(seed)` makes
every choice and nothing iterates over a set, so the output is byte-identical across runs and
machines. Numbers follow the domain brief (CART-DOMAIN.md sections 1.5-1.7 and 8).
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

Doc = dict[str, Any]

FORMAT = "cart-schedule-instance/1"
TIMEZONE = "Europe/Brussels"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SATURDAY = 5


@dataclass(frozen=True)
class SizeSpec:
    """Resource dimensions of one size; `patients` is the demand of the "normal" scenario."""

    patients: int
    suites: int
    positions: int
    operators: int
    horizon_days: int
    hospitals: int


SIZES: dict[str, SizeSpec] = {
    "xs": SizeSpec(patients=6, suites=2, positions=2, operators=6, horizon_days=35, hospitals=2),
    "s": SizeSpec(patients=20, suites=4, positions=3, operators=16, horizon_days=42, hospitals=4),
    "m": SizeSpec(patients=60, suites=10, positions=4, operators=40, horizon_days=49, hospitals=10),
    "l": SizeSpec(
        patients=120, suites=24, positions=4, operators=90, horizon_days=56, hospitals=20
    ),
    "xl": SizeSpec(
        patients=300, suites=50, positions=4, operators=200, horizon_days=70, hospitals=40
    ),
}
SCENARIOS = (
    "normal",
    "overload",
    "dst",
    "holidays",
    "downtime",
    "scarce-skill",
    "infeasible-commitments",
)

# A Ghent-like mid-size plant (CART-DOMAIN 2.1 and 8: 12 suites, 20-30 ATCs, 40-80 lots a week).
GHENT_WEEK = SizeSpec(
    patients=60, suites=12, positions=4, operators=48, horizon_days=56, hospitals=24
)
GHENT_WEEK_SEED = 49

NORMAL_START = date(2026, 11, 30)
HOLIDAY_START = date(2026, 12, 21)
# Both horizons put the clock change on day 6, inside the collection and start weeks.
DST_SPRING_START = date(2027, 3, 22)  # 2027-03-28 02:00 CET -> 03:00 CEST
DST_AUTUMN_START = date(2027, 10, 25)  # 2027-10-31 03:00 CEST -> 02:00 CET
DST_CHANGE_DAY = 6
# Of the patients whose window opens in the clock-change week, the share that collects at
# one of the clock-sensitive hospitals.
DST_PATIENT_SHARE = 0.7

# Apheresis units close on these whatever the scenario; the holiday scenario closes more.
PUBLIC_HOLIDAYS = (
    date(2026, 12, 25),
    date(2027, 1, 1),
    date(2027, 3, 29),  # Easter Monday
    date(2027, 11, 1),
    date(2027, 11, 11),
)
QC_PUBLIC_HOLIDAYS = (date(2026, 12, 25), date(2027, 1, 1), date(2027, 3, 29), date(2027, 11, 1))
HOLIDAY_HOSPITAL_CLOSED = (
    date(2026, 12, 24),
    date(2026, 12, 25),
    date(2026, 12, 26),
    date(2026, 12, 31),
    date(2027, 1, 1),
)
CHRISTMAS_AND_NEW_YEAR = (date(2026, 12, 25), date(2027, 1, 1))
HOLIDAY_QC_CLOSED = CHRISTMAS_AND_NEW_YEAR
# Skeleton crews only: no late shift, and many operators take these days off.
HOLIDAY_SKELETON_DAYS = HOLIDAY_HOSPITAL_CLOSED

EARLY_SHIFT: Doc = {"id": "E", "start": "07:00", "hours": 8}
LATE_SHIFT: Doc = {"id": "L", "start": "15:00", "hours": 8}
NIGHT_SHIFT: Doc = {"id": "N", "start": "23:00", "hours": 8}

SKILLS = ("aseptic", "transduction", "harvest", "cryo", "device")
# Aseptic work (activation, washes, feeds, IPC) is the most common step, so more people hold it.
SKILL_WEIGHTS = (3, 2, 2, 2, 2)
SKILL_COUNT_CHOICES = (2, 3, 4)
SKILL_COUNT_WEIGHTS = (3, 4, 3)
MIN_SKILL_HOLDER_SHARE = 0.35
SCARCE_SKILL = "transduction"
# Two-operator steps (four-eyes chain-of-identity checks) need two holders on a shift.
MIN_SKILL_COVER = 2

ISOLATOR = "isolator"
CLOSED_SYSTEM = "closed-system"
LENTI_PRODUCT = "bcma-lv-01"
DEVICE_PRODUCT = "cd19-auto-02"
ISOLATOR_SUITE_SHARE = 0.6

IN_PROGRESS_SHARE = 0.5  # of all positions, at horizon start
OVERLOAD_FACTOR = 1.5
# Starts can run a few days past the last window opening (window width, shelf-life), and a
# position is held ~9.5 days on average (lenti ~11, device ~8): used to size the overload plant.
OVERLOAD_EXTRA_START_DAYS = 5
MEAN_OCCUPANCY_DAYS = 9.5
URGENT_SHARE = 0.1
CRYO_SHARE = 0.12
PREVIOUS_SHARE = 0.3
LOCKED_SHARE = 0.08  # of the patients with a previous date
COLLECTED_SHARE = 0.05
NO_INFUSION_LATEST_SHARE = 0.2
APHERESIS_SPREAD_SHARE = {"xs": 0.3}  # of the horizon; other sizes use the default
DEFAULT_APHERESIS_SPREAD_SHARE = 0.4
# With shifts at 07:00 and 15:00 the longest gap between shift starts is 16 h: a fresh
# batch needs at least that much between receipt and shelf-life end to be startable at all.
MIN_FRESH_START_WINDOW_HOURS = 16
# QC starts per assay and day, as a multiple of the average demand per lab working day.
QC_PEAK_FACTOR = {"sterility": 1.6}
DEFAULT_QC_PEAK_FACTOR = 2.0
# Starts per day, as a multiple of the average new starts per weekday.
STARTS_PEAK_FACTOR = 1.5
# Slack days for weekends and lab waits when checking that a chain fits the horizon.
CHAIN_SLACK_DAYS = 2
MAX_RETURN_TRANSIT_DAYS = 2

UNAVAILABLE_REASONS = {
    ISOLATOR: ("isolator requalification", "glove integrity failure", "HVAC maintenance"),
    CLOSED_SYSTEM: ("device requalification", "HVAC maintenance", "annual shutdown clean"),
}
SHARED_UNAVAILABLE_REASON = "environmental monitoring excursion"
DOWNTIME_SUITE_SHARE = 0.4

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


def _iso(day: date) -> str:
    return day.isoformat()


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M")


def _number(value: float) -> int | float:
    # Whole numbers are written as integers, as the models write them back.
    return int(value) if float(value).is_integer() else value


def _add_real_hours(naive_local: datetime, hours: float) -> datetime:
    """Local wall time `hours` real hours after a local wall time (SPEC 2: hours are real)."""
    zone = ZoneInfo(TIMEZONE)
    instant = naive_local.replace(tzinfo=zone, fold=0).astimezone(UTC) + timedelta(hours=hours)
    return instant.astimezone(zone).replace(tzinfo=None)


def _manufacturing_days(product: Doc) -> int:
    return math.ceil(float(product["manufacturing_hours"]) / 24)


def _chain_days(product: Doc) -> int:
    """Days from apheresis to delivery with little waiting: keeps windows reachable."""
    qc_done: int = max(a["sample_day_offset"] + a["duration_days"] for a in product["qc_assays"])
    in_plant = max(_manufacturing_days(product), qc_done)
    release: int = product["qp_release_days"]
    return 1 + in_plant + CHAIN_SLACK_DAYS + release + MAX_RETURN_TRANSIT_DAYS


class _Builder:
    """Builds one instance; methods run in a fixed order so the random stream is reproducible."""

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
        self.size = size
        self.spec = spec
        self.seed = seed
        self.scenario = scenario
        self.name = name
        self.site_id = site_id
        self.locked_share = locked_share
        # True: one suite requalified in the busy weeks; None: maybe one late maintenance.
        self.maintenance = maintenance
        self.rng = random.Random(seed)
        self.spring = seed % 2 == 1  # the dst scenario alternates spring and autumn by seed
        if scenario == "dst":
            self.start = DST_SPRING_START if self.spring else DST_AUTUMN_START
        elif scenario == "holidays":
            self.start = HOLIDAY_START
        else:
            self.start = NORMAL_START
        self.days = spec.horizon_days
        self.dates = [self.start + timedelta(days=i) for i in range(self.days)]
        self.end = self.start + timedelta(days=self.days)
        # A night crew needs people to spare: never at xs (six operators), always in the dst
        # scenario (a night shift that runs across the clock change), half the time at l/xl.
        self.night = scenario == "dst" and size != "xs"
        if size in ("l", "xl") and scenario != "dst":
            self.night = self.rng.random() < 0.5
        self.shifts: list[Doc] = [dict(EARLY_SHIFT), dict(LATE_SHIFT)]
        if self.night:
            self.shifts.append(dict(NIGHT_SHIFT))
        lab_saturday = size in ("l", "xl", "ghent")
        self.lab_days = WEEKDAYS[:6] if lab_saturday else WEEKDAYS[:5]
        self.lab_closed = self._lab_closed_dates()

    # --- top level -------------------------------------------------------------------

    def build(self) -> Doc:
        """Assemble the whole document."""
        products = self._products()
        suites = self._suites()
        operators = self._operators()
        hospitals = self._hospitals(products)
        patients = self._patients(products, hospitals, suites)
        qc_capacity = self._qc_capacity(products)
        in_progress = self._in_progress(products, suites, hospitals, operators, qc_capacity)
        self._add_unavailability(products, suites, in_progress)
        self._roster(operators)
        self._staff_in_progress(products, operators, in_progress)
        if self.scenario == "infeasible-commitments":
            self._break_commitments(products, operators, in_progress)
        return {
            "format": FORMAT,
            "name": self.name,
            "site": {
                "id": self.site_id,
                "timezone": TIMEZONE,
                "shifts": self.shifts,
                "max_starts_per_day": self._max_starts(),
            },
            "horizon": {"start": _iso(self.start), "days": self.days},
            "products": products,
            "suites": suites,
            "operators": [
                {"id": op["id"], "skills": op["skills"], "roster": self._roster_entries(op)}
                for op in operators
            ],
            "qc_lab": {
                "working_days": list(self.lab_days),
                "closed_dates": [_iso(d) for d in self.lab_closed],
                "capacity": qc_capacity,
            },
            "hospitals": [{k: v for k, v in h.items() if not k.startswith("_")} for h in hospitals],
            "patients": patients,
            "in_progress": in_progress,
        }

    # --- products ----------------------------------------------------------------------

    def _products(self) -> list[Doc]:
        rng = self.rng
        dst = self.scenario == "dst"
        lenti_hours = rng.choice((240, 246, 252, 258))
        # A step must fall before manufacturing ends: a 240 h process harvests on day 9.
        harvest_day = 10 if lenti_hours > 240 else 9
        lenti_steps = [
            _step("activation", 0, rng.choice((3, 3.5, 4)), 2, "aseptic"),
            _step("transduction", 1, rng.choice((1.5, 2)), 2, "transduction"),
            _step("wash", 2, 1, 1, "aseptic"),
            _step("feed-ipc", 5, rng.choice((0.75, 1, 1.5)), 2, "aseptic"),
            _step("feed", 7, rng.choice((0.5, 1)), 1, "aseptic"),
            _step("harvest-formulation", harvest_day, rng.choice((4, 4.5)), 2, "harvest"),
            _step("fill-freeze", harvest_day, 1.5, 2, "cryo"),
        ]
        if rng.random() < 0.4:
            lenti_steps = [s for s in lenti_steps if s["id"] != "feed"]
        lenti_assays = [
            _assay("sterility", harvest_day, 7, 2),
            _assay("mycoplasma", harvest_day, rng.choice((1, 2)), rng.choice((1, 2))),
            _assay("endotoxin", harvest_day, 1, 2),
            _assay("viability", harvest_day, 0, 1),
            _assay("vcn", harvest_day, 2, 2),
            _assay("identity", harvest_day, 1, rng.choice((1, 2))),
        ]
        if rng.random() < 0.5:
            lenti_assays.append(_assay("potency", harvest_day, rng.choice((2, 3)), 2))
        lenti = {
            "id": LENTI_PRODUCT,
            # Fixed in the dst scenario: with the hospitals' collection end and transit they
            # put receipt and shelf-life end exactly on shift starts in real time on the
            # clock-change Sunday, an hour off by the wall clock (see _dst_hospital).
            "fresh_shelf_life_hours": 72 if dst else rng.choice((48, 60, 72)),
            "receipt_hours": 4 if dst else rng.choice((4, 6)),
            "manufacturing_hours": lenti_hours,
            "changeover_hours": rng.choice((8, 12, 16, 24)),
            "suite_types": [ISOLATOR],
            "steps": lenti_steps,
            "qc_assays": lenti_assays,
            "qp_release_days": rng.choice((1, 2)),
        }
        device_harvest = 7
        device = {
            "id": DEVICE_PRODUCT,
            "fresh_shelf_life_hours": 48,
            "receipt_hours": 3 if dst else rng.choice((3, 4)),
            "manufacturing_hours": rng.choice((180, 186, 192)),
            "changeover_hours": _number(rng.choice((1, 1.5, 2, 3))),
            "suite_types": [CLOSED_SYSTEM],
            "steps": [
                _step("setup-selection", 0, rng.choice((2.5, 3)), 2, "device"),
                _step("transduction", 1, 1, 1, "transduction"),
                _step("ipc-sampling", 5, rng.choice((0.5, 1)), 1, "aseptic"),
                _step("harvest", device_harvest, rng.choice((2, 2.5)), 2, "device"),
                _step("fill-freeze", device_harvest, 1.5, 2, "cryo"),
            ],
            "qc_assays": [
                _assay("sterility", device_harvest, 7, rng.choice((1, 2))),
                _assay("mycoplasma", device_harvest, 1, 2),
                _assay("endotoxin", device_harvest, 1, rng.choice((1, 2))),
                _assay("viability", device_harvest, 0, 2),
                _assay("identity", device_harvest, rng.choice((1, 2)), 1),
            ],
            "qp_release_days": rng.choice((1, 2)),
        }
        return [lenti, device]

    # --- suites ------------------------------------------------------------------------

    def _suites(self) -> list[Doc]:
        count = self.spec.suites
        if self.scenario == "overload":
            # A plant sized for the normal demand meets 1.5x of it: a position holds about
            # (collection weeks + a few days) / occupancy batches whose chains fit the horizon.
            per_position = (self._spread_days() + OVERLOAD_EXTRA_START_DAYS) / MEAN_OCCUPANCY_DAYS
            needed = self.spec.patients / per_position / self.spec.positions
            count = max(2, min(count, round(needed)))
        isolators = min(count - 1, max(1, round(count * ISOLATOR_SUITE_SHARE)))
        positions = self.spec.positions
        return [
            {
                "id": f"S{index + 1:02d}",
                "type": ISOLATOR if index < isolators else CLOSED_SYSTEM,
                "positions": positions,
                "unavailable": [],
            }
            for index in range(count)
        ]

    def _positions_of(self, suites: list[Doc], suite_type: str) -> int:
        return sum(s["positions"] for s in suites if s["type"] == suite_type)

    def _isolator_patient_share(self, products: list[Doc], suites: list[Doc]) -> float:
        """Share of patients on the lentiviral product that loads both suite types equally."""
        lenti, device = products
        lenti_rate = self._positions_of(suites, ISOLATOR) / _occupancy_days(lenti)
        device_rate = self._positions_of(suites, CLOSED_SYSTEM) / _occupancy_days(device)
        return lenti_rate / (lenti_rate + device_rate)

    # --- operators and roster ---------------------------------------------------------------

    def _operators(self) -> list[Doc]:
        rng = self.rng
        count = self.spec.operators
        operators: list[Doc] = []
        for index in range(count):
            k = rng.choices(SKILL_COUNT_CHOICES, SKILL_COUNT_WEIGHTS)[0]
            skills = _weighted_sample(rng, SKILLS, SKILL_WEIGHTS, k)
            operators.append({"id": f"OP{index + 1:03d}", "skills": skills})
        need = max(2, math.ceil(count * MIN_SKILL_HOLDER_SHARE))
        for skill in SKILLS:
            if self.scenario == "scarce-skill" and skill == SCARCE_SKILL:
                continue
            order = list(range(count))
            rng.shuffle(order)
            for index in order:
                if sum(skill in op["skills"] for op in operators) >= need:
                    break
                op = operators[index]
                if skill not in op["skills"] and len(op["skills"]) < max(SKILL_COUNT_CHOICES):
                    op["skills"].append(skill)
        if self.scenario == "scarce-skill":
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

    def _staffed_shifts(self, day: date) -> list[str]:
        """Shifts whose skill cover the roster guarantees on `day` (the night crew is extra)."""
        if self.scenario == "holidays" and day in HOLIDAY_SKELETON_DAYS:
            return ["E"]
        if self.size == "xs":
            return ["E"]
        if self.size == "s" and day.weekday() >= SATURDAY:
            return ["E"]
        return ["E", "L"]

    def _roster(self, operators: list[Doc]) -> None:
        """Give every operator a 5-of-7 rota, leave, then top up thin skill cover."""
        rng = self.rng
        weeks = math.ceil(self.days / 7)
        night_crew = max(2, round(0.08 * len(operators))) if self.night else 0
        patterns = ["E", "L", "EL", "LE"] if self.size != "xs" else ["E"]
        weekend_off_share = 0.4 if self.size == "xs" else 0.6
        order = list(range(len(operators)))
        rng.shuffle(order)
        for rank, index in enumerate(order):
            op = operators[index]
            pattern = "N" if rank < night_crew else patterns[rank % len(patterns)]
            off: set[date] = set()
            for week in range(weeks):
                monday = self.start + timedelta(days=7 * week)
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
                first = rng.randrange(self.days)
                leave.update(
                    self.start + timedelta(days=first + d) for d in range(rng.randint(2, 5))
                )
            if self.scenario == "holidays":
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
            for day in self.dates:
                if day in off or day in leave:
                    continue
                op["_shifts"][day] = self._pattern_shift(pattern, day)
        self._top_up_cover(operators)

    def _pattern_shift(self, pattern: str, day: date) -> str:
        if pattern == "N":
            return "N"
        week = (day - self.start).days // 7
        shift = pattern[week % len(pattern)]
        staffed = self._staffed_shifts(day)
        return shift if shift in staffed else staffed[0]

    def _top_up_cover(self, operators: list[Doc]) -> None:
        """Add rota days until each skill has two holders on every staffed shift, where possible."""
        tie = {op["id"]: self.rng.random() for op in operators}
        for day in self.dates:
            week = (day - self.start).days // 7
            for shift in self._staffed_shifts(day):
                for skill in SKILLS:
                    if self.scenario == "scarce-skill" and skill == SCARCE_SKILL:
                        continue
                    need = MIN_SKILL_COVER
                    if self.scenario == "holidays" and day in CHRISTMAS_AND_NEW_YEAR:
                        need = 1
                    holders = [op for op in operators if skill in op["skills"]]
                    have = sum(op["_shifts"].get(day) == shift for op in holders)
                    free = [
                        op for op in holders if day not in op["_shifts"] and day not in op["_leave"]
                    ]
                    free.sort(key=lambda op: (self._days_in_week(op, week), tie[op["id"]]))
                    for op in free[: max(0, need - have)]:
                        op["_shifts"][day] = shift

    def _days_in_week(self, op: Doc, week: int) -> int:
        monday = self.start + timedelta(days=7 * week)
        return sum(monday + timedelta(days=d) in op["_shifts"] for d in range(7))

    def _roster_entries(self, op: Doc) -> list[Doc]:
        return [{"date": _iso(day), "shift": op["_shifts"][day]} for day in sorted(op["_shifts"])]

    def _staff_in_progress(
        self, products: list[Doc], operators: list[Doc], in_progress: list[Doc]
    ) -> None:
        """Roster enough hands for the remaining steps of running batches: those are commitments.

        Steps are booked first-fit against each operator's shift hours, as a coordinator would
        check the rota, and rota days are added where the booked hands run out.
        """
        by_id = {p["id"]: p for p in products}
        shift_hours = {s["id"]: s["hours"] for s in self.shifts}
        booked: dict[tuple[str, date], float] = {}
        for batch in sorted(in_progress, key=lambda b: b["manufacturing_start"]):
            start = datetime.fromisoformat(batch["manufacturing_start"]).date()
            steps = by_id[batch["product"]]["steps"]
            for step in sorted(steps, key=lambda s: (s["day_offset"], -s["hours"])):
                day = start + timedelta(days=step["day_offset"])
                if not self.start <= day < self.end:
                    continue
                holders = [op for op in operators if step["skill"] in op["skills"]]
                need, hours = step["operators"], step["hours"]
                team: list[Doc] = []
                for shift in self._staffed_shifts(day):
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
                        if op["_shifts"].get(day) not in (None, shift)
                        and (op["id"], day) not in booked
                    ]
                    if len(fit) + len(free) + len(movable) >= need:
                        fit.sort(key=lambda op: booked.get((op["id"], day), 0))
                        team = (fit + free + movable)[:need]
                        for op in team:
                            op["_shifts"][day] = shift
                        break
                for op in team:
                    booked[(op["id"], day)] = booked.get((op["id"], day), 0) + hours

    # --- QC lab ------------------------------------------------------------------------

    def _lab_closed_dates(self) -> list[date]:
        closed = HOLIDAY_QC_CLOSED if self.scenario == "holidays" else QC_PUBLIC_HOLIDAYS
        return [d for d in closed if self.start <= d < self.end]

    def _lab_open(self, day: date) -> bool:
        return WEEKDAYS[day.weekday()] in self.lab_days and day not in self.lab_closed

    def _qc_capacity(self, products: list[Doc]) -> dict[str, int]:
        """Assay starts per day sized to the normal demand (the overload scenario keeps them)."""
        batches = self.spec.patients + round(
            IN_PROGRESS_SHARE * self.spec.suites * self.spec.positions
        )
        # Harvests spread over the collection weeks plus one process length.
        harvest_days = self._spread_days() + 10
        per_lab_day = batches / (harvest_days * len(self.lab_days) / 7)
        capacity: dict[str, int] = {}
        for product in products:
            for assay in product["qc_assays"]:
                factor = QC_PEAK_FACTOR.get(assay["id"], DEFAULT_QC_PEAK_FACTOR)
                capacity[assay["id"]] = max(2, math.ceil(per_lab_day * factor))
        return dict(sorted(capacity.items()))

    # --- site --------------------------------------------------------------------------

    def _spread_days(self) -> int:
        share = APHERESIS_SPREAD_SHARE.get(self.size, DEFAULT_APHERESIS_SPREAD_SHARE)
        return max(3, round(share * self.days))

    def _max_starts(self) -> int:
        """Starts per date: the normal demand per weekday with headroom for clustering."""
        per_weekday = self.spec.patients / (self._spread_days() * 5 / 7)
        return max(2, math.ceil(per_weekday * STARTS_PEAK_FACTOR))

    # --- hospitals ---------------------------------------------------------------------

    def _hospitals(self, products: list[Doc]) -> list[Doc]:
        rng = self.rng
        count = self.spec.hospitals
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
                "transit_hours": _number(transit),
                "collection_end": rng.choice(COLLECTION_END_CHOICES),
                "return_transit_days": 1 if transit <= 8 else 2,
                "apheresis_capacity": {d: capacity[d] for d in WEEKDAYS if d in capacity},
                "closed_dates": [],
                "booked_elsewhere": {},
            }
            if self.scenario == "dst" and number % 2 == 1:
                self._dst_hospital(hospital, products)
            closed = [d for d in PUBLIC_HOLIDAYS if self.start <= d < self.end]
            if self.scenario == "holidays":
                closed = [d for d in HOLIDAY_HOSPITAL_CLOSED if self.start <= d < self.end]
            if rng.random() < 0.3:
                closed.append(self.start + timedelta(days=rng.randrange(self._spread_days())))
            hospital["closed_dates"] = [_iso(d) for d in sorted(set(closed))]
            booked: dict[str, int] = {}
            chairs_by_day: dict[str, int] = hospital["apheresis_capacity"]
            for day in self.dates[: self._spread_days() + 7]:
                chairs = chairs_by_day.get(WEEKDAYS[day.weekday()], 0)
                if chairs and _iso(day) not in hospital["closed_dates"] and rng.random() < 0.12:
                    booked[_iso(day)] = rng.randint(1, chairs)
            hospital["booked_elsewhere"] = booked
            hospitals.append(hospital)
        return hospitals

    def _dst_hospital(self, hospital: Doc, products: list[Doc]) -> None:
        """Tune a hospital so the clock change decides which shift a fresh batch can start in.

        Spring: collection ends 14:00 and courier + receipt take 17 h, so Saturday's material
        is received at 07:00 by the wall clock but 08:00 in real time on the change Sunday,
        missing shift E; a 72 h (lenti) or 48 h (device) shelf-life ends 14:00 by the wall
        clock but 15:00 in real time, so shift L is just reachable. Autumn mirrors both:
        collection ends 15:00, Saturday's material is received 07:00 in real time (E is
        reachable, 08:00 by the wall clock) and shelf-life ends 14:00 (L is missed).
        """
        lenti = products[0]
        collection_end = "14:00" if self.spring else "15:00"
        hospital["collection_end"] = collection_end
        hospital["transit_hours"] = 17 - lenti["receipt_hours"]
        hospital["return_transit_days"] = 1
        capacity = dict(hospital["apheresis_capacity"])
        for weekday in ("Thu", "Fri", "Sat"):
            capacity[weekday] = 2  # the clock-change weekend draws extra collections here
        hospital["apheresis_capacity"] = {d: capacity[d] for d in WEEKDAYS if d in capacity}
        hospital["_dst"] = True

    def _collection_days(self, hospital: Doc, first: date, last: date) -> list[date]:
        closed = set(hospital["closed_dates"])
        days = []
        day = first
        while day <= last:
            chairs = hospital["apheresis_capacity"].get(WEEKDAYS[day.weekday()], 0)
            if chairs > hospital["booked_elsewhere"].get(_iso(day), 0) and _iso(day) not in closed:
                days.append(day)
            day += timedelta(days=1)
        return days

    # --- patients ----------------------------------------------------------------------

    def _patients(self, products: list[Doc], hospitals: list[Doc], suites: list[Doc]) -> list[Doc]:
        rng = self.rng
        count = self.spec.patients
        if self.scenario == "overload":
            count = round(count * OVERLOAD_FACTOR)
        n_lenti = round(count * self._isolator_patient_share(products, suites))
        product_of = [products[0]] * n_lenti + [products[1]] * (count - n_lenti)
        rng.shuffle(product_of)
        window_start = self._window_starts(products, product_of)
        weights = [sum(h["apheresis_capacity"].values()) for h in hospitals]
        collected = set(rng.sample(range(count), max(1, round(COLLECTED_SHARE * count))))
        drafts: list[Doc] = []
        for index, product in enumerate(product_of):
            near_change = window_start[index] <= DST_CHANGE_DAY
            if self.scenario == "dst" and near_change and rng.random() < DST_PATIENT_SHARE:
                hospital = rng.choice([h for h in hospitals if h.get("_dst")])
            else:
                hospital = rng.choices(hospitals, weights)[0]
            material = "cryopreserved" if rng.random() < CRYO_SHARE else "fresh"
            start_window = (
                product["fresh_shelf_life_hours"]
                - hospital["transit_hours"]
                - product["receipt_hours"]
            )
            if start_window < MIN_FRESH_START_WINDOW_HOURS:
                material = "cryopreserved"  # far centres ship frozen material
            weight = rng.choice((2, 3)) if rng.random() < URGENT_SHARE else 1
            if index in collected:
                draft = self._collected_patient(rng, product, hospital, material)
            else:
                draft = self._new_patient(rng, product, hospital, material, window_start[index])
            draft.update(weight=weight, _hospital=hospital, _product=product)
            drafts.append(draft)
        self._add_previous_dates(drafts)
        drafts.sort(
            key=lambda d: (d["_earliest"], d["_hospital"]["id"], d["_product"]["id"], d["_seq"])
        )
        return [self._patient_doc(f"P{number:04d}", d) for number, d in enumerate(drafts, start=1)]

    def _window_starts(self, products: list[Doc], product_of: list[Doc]) -> list[int]:
        """Apheresis-window openings (day offsets), stratified per product.

        Referrals arrive as a steady stream, not in random clumps: each product's patients
        get one opening per equal slice of the collection weeks, jittered within the slice.
        """
        rng = self.rng
        starts = [0] * len(product_of)
        for product in products:
            last = max(0, min(self._spread_days(), self.days - _chain_days(product) - 2))
            members = [i for i, p in enumerate(product_of) if p is product]
            rng.shuffle(members)
            for rank, index in enumerate(members):
                starts[index] = math.floor((last + 1) * (rank + rng.random()) / len(members))
        return starts

    def _new_patient(
        self, rng: random.Random, product: Doc, hospital: Doc, material: str, first_day: int
    ) -> Doc:
        earliest = self.start + timedelta(days=first_day)
        latest = earliest + timedelta(days=rng.randint(2, 6))
        # A window without a single collection day is a data-entry error, not a test case.
        for _ in range(7):
            if self._collection_days(hospital, earliest, latest):
                break
            earliest += timedelta(days=1)
            latest += timedelta(days=1)
        return self._with_infusion(rng, product, material, earliest, latest, None)

    def _collected_patient(
        self, rng: random.Random, product: Doc, hospital: Doc, material: str
    ) -> Doc:
        if material == "fresh" and rng.random() < 0.5:
            collected_on = self.start - timedelta(days=rng.randint(0, 1))
        else:
            material = "cryopreserved"  # collected last week or earlier and frozen at the site
            collected_on = self.start - timedelta(days=rng.randint(2, 10))
        earliest = collected_on - timedelta(days=rng.randint(0, 2))
        latest = max(collected_on, earliest + timedelta(days=rng.randint(2, 6)))
        return self._with_infusion(rng, product, material, earliest, latest, collected_on)

    def _with_infusion(
        self,
        rng: random.Random,
        product: Doc,
        material: str,
        earliest: date,
        latest: date,
        collected_on: date | None,
    ) -> Doc:
        # Material collected before the horizon can only start now, so its window follows.
        infusion_earliest = max(earliest, self.start) + timedelta(days=rng.randint(20, 30))
        # Windows opening at the horizon end would make the patient trivially unschedulable.
        infusion_earliest = min(infusion_earliest, self.end - timedelta(days=rng.randint(2, 5)))
        infusion_latest = None
        if rng.random() >= NO_INFUSION_LATEST_SHARE:
            infusion_latest = infusion_earliest + timedelta(days=rng.randint(10, 21))
        return {
            "_seq": rng.random(),
            "_earliest": earliest,
            "material": material,
            "apheresis_window": {"earliest": _iso(earliest), "latest": _iso(latest)},
            "infusion_window": {"earliest": _iso(infusion_earliest)}
            | ({"latest": _iso(infusion_latest)} if infusion_latest else {}),
            "collected_on": _iso(collected_on) if collected_on else None,
        }

    def _add_previous_dates(self, drafts: list[Doc]) -> None:
        """Previous dates form last week's plan, so together they respect the chairs."""
        rng = self.rng
        open_drafts = [i for i, d in enumerate(drafts) if d["collected_on"] is None]
        chosen = rng.sample(open_drafts, round(PREVIOUS_SHARE * len(open_drafts)))
        used: dict[tuple[str, date], int] = {}
        with_previous = []
        for index in sorted(chosen):
            draft = drafts[index]
            hospital = draft["_hospital"]
            window = draft["apheresis_window"]
            days = self._collection_days(
                hospital,
                date.fromisoformat(window["earliest"]),
                date.fromisoformat(window["latest"]),
            )
            free = [
                d
                for d in days
                if used.get((hospital["id"], d), 0) + hospital["booked_elsewhere"].get(_iso(d), 0)
                < hospital["apheresis_capacity"][WEEKDAYS[d.weekday()]]
            ]
            if not free:
                continue
            day = rng.choice(free)
            used[(hospital["id"], day)] = used.get((hospital["id"], day), 0) + 1
            draft["previous"] = {"apheresis_date": _iso(day)}
            with_previous.append(index)
        locked = round(self.locked_share * len(with_previous))
        if locked == 0 and len(with_previous) >= 5:
            locked = 1
        for index in rng.sample(with_previous, locked):
            drafts[index]["locked"] = True

    def _patient_doc(self, patient_id: str, draft: Doc) -> Doc:
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

    # --- batches in progress -------------------------------------------------------------

    def _in_progress(
        self,
        products: list[Doc],
        suites: list[Doc],
        hospitals: list[Doc],
        operators: list[Doc],
        qc_capacity: dict[str, int],
    ) -> list[Doc]:
        rng = self.rng
        slots = [(s, p) for s in suites for p in range(1, s["positions"] + 1)]
        count = round(IN_PROGRESS_SHARE * len(slots))
        picked = sorted(rng.sample(range(len(slots)), count))
        holders = {skill: sum(skill in op["skills"] for op in operators) for skill in SKILLS}
        books = _Books(qc_capacity, holders, EARLY_SHIFT["hours"], self._max_starts())
        batches: list[Doc] = []
        for slot_index in picked:
            suite, position = slots[slot_index]
            product = products[0] if suite["type"] == ISOLATOR else products[1]
            start = self._in_progress_start(rng, product, books)
            if start is None:
                continue  # nothing that week could have been started here: the position idles
            batch: Doc = {
                "patient": f"P{9001 + len(batches)}",
                "product": product["id"],
                "hospital": rng.choice(hospitals)["id"],
                "suite": suite["id"],
                "position": position,
                "manufacturing_start": _stamp(start),
            }
            if rng.random() < 0.4:
                done = self._latest_delivery(product, start.date())
                earliest = done - timedelta(days=rng.randint(3, 8))
                latest = max(done + timedelta(days=rng.randint(3, 10)), earliest)
                latest = min(latest, self.end - timedelta(days=1))
                if latest >= done:
                    batch["infusion_window"] = {"earliest": _iso(earliest), "latest": _iso(latest)}
            batches.append(batch)
        return batches

    def _in_progress_start(
        self, rng: random.Random, product: Doc, books: _Books
    ) -> datetime | None:
        """A start before the horizon whose remaining work fits the plant (it is a commitment).

        Its remaining assays must find lab days with capacity left, its remaining steps must
        leave hands for the rest, and it must be delivered inside the horizon.
        """
        for _ in range(50):
            days_before = rng.randint(1, _manufacturing_days(product))
            day = self.start - timedelta(days=days_before)
            if self._latest_delivery(product, day) >= self.end:
                continue
            booking = self._commitment_booking(product, day, books)
            if booking is not None:
                books.commit(day, *booking)
                shift = rng.choice((EARLY_SHIFT, LATE_SHIFT))
                return datetime.fromisoformat(f"{_iso(day)}T{shift['start']}")
        return None

    def _commitment_booking(
        self, product: Doc, start_day: date, books: _Books
    ) -> tuple[list[tuple[str, date]], list[tuple[str, date, float]]] | None:
        """The QC starts and step hours a running batch still needs, if the plant has them."""
        if books.starts.get(start_day, 0) >= books.max_starts:
            return None
        assays: list[tuple[str, date]] = []
        for assay in product["qc_assays"]:
            sample = start_day + timedelta(days=assay["sample_day_offset"])
            if sample < self.start:
                continue  # taken as started on its sample date: uses no capacity
            window = [sample + timedelta(days=w) for w in range(assay["max_wait_days"] + 1)]
            free = [
                d
                for d in window
                if d < self.end and self._lab_open(d) and books.qc_free(assay["id"], d)
            ]
            if not free:
                return None
            assays.append((assay["id"], free[0]))
        steps: list[tuple[str, date, float]] = []
        for step in product["steps"]:
            day = start_day + timedelta(days=step["day_offset"])
            if self.start <= day < self.end:
                steps.append((step["skill"], day, step["hours"] * step["operators"]))
        if not books.hands_free(steps):
            return None
        return assays, steps

    def _latest_delivery(self, product: Doc, start_day: date) -> date:
        """Delivery date if every assay waits as long as it may (an upper bound)."""
        done = max(
            start_day
            + timedelta(days=a["sample_day_offset"] + a["max_wait_days"] + a["duration_days"])
            for a in product["qc_assays"]
        )
        end = _add_real_hours(
            datetime.combine(start_day, datetime.min.time()), product["manufacturing_hours"] + 24
        ).date()
        release = max(done, end) + timedelta(days=product["qp_release_days"])
        return release + timedelta(days=MAX_RETURN_TRANSIT_DAYS)

    # --- suite downtime ----------------------------------------------------------------

    def _add_unavailability(
        self, products: list[Doc], suites: list[Doc], in_progress: list[Doc]
    ) -> None:
        rng = self.rng
        if self.scenario == "downtime":
            count, lengths, first_day, latitude = (
                max(1, round(DOWNTIME_SUITE_SHARE * len(suites))),
                (2, 5),
                2,
                self._spread_days() - 2,
            )
        elif self.maintenance:
            # A requalification announced for the busy weeks, which the plan must work around.
            count, lengths, first_day, latitude = 1, (2, 3), 7, self._spread_days() - 7
        elif self.maintenance is None and rng.random() < 0.35:
            # Planned maintenance goes where the plan is thin: after the last collections.
            count, lengths, first_day, latitude = 1, (1, 2), self._spread_days() + 10, self.days
        else:
            return
        for suite in rng.sample(suites, count):
            # Requalification is planned around running batches, never through them.
            free_from = datetime.combine(self.start, datetime.min.time())
            for batch in in_progress:
                if batch["suite"] == suite["id"]:
                    product = next(p for p in products if p["id"] == batch["product"])
                    occupied = product["manufacturing_hours"] + product["changeover_hours"]
                    end = _add_real_hours(
                        datetime.fromisoformat(batch["manufacturing_start"]), occupied
                    )
                    free_from = max(free_from, end)
            length = rng.randint(*lengths)
            lo = max((free_from.date() - self.start).days + 1, first_day)
            hi = min(lo + latitude, self.days - length - 1)
            if hi < lo:
                continue
            day = self.start + timedelta(days=rng.randint(lo, hi))
            suite["unavailable"].append(
                {
                    "start": f"{_iso(day)}T00:00",
                    "end": f"{_iso(day + timedelta(days=length))}T07:00",
                    "reason": rng.choice(
                        (*UNAVAILABLE_REASONS[suite["type"]], SHARED_UNAVAILABLE_REASON)
                    ),
                }
            )

    # --- broken commitments --------------------------------------------------------------

    def _break_commitments(
        self, products: list[Doc], operators: list[Doc], in_progress: list[Doc]
    ) -> None:
        """Make the fixed work impossible in a way a coordinator can see at a glance."""
        by_id = {p["id"]: p for p in products}
        holders = {s: sum(s in op["skills"] for op in operators) for s in SKILLS}
        remaining = []
        for batch in in_progress:
            start = datetime.fromisoformat(batch["manufacturing_start"]).date()
            for step in by_id[batch["product"]]["steps"]:
                day = start + timedelta(days=step["day_offset"])
                if self.start <= day < self.end:
                    remaining.append((holders[step["skill"]], day, step["skill"]))
        if self.seed % 2 == 0 and remaining:
            # A remaining step on a day when no holder of its skill is rostered at all.
            _, day, skill = min(remaining)
            for op in operators:
                if skill in op["skills"]:
                    op["_shifts"].pop(day, None)
            return
        # Two running batches booked on one position at overlapping times.
        first = min(in_progress, key=lambda b: b["manufacturing_start"])
        start = datetime.fromisoformat(first["manufacturing_start"]) + timedelta(days=1)
        if start.date() >= self.start:
            start -= timedelta(days=2)
        in_progress.append(
            {
                **first,
                "patient": f"P{9001 + len(in_progress)}",
                "manufacturing_start": _stamp(start),
            }
        )
        in_progress[-1].pop("infusion_window", None)


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


def _step(step_id: str, day_offset: int, hours: float, operators: int, skill: str) -> Doc:
    return {
        "id": step_id,
        "day_offset": day_offset,
        "hours": _number(hours),
        "operators": operators,
        "skill": skill,
    }


def _assay(assay_id: str, sample_day_offset: int, duration_days: int, max_wait_days: int) -> Doc:
    return {
        "id": assay_id,
        "sample_day_offset": sample_day_offset,
        "duration_days": duration_days,
        "max_wait_days": max_wait_days,
    }


def _occupancy_days(product: Doc) -> float:
    return float(product["manufacturing_hours"] + product["changeover_hours"]) / 24


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
