"""Response targets: urgent within the hour, same-day by the end of the centre's working day, routine in 48 h."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from recovery.clinical.alerts import response_due
from recovery.clinical.config import AlertConfig

UTC = ZoneInfo("UTC")
CONFIG = AlertConfig()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text else datetime.fromisoformat(text)


@pytest.mark.parametrize(
    ("created", "severity", "expected"),
    [
        ("2026-11-18 10:00", "urgent", "2026-11-18 11:00"),
        ("2026-11-18 10:00", "routine", "2026-11-20 10:00"),
        ("2026-11-18 10:00", "same_day", "2026-11-18 16:00"),  # Wednesday, 17:00 in Stockholm (UTC+1)
        ("2026-11-18 15:59", "same_day", "2026-11-18 16:00"),
        ("2026-11-18 16:00", "same_day", "2026-11-19 16:00"),  # at 17:00 local: the next working day
        ("2026-11-20 17:00", "same_day", "2026-11-23 16:00"),  # Friday evening: Monday
        ("2026-11-21 09:00", "same_day", "2026-11-23 16:00"),  # Saturday: Monday
        ("2026-06-17 10:00", "same_day", "2026-06-17 15:00"),  # summer time: 17:00 is 15:00 UTC
        ("2026-03-27 17:00", "same_day", "2026-03-30 15:00"),  # Friday before the spring change: Monday in summer time
    ],
    ids=[
        "urgent",
        "routine",
        "same-day-morning",
        "just-before-end",
        "at-end",
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
    config = AlertConfig(urgent_ack_minutes=30, working_day_end_hour=16)
    assert response_due(at("2026-11-18 10:00"), "urgent", "Europe/Stockholm", config) == at("2026-11-18 10:30")
    assert response_due(at("2026-11-18 10:00"), "same_day", "Europe/Stockholm", config) == at("2026-11-18 15:00")


def test_naive_time_is_refused():
    """A naive datetime has no instant: refused."""
    with pytest.raises(ValueError, match="aware"):
        response_due(datetime(2026, 11, 18, 10), "urgent", "Europe/Stockholm", CONFIG)
