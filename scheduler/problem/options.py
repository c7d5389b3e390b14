"""Per-patient candidate (apheresis date, start shift) options: the option filter.

In-progress batches become commitments in `in_progress.py`, with the same builder.

Everything that can be decided for one batch alone is decided here, before the CP-SAT model
is built: windows, chairs open at all, shelf-life (C3), start shifts (C4), suites free of
downtime (C5), steps that some rostered team could staff (C6), assays that some lab day could
start (C7) and the earliest possible delivery (C8–C10). What survives is small, and every
candidate dropped leaves a reason a coordinator can act on.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from models import Instance, Patient, Product
from models.instance import Hospital, QcAssay, Step
from models.timeutil import add_hours, at_clock
from scheduler.problem import reasons
from scheduler.problem.calendar import ShiftSlot, SiteCalendar
from scheduler.problem.roster import Roster


@dataclass(frozen=True)
class SuiteClass:
    """Suite positions that are interchangeable: same type, same downtime (pooled capacity)."""

    index: int
    suite_type: str
    members: tuple[tuple[str, int], ...]  # (suite id, position), in suite order
    unavailable: tuple[tuple[datetime, datetime], ...]  # aware, half-open

    @property
    def capacity(self) -> int:
        """How many batches the class can hold at once."""
        return len(self.members)

    def free_during(self, start: datetime, until: datetime) -> bool:
        """Whether `[start, until)` touches no downtime of this class."""
        return all(
            until <= down_start or start >= down_end for down_start, down_end in self.unavailable
        )


@dataclass(frozen=True)
class StartOption:
    """One way to start a patient's manufacturing: a shift slot, its suites and its QC days."""

    slot: ShiftSlot
    end: datetime
    occupied_until: datetime
    end_day: int  # day index of the local date of manufacturing_end
    apheresis_dates: tuple[date, ...]
    classes: tuple[int, ...]
    assay_days: tuple[tuple[int, ...], ...]  # per product assay: allowed start day indices
    earliest_delivery: int  # day index: every assay on its first allowed day (C8, C9)


@dataclass(frozen=True)
class _SlotFacts:
    """What starting one product in one shift slot implies, whoever the patient."""

    end: datetime
    occupied_until: datetime
    end_day: int
    classes: tuple[int, ...]
    assay_days: tuple[tuple[int, ...], ...]
    release: int  # the earliest release day: every assay on its first allowed day


@dataclass
class PatientOptions:
    """The candidate starts of one new patient, or why there are none."""

    patient: Patient
    product: Product
    hospital: Hospital
    starts: list[StartOption]
    rejections: Counter[str] = field(default_factory=Counter)

    def assay_never_decides_delivery(self, assay_index: int) -> bool:
        """Whether the assay ends in time on its last possible day for every start (C8, C9).

        Then its day never moves the delivery: only the lab's capacity cares which day it is.
        """
        assay = self.product.qc_assays[assay_index]
        after_release = self.product.qp_release_days + self.hospital.return_transit_days
        return all(
            option.assay_days[assay_index][-1] + assay.duration_days + after_release
            <= option.earliest_delivery
            for option in self.starts
        )

    @property
    def uses_chair(self) -> bool:
        """Whether the collection still has to happen (and so needs a chair, C2)."""
        return self.patient.collected_on is None

    @property
    def apheresis_dates(self) -> list[date]:
        """Apheresis dates compatible with at least one candidate start."""
        return sorted({day for option in self.starts for day in option.apheresis_dates})


