"""What the hospital order system sends: a prospective patient, and a booking of one date."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field

from models.checks import Problem
from models.instance import (
    DateWindow,
    Instance,
    LocalDate,
    Material,
    Number,
    OpenDateWindow,
    Patient,
    Previous,
    SpecModel,
)

# The service stores ids in columns of 100 characters: longer ones are refused as input.
MAX_ID_LENGTH = 100
StoredIdentifier = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]


class ProspectivePatient(SpecModel):
    """A new patient the order system asks about: everything of a SPEC patient but its id."""

    hospital: StoredIdentifier
    product: StoredIdentifier
    weight: Annotated[Number, Field(ge=0)] = 1
    material: Material
    apheresis_window: DateWindow
    infusion_window: OpenDateWindow

    def as_patient(self, patient_id: str) -> Patient:
        """The SPEC patient this would be, under `patient_id`."""
        return Patient(
            id=patient_id,
            hospital=self.hospital,
            product=self.product,
            weight=self.weight,
            material=self.material,
            apheresis_window=self.apheresis_window,
            infusion_window=self.infusion_window,
        )

    def problems(self, instance: Instance, path: str = "body") -> list[Problem]:
        """What makes this patient impossible to consider against a plan of `instance` (SPEC 7 readings)."""
        found = []
        if self.hospital not in instance.hospital_by_id:
            found.append(Problem(f"{path}.hospital", f"unknown hospital {self.hospital!r}"))
        if self.product not in instance.product_by_id:
            found.append(Problem(f"{path}.product", f"unknown product {self.product!r}"))
        for name in ("apheresis_window", "infusion_window"):
            window = getattr(self, name)
            if window.latest is not None and window.earliest > window.latest:
                found.append(
                    Problem(
                        f"{path}.{name}",
                        f"earliest {window.earliest} is after latest {window.latest}",
                    )
                )
        start = instance.horizon.start
        end = start + timedelta(days=instance.horizon.days - 1)
        window = self.apheresis_window
        if window.latest < start or window.earliest > end:
            found.append(
                Problem(
                    f"{path}.apheresis_window",
                    f"{window.earliest}..{window.latest} lies outside the published plan's horizon {start}..{end}",
                )
            )
        return found


class BookingRequest(ProspectivePatient):
    """A patient, with its id, and the apheresis date chosen among the offers."""

    id: StoredIdentifier
    apheresis_date: LocalDate

    def as_booked_patient(self) -> Patient:
        """The SPEC patient as it enters the published plan: the booked date is now communicated."""
        patient = self.as_patient(self.id)
        patient.previous = Previous(apheresis_date=self.apheresis_date)
        return patient

    def problems(self, instance: Instance, path: str = "body") -> list[Problem]:
        """As for a prospective patient, and the chosen date must lie in its apheresis window."""
        found = super().problems(instance, path)
        if any(ord(character) < 32 for character in self.id):
            found.append(Problem(f"{path}.id", "a patient id cannot contain control characters"))
        window = self.apheresis_window
        if not window.earliest <= self.apheresis_date <= window.latest:
            found.append(
                Problem(
                    f"{path}.apheresis_date",
                    f"{self.apheresis_date} is outside the apheresis window {window.earliest}..{window.latest}",
                )
            )
        return found
