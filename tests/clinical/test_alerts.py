"""Response targets: urgent within the hour, same-day by the end of the centre's working day, routine in 48 h."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from recovery.clinical.alerts import response_due
from recovery.clinical.config import AlertConfig
from recovery.clinical.working_hours import contact_promise

UTC = ZoneInfo("UTC")
CONFIG = AlertConfig()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text else datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("created", "severity", "expected"),
    [
        ("2026-11-18 10:00", "urgent", "2026-11-18 11:00"),
        ("2026-11-18 10:00", "routine", "2026-11-20 10:00"),
        ("2026-11-18 10:00", "same_day", "2026-11-18 15:30"),  # Wednesday, 16:30 in Stockholm (UTC+1)
        ("2026-11-18 15:29", "same_day", "2026-11-18 15:30"),
        ("2026-11-18 15:30", "same_day", "2026-11-19 15:30"),  # at 16:30 local: the next working day
        ("2026-11-18 15:45", "same_day", "2026-11-19 15:30"),  # 16:45 local: the patient is promised Thursday
        ("2026-11-20 17:00", "same_day", "2026-11-23 15:30"),  # Friday evening: Monday
        ("2026-11-21 09:00", "same_day", "2026-11-23 15:30"),  # Saturday: Monday
        ("2026-06-17 10:00", "same_day", "2026-06-17 14:30"),  # summer time: 16:30 is 14:30 UTC
        ("2026-03-27 17:00", "same_day", "2026-03-30 14:30"),  # Friday before the spring change: Monday in summer time
    ],
    ids=[
        "urgent",
        "routine",
        "same-day-morning",
        "just-before-end",
        "at-end",
        "16-45-weekday",
        "friday-evening",
        "saturday",
        "summer",
        "across-dst",
    ],
)
def test_response_targets(created, severity, expected):
    """Each severity's target is computed in the centre's time zone, across weekends and DST."""
    assert response_due(at(created), severity, "Europe/Stockholm", CONFIG) == at(expected)


def test_no_target_for_none():
    """A report that needs nothing has no target."""
    assert response_due(at("2026-11-18 10:00"), "none", "Europe/Stockholm", CONFIG) is None


def test_targets_follow_configuration():
    """A centre whose day ends at 16:00 and that answers urgent alerts in 30 minutes gets those targets."""
    config = AlertConfig(urgent_ack_minutes=30, working_hours_end=(16, 0))
    assert response_due(at("2026-11-18 10:00"), "urgent", "Europe/Stockholm", config) == at("2026-11-18 10:30")
    assert response_due(at("2026-11-18 10:00"), "same_day", "Europe/Stockholm", config) == at("2026-11-18 15:00")


def test_naive_time_is_refused():
    """A naive datetime has no instant: refused."""
    with pytest.raises(ValueError, match="aware"):
        response_due(datetime(2026, 11, 18, 10), "urgent", "Europe/Stockholm", CONFIG)


HOLIDAYS = AlertConfig(holidays=("2026-12-24", "2026-12-25", "2026-12-31"))


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        ("2026-12-24 09:00", "2026-12-28 15:30"),  # Christmas Eve (Thursday), a holiday: Monday, after the weekend
        ("2026-12-23 15:45", "2026-12-28 15:30"),  # 16:45 the day before the holidays: Monday
        ("2026-12-23 10:00", "2026-12-23 15:30"),  # the day before, in working hours: that day
        ("2026-12-30 16:00", "2027-01-01 15:30"),  # 17:00 on Wednesday, Thursday a holiday: Friday
    ],
    ids=["on-a-holiday", "evening-before-holidays", "working-day-before", "holiday-after-the-evening"],
)
def test_same_day_targets_skip_holidays(created, expected):
    """A same-day alert raised on or before a public holiday is due by the end of the next working day."""
    assert response_due(at(created), "same_day", "Europe/Stockholm", HOLIDAYS) == at(expected)


@pytest.mark.parametrize("config", [CONFIG, HOLIDAYS, AlertConfig(working_hours_end=(17, 0))], ids=str)
@pytest.mark.parametrize(
    "created",
    [
        "2026-11-18 06:00",  # 07:00, before the team starts
        "2026-11-18 15:29",  # 16:29
        "2026-11-18 15:31",  # 16:31: between the promise's end and the old 17:00 target
        "2026-11-18 15:59",  # 16:59
        "2026-11-20 15:45",  # Friday 16:45
        "2026-11-20 22:00",  # Friday night
        "2026-11-22 12:00",  # Sunday
        "2026-12-24 10:00",  # Christmas Eve
        "2026-12-23 16:10",  # the evening before it
    ],
)
def test_the_target_is_the_end_of_the_day_the_patient_is_promised(created, config):
    """The team's same-day target is the end of the very working day on which the patient is told to expect contact.

    So the target is never earlier than the promise (the team is not let off before the patient expects a call)
    and never a day later (no promise the team is not held to).
    """
    promise = contact_promise(at(created), "Europe/Stockholm", config)
    due = response_due(at(created), "same_day", "Europe/Stockholm", config)
    local = due.astimezone(ZoneInfo("Europe/Stockholm"))
    assert local.date() == promise.day
    assert local.time() == promise.closes == time(*config.working_hours_end)
    assert due > at(created)


def test_a_configuration_stored_with_the_old_end_hour_still_loads():
    """Versions stored before the one working day hold `working_day_end_hour`: ignored; JSON lists are read too."""
    stored = {"working_day_end_hour": 18, "working_hours_end": [16, 0], "holidays": ["2026-11-19"]}
    config = AlertConfig().with_overrides(stored)
    assert not hasattr(config, "working_day_end_hour")
    assert response_due(at("2026-11-18 15:10"), "same_day", "Europe/Stockholm", config) == at("2026-11-20 15:00")
    assert AlertConfig().with_overrides({"working_day_end_hour": 18}) == AlertConfig()