def build_suite_classes(instance: Instance, calendar: SiteCalendar) -> list[SuiteClass]:
    """Group suite positions into pooled classes; suites with a batch starting inside the horizon stay per position."""
    pinned_suites = {
        batch.suite
        for batch in instance.in_progress
        if calendar.local(batch.manufacturing_start) >= calendar.horizon_start
    }
    groups: dict[tuple[object, ...], list[tuple[str, int]]] = {}
    downtime: dict[tuple[object, ...], tuple[tuple[datetime, datetime], ...]] = {}
    for suite in instance.suites:
        periods = tuple(
            sorted((calendar.local(p.start), calendar.local(p.end)) for p in suite.unavailable)
        )
        for position in range(1, suite.positions + 1):
            # Pooling is exact only when every fixed batch starts before every new one (then a
            # greedy colouring in start order always finds a free position); otherwise keep apart.
            key: tuple[object, ...] = (suite.type, periods)
            if suite.id in pinned_suites:
                key = (suite.type, periods, suite.id, position)
            groups.setdefault(key, []).append((suite.id, position))
            downtime[key] = periods
    return [
        SuiteClass(index, str(key[0]), tuple(members), downtime[key])
        for index, (key, members) in enumerate(groups.items())
    ]


def class_of_position(classes: list[SuiteClass], suite_id: str, position: int) -> int:
    """The class holding one suite position."""
    return next(c.index for c in classes if (suite_id, position) in c.members)


