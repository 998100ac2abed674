"""The patient's place on the pathway: today's date in their zone, the episode's dates, the phase today and the
timeline's events with their display status. Reads only."""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from recovery.clinical.phases import EpisodeDates, PhaseState, local_date, phase_on
from recovery.clinical.timeline import (
    DisplayStatus,
    EventStatus,
    display_status,
    overdue_policy,
)
from recovery.models import Patient, TimelineEvent, TransplantEpisode
from recovery.queries.configuration import ActiveConfig


def patient_today(patient: Patient) -> date:
    """Today's date where the patient is."""
    return local_date(timezone.now(), patient.timezone)


def episode_dates(episode: TransplantEpisode | None) -> EpisodeDates:
    if episode is None:
        return EpisodeDates()
    return EpisodeDates(
        mobilisation=episode.mobilisation_date,
        apheresis=episode.apheresis_date,
        conditioning_start=episode.conditioning_start_date,
        reinfusion=episode.reinfusion_date,
        neutrophil_engraftment=episode.neutrophil_engraftment_date,
    )


def current_state(patient: Patient, config: ActiveConfig, today: date | None = None) -> PhaseState:
    """The patient's phase, day and flags today, in their own time zone."""
    episode = getattr(patient, "episode", None) if _has_episode(patient) else None
    return phase_on(episode_dates(episode), today or patient_today(patient), config.phase)


def _has_episode(patient: Patient) -> bool:
    try:
        return patient.episode is not None
    except TransplantEpisode.DoesNotExist:
        return False


def episode_of(patient: Patient) -> TransplantEpisode | None:
    return patient.episode if _has_episode(patient) else None


@dataclass(frozen=True)
class EventView:
    event: TimelineEvent
    status: DisplayStatus
    day: int | None


def events_with_status(events, today: date, config: ActiveConfig, reinfusion: date | None) -> list[EventView]:
    """Each event with the status people see today: a past planned event is overdue only while it is still
    actionable under the centre's configuration (`clinical.timeline.OverduePolicy`), else not recorded."""
    policy = overdue_policy(config.transplant)
    window = config.transplant.due_window_days
    return [
        EventView(
            event=event,
            status=display_status(
                EventStatus(event.status), event.planned_date, today, window, kind=event.kind, overdue=policy
            ),
            day=(event.planned_date - reinfusion).days if reinfusion else None,
        )
        for event in events
    ]
