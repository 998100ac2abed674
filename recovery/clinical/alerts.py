"""Alert response targets (domain.md section 8 item 26), as plain values."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from recovery.clinical.config import AlertConfig


def response_due(created_at: datetime, severity: str, centre_timezone: str, config: AlertConfig) -> datetime | None:
    """When an alert of this severity must be acknowledged by (aware, UTC). None for no target.

    urgent: `urgent_ack_minutes` after it was raised; same_day: the end of the working day in the centre's
    time zone (the next working day's end when raised after it, or on a day off); routine: `routine_ack_hours`.
    """
    if created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    if severity == "urgent":
        return created_at + timedelta(minutes=config.urgent_ack_minutes)
    if severity == "routine":
        return created_at + timedelta(hours=config.routine_ack_hours)
    if severity != "same_day":
        return None
    zone = ZoneInfo(centre_timezone)
    local = created_at.astimezone(zone)
    day = local.date()
    end = time(hour=config.working_day_end_hour)
    if local.time() >= end or day.weekday() not in config.working_days:
        day += timedelta(days=1)
    while day.weekday() not in config.working_days:
        day += timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(ZoneInfo("UTC"))
