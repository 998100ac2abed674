"""When the care team can contact a patient: the centre's working hours (`AlertConfig`), as plain values.

A same-day report is looked at by the team during its working hours. What the patient is promised must be
honest: "today" only on a working day before the working day ends; otherwise the next working day, with the
advice to call the unit (day or night) if it gets worse before then.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from recovery.clinical.config import AlertConfig

# A calendar without a working day in this many days is a configuration error: the promise then names no day.
SEARCH_DAYS = 60


@dataclass(frozen=True)
class ContactPromise:
    today: bool  # the team can still contact the patient today
    day: date | None  # the (centre-local) day by which the team contacts the patient; None if no working day
    opens: time  # when the team's working day starts
    closes: time  # when it ends


def is_working_day(day: date, config: AlertConfig) -> bool:
    return day.weekday() in config.working_days and day.isoformat() not in config.holidays


def next_working_day(day: date, config: AlertConfig) -> date | None:
    """`day` itself if it is a working day, else the first working day after it (None if none comes soon)."""
    for offset in range(SEARCH_DAYS):
        candidate = day + timedelta(days=offset)
        if is_working_day(candidate, config):
            return candidate
    return None


def contact_promise(at: datetime, centre_timezone: str, config: AlertConfig) -> ContactPromise:
    """What the team can promise a patient at the aware instant `at`, by the centre's working hours.

    On a working day before `working_hours_end` (before the start too: the team starts later that day), today;
    after it, at a weekend or on a holiday, the next working day.
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    local = at.astimezone(ZoneInfo(centre_timezone))
    opens, closes = time(*config.working_hours_start), time(*config.working_hours_end)
    day = local.date()
    if is_working_day(day, config) and local.time() < closes:
        return ContactPromise(today=True, day=day, opens=opens, closes=closes)
    return ContactPromise(
        today=False, day=next_working_day(day + timedelta(days=1), config), opens=opens, closes=closes
    )
