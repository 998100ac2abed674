"""The history of a transplant's dates and what a change of them would do: plain values shared by the
transplant services (`recovery.services.timeline`), the transplant page and the API."""

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from recovery.clinical.episode import DATE_FIELDS
from recovery.clinical.phases import EpisodeDates
from recovery.models import ProtocolTemplate

EPISODE_FIELDS = ("protocol", *DATE_FIELDS, "cd34_dose")


@dataclass(frozen=True)
class ChangeImpact:
    """What saving a set of transplant fields would change, worked out before anything is kept."""

    phase_before: str
    phase_after: str
    on_or_after_day0: bool  # the patient was on or after Day 0 before the change
    dates_cleared: list[str]  # phase dates (PHASE_DATE_FIELDS) that had a value and would be empty
    dates_moved: list[str]  # phase dates that would get another value
    events_created: int
    events_moved: int
    events_removed: int
    reminders_cancelled: int  # pending reminders that would no longer be sent
    reminders_moved: int  # pending reminders that would be sent at another time
    version: str = ""  # the episode as it was when this was worked out (see `save_episode`'s confirmed_version)

    @property
    def needs_confirmation(self) -> bool:
        """Destructive: timeline events would be deleted, or a phase date cleared or moved after Day 0."""
        return self.events_removed > 0 or (self.on_or_after_day0 and bool(self.dates_cleared or self.dates_moved))

    def as_dict(self) -> dict:
        return {
            "phase_before": self.phase_before,
            "phase_after": self.phase_after,
            "dates_cleared": self.dates_cleared,
            "dates_moved": self.dates_moved,
            "timeline_events_removed": self.events_removed,
            "timeline_events_moved": self.events_moved,
            "timeline_events_created": self.events_created,
            "reminders_cancelled": self.reminders_cancelled,
            "reminders_moved": self.reminders_moved,
        }


class ConfirmationRequiredError(Exception):
    """The change is destructive (see `ChangeImpact.needs_confirmation`) and was not confirmed; nothing was saved."""

    def __init__(self, impact: ChangeImpact):
        super().__init__("This change needs confirmation.")
        self.impact = impact


def snapshot(values: dict[str, Any]) -> dict[str, Any]:
    """The transplant's fields as plain JSON values (for the history and the audit)."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "protocol":
            out["protocol"] = value.code if value is not None else None
            out["protocol_id"] = value.pk if value is not None else None
        elif value is None:
            out[name] = None
        elif name == "cd34_dose":
            out[name] = str(value)
        else:
            out[name] = value.isoformat()
    return out


def fields_from_snapshot(values: dict[str, Any]) -> dict[str, Any]:
    """The fields for `save_episode` from a `snapshot` (a history row's `before`)."""
    fields: dict[str, Any] = {}
    for name in EPISODE_FIELDS:
        if name == "protocol":
            pk = values.get("protocol_id")
            fields[name] = ProtocolTemplate.objects.filter(pk=pk).first() if pk is not None else None
        elif values.get(name) is None:
            fields[name] = None
        elif name == "cd34_dose":
            fields[name] = Decimal(values[name])
        else:
            fields[name] = date.fromisoformat(values[name])
    return fields


def version_of(values: dict[str, Any]) -> str:
    """Which state of the episode's fields (as saved, before the change) a confirmation was given for."""
    return hashlib.sha256(json.dumps(snapshot(values), sort_keys=True).encode()).hexdigest()[:16]


def dates_of(values: dict[str, Any]) -> EpisodeDates:
    return EpisodeDates(
        mobilisation=values["mobilisation_date"],
        apheresis=values["apheresis_date"],
        conditioning_start=values["conditioning_start_date"],
        reinfusion=values["reinfusion_date"],
        neutrophil_engraftment=values["neutrophil_engraftment_date"],
    )
