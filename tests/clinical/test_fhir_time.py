"""recovery/clinical/fhir_time.py: the one reading of FHIR R4 date/dateTime values (search, $everything, lab
Bundles), table by table: what is read, at which precision and for which range; what is refused and why."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from recovery.clinical.fhir_time import NO_ZONE, NOT_REAL, SYNTAX, FhirTimeError, Precision, parse

CET = timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    ("text", "precision", "start", "end"),
    [
        ("2025", Precision.YEAR, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)),
        ("2025-12", Precision.MONTH, datetime(2025, 12, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)),
        ("2024-02", Precision.MONTH, datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-02-29", Precision.DAY, datetime(2024, 2, 29, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)),
        (
            "2025-03-10T08:15+01:00",
            Precision.MINUTE,
            datetime(2025, 3, 10, 8, 15, tzinfo=CET),
            datetime(2025, 3, 10, 8, 16, tzinfo=CET),
        ),
        (
            "2025-03-10T08:15:30Z",
            Precision.SECOND,
            datetime(2025, 3, 10, 8, 15, 30, tzinfo=UTC),
            datetime(2025, 3, 10, 8, 15, 31, tzinfo=UTC),
        ),
        (
            "2025-03-10T08:15:30.5Z",
            Precision.FRACTION,
            datetime(2025, 3, 10, 8, 15, 30, 500000, tzinfo=UTC),
            datetime(2025, 3, 10, 8, 15, 30, 600000, tzinfo=UTC),
        ),
        (  # nine digits, as some laboratory systems write: kept to the microsecond
            "2025-03-10T08:15:30.123456789-05:00",
            Precision.FRACTION,
            datetime(2025, 3, 10, 8, 15, 30, 123456, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2025, 3, 10, 8, 15, 30, 123457, tzinfo=timezone(timedelta(hours=-5))),
        ),
        (
            "2025-03-10T23:59:59+14:00",
            Precision.SECOND,
            datetime(2025, 3, 10, 23, 59, 59, tzinfo=timezone(timedelta(hours=14))),
            datetime(2025, 3, 11, 0, 0, 0, tzinfo=timezone(timedelta(hours=14))),
        ),
    ],
)
def test_values_read_with_their_precision_and_range(text, precision, start, end):
    value = parse(text)
    assert (value.precision, value.start, value.end) == (precision, start, end)
    assert value.start.utcoffset() == start.utcoffset()  # the moment as written, in its own offset
    assert value.has_time == (precision >= Precision.MINUTE)


def test_the_utc_range_of_a_time_with_an_offset():
    assert parse("2025-03-10T08:15+01:00").utc_range() == (
        datetime(2025, 3, 10, 7, 15, tzinfo=UTC),
        datetime(2025, 3, 10, 7, 16, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", SYNTAX),
        ("yesterday", SYNTAX),
        ("25", SYNTAX),
        ("2025-3-10", SYNTAX),
        ("2025-03-10 08:15Z", SYNTAX),  # a space, not T
        ("2025-03-10T08Z", SYNTAX),  # an hour without minutes
        ("2025-03-10T08:15:30.Z", SYNTAX),
        ("2025-03-10T08:15+0100", SYNTAX),
        (" 2025-03-10", SYNTAX),  # the caller strips
        ("\uff12\uff10\uff12\uff15", SYNTAX),  # full-width digits: digits, but not ASCII ones
        ("2025-03-10T08:15", NO_ZONE),
        ("2025-03-10T08:15:30.5", NO_ZONE),
        ("2025-13", NOT_REAL),
        ("2025-02-29", NOT_REAL),
        ("2025-04-31", NOT_REAL),
        ("0000", NOT_REAL),
        ("2025-03-10T24:00Z", NOT_REAL),
        ("2025-03-10T08:60Z", NOT_REAL),
        ("2025-03-10T08:15:60Z", NOT_REAL),  # FHIR allows a leap second; Python's datetime cannot hold it
        ("2025-03-10T08:15+14:30", NOT_REAL),  # beyond FHIR's +/-14:00
        ("2025-03-10T08:15+01:60", NOT_REAL),
        ("9999-12-31T23:59Z", NOT_REAL),  # its range ends past the last datetime
    ],
)
def test_values_refused_say_why(text, reason):
    with pytest.raises(FhirTimeError) as refused:
        parse(text)
    assert refused.value.reason == reason
    assert refused.value.text == text


def test_not_a_string_is_a_syntax_error():
    with pytest.raises(FhirTimeError) as refused:
        parse(20250310)
    assert refused.value.reason == SYNTAX
