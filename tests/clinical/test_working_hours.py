"""What a patient is promised after a same-day report: today within the centre's working hours, else the next
working day (Monday to Friday, 08:00-16:30 centre time by default; holidays from the configuration)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from recovery.clinical.config import AlertConfig
from recovery.clinical.working_hours import contact_promise, next_working_day

STOCKHOLM = "Europe/Stockholm"
CONFIG = AlertConfig()


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(STOCKHOLM))


@pytest.mark.parametrize(
    ("at", "today", "day"),
    [
        ("2026-11-18 07:00", True, "2026-11-18"),  # Wednesday before the day starts: still today
        ("2026-11-18 10:00", True, "2026-11-18"),
        ("2026-11-18 16:29", True, "2026-11-18"),
        ("2026-11-18 16:30", False, "2026-11-19"),  # the working day has ended: tomorrow
        ("2026-11-18 23:50", False, "2026-11-19"),
        ("2026-11-20 15:00", True, "2026-11-20"),  # Friday afternoon
        ("2026-11-20 18:00", False, "2026-11-23"),  # Friday evening: Monday
        ("2026-11-21 09:00", False, "2026-11-23"),  # Saturday: Monday
        ("2026-11-22 23:59", False, "2026-11-23"),  # Sunday night: Monday
        ("2026-11-23 00:01", True, "2026-11-23"),  # Monday just after midnight: today
        ("2026-06-17 16:00", True, "2026-06-17"),  # summer time: local hours, not UTC
    ],
    ids=[
        "before-start",
        "morning",
        "just-before-end",
        "at-end",
        "late-evening",
        "friday-afternoon",
        "friday-evening",
        "saturday",
        "sunday-night",
        "monday-early",
        "summer-time",
    ],
)
def test_contact_promise_follows_the_working_week(at, today, day):
    promise = contact_promise(local(at), STOCKHOLM, CONFIG)
    assert (promise.today, promise.day) == (today, date.fromisoformat(day))


def test_the_instant_is_read_in_the_centres_time_zone():
    """16:00 UTC on a winter Wednesday is 17:00 in Stockholm (after hours) but 11:00 in New York (today)."""
    instant = datetime(2026, 11, 18, 16, 0, tzinfo=ZoneInfo("UTC"))
    assert contact_promise(instant, STOCKHOLM, CONFIG).today is False
    assert contact_promise(instant, "America/New_York", CONFIG).today is True


@pytest.mark.parametrize(
    ("at", "today", "day"),
    [
        ("2026-12-24 10:00", False, "2026-12-28"),  # Christmas Eve (Thursday) to Boxing Day off: Monday
        ("2026-12-23 18:00", False, "2026-12-28"),  # the evening before the holidays: after them
        ("2026-12-23 12:00", True, "2026-12-23"),
    ],
)
def test_public_holidays_are_not_working_days(at, today, day):
    config = AlertConfig(holidays=("2026-12-24", "2026-12-25"))
    promise = contact_promise(local(at), STOCKHOLM, config)
    assert (promise.today, promise.day) == (today, date.fromisoformat(day))


def test_the_hours_come_from_the_configuration():
    config = AlertConfig(working_hours_start=(7, 0), working_hours_end=(20, 0), working_days=(0, 1, 2, 3, 4, 5))
    assert contact_promise(local("2026-11-18 19:00"), STOCKHOLM, config).today is True
    saturday = contact_promise(local("2026-11-21 09:00"), STOCKHOLM, config)
    assert (saturday.today, saturday.opens.hour, saturday.closes.hour) == (True, 7, 20)


def test_a_calendar_without_working_days_promises_no_day():
    config = AlertConfig(working_days=())
    promise = contact_promise(local("2026-11-18 10:00"), STOCKHOLM, config)
    assert (promise.today, promise.day) == (False, None)
    assert next_working_day(date(2026, 11, 18), config) is None


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="aware"):
        contact_promise(datetime(2026, 11, 18, 10, 0), STOCKHOLM, CONFIG)
