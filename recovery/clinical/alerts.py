"""Alert response targets (domain.md section 8 item 26), as plain values."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from recovery.clinical.config import AlertConfig
from recovery.clinical.working_hours import contact_promise


def response_due(created_at: datetime, severity: str, centre_timezone: str, config: AlertConfig) -> datetime | None:
    """When an alert of this severity must be acknowledged by (aware, UTC). None for no target.

    urgent: `urgent_ack_minutes` after it was raised; same_day: the end (`working_hours_end`) of the working day
    on which the patient is promised contact (`working_hours.contact_promise`: today, or the next working day
    after the day's end, at a weekend or on a holiday), in the centre's time zone, so the team's target is never
    earlier than the patient's promise and never a day later; routine: `routine_ack_hours`.
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
    promise = contact_promise(created_at, centre_timezone, config)
    # No working day in sight is a configuration error: the team still gets a target, the end of the next day.
    day = promise.day or created_at.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, promise.closes, tzinfo=zone).astimezone(ZoneInfo("UTC"))
