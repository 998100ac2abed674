"""FHIR R4 date, dateTime and instant values, read one way everywhere (no Django): the `date` search parameters
and `$everything`'s start/end (recovery/api/fhir/params.py) and a lab Observation's effectiveDateTime
(recovery/clinical/fhir_lab_bundle.py).

The grammar is FHIR R4's dateTime (http://hl7.org/fhir/R4/datatypes.html#dateTime): a partial date `YYYY`,
`YYYY-MM` or `YYYY-MM-DD`, or a date and a time of day, and a time **requires** its offset (`Z` or `+hh:mm`/
`-hh:mm`, at most 14 hours). Like the search parameters of FHIR, the seconds may be left out (`2025-03-10T08:15Z`
is the minute); fractions of a second may have any number of digits (kept to the microsecond).

`parse` says what the value is and how precise: a value stands for a range [start, end) (2025 the year, 2025-03
the month, 2025-03-10T08:15Z the minute, ...00.5Z the tenth of a second), which search uses to build its window
and a lab import uses to refuse a result without its time of day. A date without a time is taken as a day in UTC.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import IntEnum


class Precision(IntEnum):
    YEAR = 1
    MONTH = 2
    DAY = 3
    MINUTE = 4
    SECOND = 5
    FRACTION = 6


# Why a value is refused (FhirTimeError.reason).
SYNTAX = "syntax"  # not written as a FHIR date or dateTime
NOT_REAL = "not_real"  # written like one, but no such day or time (2025-02-30, 25:00, +15:00)
NO_ZONE = "no_zone"  # a time of day without its offset

_VALUE = re.compile(
    r"(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d+))?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?",
    re.ASCII,
)
_MAX_OFFSET = timedelta(hours=14)


class FhirTimeError(ValueError):
    """A value that is not a FHIR date or dateTime; `reason` is SYNTAX, NOT_REAL or NO_ZONE."""

    def __init__(self, reason: str, text: str):
        super().__init__(f"{text!r}: {reason}")
        self.reason = reason
        self.text = text


@dataclass(frozen=True)
class FhirTime:
    """A value read: its precision and the range [start, end) it stands for. With a time of day, `start` is in the
    value's own offset (the moment as written); a date's range is whole days in UTC."""

    precision: Precision
    start: datetime
    end: datetime

    @property
    def has_time(self) -> bool:
        return self.precision >= Precision.MINUTE

    def utc_range(self) -> tuple[datetime, datetime]:
        return self.start.astimezone(UTC), self.end.astimezone(UTC)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _zone(text: str) -> timezone:
    if text == "Z":
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if minutes > 59:
        raise ValueError(text)
    offset = timedelta(hours=hours, minutes=minutes)
    if offset > _MAX_OFFSET:
        raise ValueError(text)
    return timezone(-offset if text[0] == "-" else offset)


def parse(text: str) -> FhirTime:
    """The FHIR date or dateTime `text` (as it is: the caller strips it), or FhirTimeError saying why not."""
    match = _VALUE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise FhirTimeError(SYNTAX, str(text))
    parts = match.groupdict()
    if parts["hour"] is not None and parts["zone"] is None:
        raise FhirTimeError(NO_ZONE, text)
    try:
        year = int(parts["year"])
        if parts["month"] is None:
            first, after, precision = date(year, 1, 1), date(year + 1, 1, 1), Precision.YEAR
        elif parts["day"] is None:
            first = date(year, int(parts["month"]), 1)
            after, precision = _add_months(first, 1), Precision.MONTH
        else:
            first = date(year, int(parts["month"]), int(parts["day"]))
            after, precision = first + timedelta(days=1), Precision.DAY
        if parts["hour"] is None:
            midnight = datetime.min.time()
            return FhirTime(precision, datetime.combine(first, midnight, UTC), datetime.combine(after, midnight, UTC))
        fraction = parts["fraction"] or ""
        moment = datetime(
            first.year,
            first.month,
            first.day,
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"] or 0),
            int(fraction[:6].ljust(6, "0")) if fraction else 0,
            tzinfo=_zone(parts["zone"]),
        )
    except (ValueError, OverflowError):
        raise FhirTimeError(NOT_REAL, text) from None
    if parts["second"] is None:
        precision, step = Precision.MINUTE, timedelta(minutes=1)
    elif not fraction:
        precision, step = Precision.SECOND, timedelta(seconds=1)
    else:
        precision, step = Precision.FRACTION, timedelta(microseconds=10 ** (6 - min(len(fraction), 6)))
    try:
        return FhirTime(precision, moment, moment + step)
    except OverflowError:  # the last minute of year 9999
        raise FhirTimeError(NOT_REAL, text) from None
