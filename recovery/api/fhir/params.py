"""FHIR search parameters: `date` with its prefixes and partial dates, `_count`, `patient`, the paging cursor.

A date without a time is a day in UTC (`DateRange.q_date` compares days the same way); a time needs its zone.
Each value stands for a range (2025 is the year, 2025-03 the month, 2025-03-10T08:15Z the minute) and the prefix
says which side of it is kept: `eq` the range, `ge` from its start, `gt` from its end, `le` up to its end, `lt` up
to its start. Several values narrow the window together (`date=ge2025-01-01&date=lt2025-06-01`).
"""

from dataclasses import dataclass
from datetime import datetime

from recovery.api.fhir.common import FhirError
from recovery.clinical import fhir_time
from recovery.queries.fhir.common import DateRange

DEFAULT_COUNT = 50
MAX_COUNT = 200
PREFIXES = ("eq", "ge", "gt", "le", "lt")
DATE_HELP = (
    "Write a date as YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss][Z|+hh:mm], after an optional prefix "
    "eq, ge, gt, le or lt: for example date=ge2025-01-01&date=lt2025-06-01."
)


class ParameterError(FhirError):
    """A search parameter the server cannot use: answered 400 with an OperationOutcome saying why."""


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: the first patient's position in the ordered patients, the size of the batch of
    patients read together from there, and how many resources of that batch earlier pages showed."""

    position: int = 0
    batch: int = 0
    skip: int = 0

    def __str__(self) -> str:
        return f"{self.position}.{self.batch}.{self.skip}"


def value_range(text: str, name: str = "date") -> tuple[datetime, datetime]:
    """The range [start, end) a date value stands for, in UTC (recovery.clinical.fhir_time)."""
    try:
        return fhir_time.parse(text).utc_range()
    except fhir_time.FhirTimeError as error:
        if error.reason == fhir_time.NO_ZONE:
            raise ParameterError(f"{name}={text!r}: a time needs its time zone (Z or +01:00). {DATE_HELP}") from None
        if error.reason == fhir_time.NOT_REAL:
            raise ParameterError(f"{name}={text!r} is not a real date or time. {DATE_HELP}") from None
        raise ParameterError(f"{name}={text!r} is not a date. {DATE_HELP}") from None


def date_range(values: list[str]) -> DateRange:
    """The window of the `date` values, each narrowing it further."""
    start: datetime | None = None
    end: datetime | None = None
    for raw in values:
        text = raw.strip().replace(" ", "+")  # an unencoded "+01:00" in a query string arrives as " 01:00"
        prefix = text[:2] if text[:2].isalpha() else "eq"
        if prefix not in PREFIXES:
            if not text[2:3].isdigit():
                raise ParameterError(f"date={raw!r} is not a date. {DATE_HELP}")
            raise ParameterError(f"date={raw!r}: the prefix {text[:2]!r} is not supported. {DATE_HELP}")
        low, high = value_range(text[2:] if text[:2].isalpha() else text)
        new_start = {"eq": low, "ge": low, "gt": high}.get(prefix)
        new_end = {"eq": high, "le": high, "lt": low}.get(prefix)
        if new_start is not None and (start is None or new_start > start):
            start = new_start
        if new_end is not None and (end is None or new_end < end):
            end = new_end
    return DateRange(start, end)


def count(values: list[str]) -> int:
    if not values:
        return DEFAULT_COUNT
    if len(values) > 1:
        raise ParameterError("Give _count once.")
    text = values[0].strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_COUNT:
        raise ParameterError(f"_count={values[0]!r}: give a whole number from 1 to {MAX_COUNT}.")
    return int(text)


def patient_id(values: list[str]) -> str | None:
    """The patient's id from `patient=ID` or `patient=Patient/ID`; None without the parameter."""
    if not values:
        return None
    if len(values) > 1 or "," in values[0]:
        raise ParameterError("Give one patient: patient=ID or patient=Patient/ID.")
    value = values[0].strip()
    if value.startswith("Patient/"):
        value = value.removeprefix("Patient/")
    elif "/" in value:
        raise ParameterError(f"patient={values[0]!r}: give the patient's id, or Patient/ followed by it.")
    if not value:
        raise ParameterError("patient= is empty: give the patient's id.")
    return value


def cursor(values: list[str]) -> Cursor:
    if not values:
        return Cursor()
    parts = values[0].split(".")
    if len(values) > 1 or len(parts) != 3 or not all(part.isdigit() and len(part) < 10 for part in parts):
        raise ParameterError("_cursor is not one this server gave: follow the Bundle's next link as it is.")
    position, batch, skip = (int(part) for part in parts)
    return Cursor(position, batch, skip)
