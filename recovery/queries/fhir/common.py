"""What every FHIR R4 resource builder shares (issue 17): the date window of a search, references, instants.

A resource type is a `ResourceType`: `search(patients, dates)` gives the resources of those patients (a
queryset the caller has already narrowed by `access`) in the window, as plain JSON dicts, in a number of
queries that does not grow with the rows. Definitional resources that belong to no patient (a Questionnaire)
come from `definitions()`. The registry of types is `recovery.queries.fhir.RESOURCE_TYPES`.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from recovery.models import Patient


@dataclass(frozen=True)
class DateRange:
    """A search's `date` window: `start` inclusive, `end` exclusive, aware; None is open on that side."""

    start: datetime | None = None
    end: datetime | None = None

    def q(self, field: str) -> Q:
        """The window on a DateTimeField."""
        q = Q()
        if self.start is not None:
            q &= Q(**{f"{field}__gte": self.start})
        if self.end is not None:
            q &= Q(**{f"{field}__lt": self.end})
        return q

    def q_date(self, field: str) -> Q:
        """The window on a DateField: the days that overlap it (a day is compared as UTC midnight to midnight)."""
        q = Q()
        if self.start is not None:
            q &= Q(**{f"{field}__gte": self.start.astimezone(UTC).date()})
        if self.end is not None:
            q &= Q(**{f"{field}__lt": _day_after_or_same(self.end)})
        return q


ALL_TIME = DateRange()


def _day_after_or_same(moment: datetime) -> date:
    """The first day not in the window ending (exclusive) at `moment`."""
    moment = moment.astimezone(UTC)
    day = moment.date()
    return day if moment.time() == time(0) else date.fromordinal(day.toordinal() + 1)


@dataclass(frozen=True)
class ResourceType:
    name: str  # "Observation"
    search: Callable[[QuerySet[Patient], DateRange], list[dict]] | None = None
    definitions: Callable[[], list[dict]] | None = None  # resources that belong to no patient
    description: str = ""  # for the CapabilityStatement


def patient_reference(patient: Patient) -> dict:
    return {"reference": f"Patient/{patient.uuid}"}


def instant(moment: datetime) -> str:
    """A FHIR instant/dateTime in UTC: 2025-03-10T07:15:00Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def local_instant(moment: datetime, zone: ZoneInfo) -> str:
    """A FHIR dateTime with the offset of the patient's own zone: 2025-03-10T08:15:00+01:00."""
    return moment.astimezone(zone).isoformat()


def fhir_date(day: date) -> str:
    return day.isoformat()
