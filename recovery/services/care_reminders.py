"""Reminders for labs, prophylaxis and vaccination, planned with the check-ins (recovery.services.notifications).

`planned` returns the rows to plan for a patient's local dates [`first`, `last`]; `why_not` says, when a
row is due, whether it still applies.
"""

from datetime import date, datetime

from recovery.clinical.config import ReminderConfig
from recovery.models import Notification, Patient, TransplantEpisode
from recovery.services.configuration import ActiveConfig


def planned(
    *,
    patient: Patient,
    episode: TransplantEpisode,
    first: date,
    last: date,
    channels: list[str],
    config: ActiveConfig,
    reminders: ReminderConfig,
) -> list[dict]:
    """Rows to plan, each a dict of `notifications._Planned` fields: kind, channel, audience, key, due_at
    (aware UTC), local_date, safety_critical, and optionally about_at, event_id, detail (the message's facts)."""
    return []


def why_not(notification: Notification, now: datetime) -> tuple[str, str] | None:
    """(status, reason) when a due row no longer applies (the dose was given, the lab was done); else None."""
    return None