class OptionBuilder:
    """Enumerates candidate options for new patients and the remaining work of in-progress batches."""

    def __init__(self, instance: Instance, calendar: SiteCalendar, roster: Roster) -> None:
        self.instance = instance
        self.calendar = calendar
        self.roster = roster
        self.classes = build_suite_classes(instance, calendar)
        self._lab_days = self._qc_lab_open_days()
        self._slot_cache: dict[tuple[str, ShiftSlot], _SlotFacts | str] = {}

    def with_roster(self, instance: Instance, roster: Roster) -> OptionBuilder:
        """This builder for the same site with other operators (suites, lab and horizon unchanged).

        The suite classes and lab days are kept; what depends on who is rostered is recomputed.
        """
        builder = copy.copy(self)
        builder.instance, builder.roster, builder._slot_cache = instance, roster, {}
        return builder

    # ----- shared pieces -------------------------------------------------------------------

    def _qc_lab_open_days(self) -> set[int]:
        lab = self.instance.qc_lab
        return {day for day in range(self.calendar.days) if lab.is_open(self.calendar.date(day))}

    def assay_start_days(self, assay: QcAssay, sample_day: int) -> tuple[int, ...]:
        """Lab days an assay sampled on `sample_day` may start on, ending inside the horizon (C7, C10), earliest first."""
        lab = self.instance.qc_lab
        if lab.capacity.get(assay.id, 0) <= 0 and not lab.capacity_by_date:
            return ()
        return tuple(
            day
            for day in range(max(sample_day, 0), sample_day + assay.max_wait_days + 1)
            if day in self._lab_days
            and day + assay.duration_days < self.calendar.days
            and lab.capacity_on(assay.id, self.calendar.date(day)) > 0
        )

    def step_shifts(self, step: Step, day: date) -> list[str]:
        """Site shifts on `day` in which a team for `step` is rostered (C6, static part)."""
        return [
            shift.id
            for shift in self.instance.site.shifts
            if step.hours <= shift.hours
            and self.roster.can_staff(day, shift.id, step.skill, step.operators)
        ]

    def manufacturing_end_day(self, end: datetime) -> int:
        return self.calendar.day(end.astimezone(self.calendar.zone).date())

    # ----- new patients --------------------------------------------------------------------

    def patient_options(self, patient: Patient) -> PatientOptions:
        """Every feasible-in-isolation start of one new patient, with reasons for the rest."""
        product = self.instance.product_by_id[patient.product]
        hospital = self.instance.hospital_by_id[patient.hospital]
        options = PatientOptions(patient, product, hospital, [])
        apheresis_dates = self._apheresis_candidates(patient, hospital, options.rejections)
        starts: dict[ShiftSlot, list[date]] = {}
        for apheresis_date in apheresis_dates:
            slots = self._material_slots(patient, product, hospital, apheresis_date)
            if not slots:
                options.rejections[
                    self._material_reason(patient, product, hospital, apheresis_date)
                ] += 1
            for slot in slots:
                starts.setdefault(slot, []).append(apheresis_date)
        for slot in sorted(starts, key=lambda s: s.start):
            option = self._start_option(
                patient, product, hospital, slot, starts[slot], options.rejections
            )
            if option is not None:
                options.starts.append(option)
        return options

    def _apheresis_candidates(
        self, patient: Patient, hospital: Hospital, rejections: Counter[str]
    ) -> list[date]:
        if patient.collected_on is not None:
            return [patient.collected_on]
        window = patient.apheresis_window
        if patient.locked:
            assert patient.previous_apheresis_date is not None  # checked when loading
            days = [patient.previous_apheresis_date]
        else:
            days = self._window_days_around_horizon(window.earliest, window.latest)
        candidates = []
        for day in days:
            reason = self._chair_reason(patient, hospital, day)
            if reason:
                rejections[reason] += 1
            else:
                candidates.append(day)
        return candidates

    def _window_days_around_horizon(self, earliest: date, latest: date) -> list[date]:
        """The window's days inside the horizon, plus its first day before and after it.

        A window may reach years past the horizon; one day on each side is enough to name
        the C2 reason, and keeps the work bounded by the horizon, not by the window.
        """
        first = max(earliest, self.calendar.start_date)
        last = min(latest, self.calendar.end_date - timedelta(days=1))
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        if earliest < self.calendar.start_date:
            days.insert(0, earliest)
        if latest >= self.calendar.end_date:
            days.append(max(earliest, self.calendar.end_date))
        return days

    def _chair_reason(self, patient: Patient, hospital: Hospital, day: date) -> str | None:
        window = patient.apheresis_window
        where = f"{hospital.id} ({hospital.name})"
        if not window.earliest <= day <= window.latest:
            return reasons.locked_date_outside_window(day, window.earliest, window.latest)
        if not self.calendar.in_horizon(day):
            return reasons.apheresis_outside_horizon(
                day, self.calendar.start_date, self.calendar.date(self.calendar.days - 1)
            )
        if day in hospital.closed_dates:
            return reasons.hospital_closed(where, day)
        chairs = hospital.chairs_on(day)
        if chairs <= 0:
            return reasons.no_collection_on_weekday(where, day)
        booked = hospital.booked_elsewhere.get(day, 0)
        if booked >= chairs:
            return reasons.chairs_booked_elsewhere(chairs, where, day)
        return None

    def _material_window(
        self, patient: Patient, product: Product, hospital: Hospital, apheresis_date: date
    ) -> tuple[datetime, datetime | None]:
        zone = self.calendar.zone
        collected = at_clock(apheresis_date, hospital.collection_end_time, zone)
        arrival = add_hours(collected, hospital.transit_hours, zone)
        earliest = add_hours(arrival, product.receipt_hours, zone)
        latest = (
            add_hours(collected, product.fresh_shelf_life_hours, zone)
            if patient.material == "fresh"
            else None
        )
        return earliest, latest

    def _material_slots(
        self, patient: Patient, product: Product, hospital: Hospital, apheresis_date: date
    ) -> list[ShiftSlot]:
        earliest, latest = self._material_window(patient, product, hospital, apheresis_date)
        return [
            slot
            for slot in self.calendar.slots
            if slot.start >= earliest and (latest is None or slot.start <= latest)
        ]

    def _material_reason(
        self, patient: Patient, product: Product, hospital: Hospital, apheresis_date: date
    ) -> str:
        earliest, latest = self._material_window(patient, product, hospital, apheresis_date)
        if latest is not None and latest < earliest:
            return reasons.fresh_material_expires(apheresis_date, latest, earliest)
        if latest is not None:
            return reasons.no_shift_within_shelf_life(apheresis_date, earliest, latest)
        return reasons.material_after_last_shift(apheresis_date, earliest)

    def _start_option(
        self,
        patient: Patient,
        product: Product,
        hospital: Hospital,
        slot: ShiftSlot,
        apheresis_dates: list[date],
        rejections: Counter[str],
    ) -> StartOption | None:
        facts = self._slot_facts(product, slot)
        if isinstance(facts, str):
            rejections[facts] += 1
            return None
        window = patient.infusion_window
        delivery = max(
            facts.release + hospital.return_transit_days, self.calendar.day(window.earliest)
        )
        start_text = f"a start on {slot.label}"
        if window.latest is not None and delivery > self.calendar.day(window.latest):
            rejections[
                reasons.delivery_after_infusion_window(
                    start_text, hospital.id, self.calendar.date(delivery), window.latest
                )
            ] += 1
            return None
        if delivery >= self.calendar.days:
            rejections[
                reasons.delivery_after_horizon(
                    start_text, hospital.id, self.calendar.date(delivery), self.calendar.end_date
                )
            ] += 1
            return None
        return StartOption(
            slot,
            facts.end,
            facts.occupied_until,
            facts.end_day,
            tuple(apheresis_dates),
            facts.classes,
            facts.assay_days,
            delivery,
        )

    def _slot_facts(self, product: Product, slot: ShiftSlot) -> _SlotFacts | str:
        """What a start of `product` in `slot` implies for any patient, or why no patient can start there."""
        key = (product.id, slot)
        if key not in self._slot_cache:  # patients of one product share these: computed once
            self._slot_cache[key] = self._compute_slot_facts(product, slot)
        return self._slot_cache[key]

    def _compute_slot_facts(self, product: Product, slot: ShiftSlot) -> _SlotFacts | str:
        zone = self.calendar.zone
        start_text = f"a start on {slot.label}"
        end = add_hours(slot.start, product.manufacturing_hours, zone)
        if end > self.calendar.horizon_end:
            return reasons.manufacturing_ends_after_horizon(start_text, end, self.calendar.end_date)
        max_starts = self.instance.site.max_starts_per_day
        if max_starts is not None and max_starts <= 0:
            return reasons.site_allows_no_starts()
        occupied_until = add_hours(end, product.changeover_hours, zone)
        classes = tuple(
            c.index
            for c in self.classes
            if c.suite_type in product.suite_types and c.free_during(slot.start, occupied_until)
        )
        if not classes:
            return reasons.suites_unavailable(
                "/".join(product.suite_types), slot.start, occupied_until, start_text
            )
        step_reason = self._step_reason(product, slot, start_text)
        if step_reason:
            return step_reason
        assay_days: list[tuple[int, ...]] = []
        for assay in product.qc_assays:
            sample_day = slot.day + assay.sample_day_offset
            days = self.assay_start_days(assay, sample_day)
            if not days:
                sample = self.calendar.date(sample_day)
                return reasons.no_lab_day(assay, sample, start_text)
            assay_days.append(days)
        end_day = self.manufacturing_end_day(end)
        release = (
            max(
                [end_day]
                + [
                    days[0] + a.duration_days
                    for a, days in zip(product.qc_assays, assay_days, strict=True)
                ]
            )
            + product.qp_release_days
        )
        return _SlotFacts(end, occupied_until, end_day, classes, tuple(assay_days), release)

    def _step_reason(self, product: Product, slot: ShiftSlot, start_text: str) -> str | None:
        for step in product.steps:
            day = slot.date + timedelta(days=step.day_offset)
            if not self.calendar.in_horizon(day):
                return reasons.step_after_horizon(step, day, start_text)
            shifts = [slot.shift.id] if step.day_offset == 0 else self.step_shifts(step, day)
            if step.day_offset == 0 and not (
                step.hours <= slot.shift.hours
                and self.roster.can_staff(day, slot.shift.id, step.skill, step.operators)
            ):
                shifts = []
            if not shifts:
                where = (
                    f"shift {slot.shift.id} on {day:%a %Y-%m-%d}"
                    if step.day_offset == 0
                    else f"any shift on {day:%a %Y-%m-%d}"
                )
                return reasons.no_team_rostered(step, where, start_text)
        return None

    # ----- in-progress batches -------------------------------------------------------------
