"""What the coordinator's lists show: each patient's phase, Day and what needs attention, in constant queries."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from recovery.clinical.phases import (
    PHASE_ORDER,
    EpisodeDates,
    Phase,
    PhaseState,
    local_date,
    phase_index,
    phase_on,
    phase_starts,
    recovery_progress,
)
from recovery.clinical.timeline import DisplayStatus, EventStatus
from recovery.models import Patient, TimelineEvent
from recovery.queries.configuration import active_config, active_configs
from recovery.queries.timeline import episode_dates, episode_of, events_with_status, patient_today


@dataclass(frozen=True)
class PatientSummary:
    patient: Patient
    state: PhaseState
    today: date
    overdue: int

    @property
    def needs_attention(self) -> bool:
        return bool(self.overdue or self.state.flags)


_DATE_COLUMNS = (
    "episode__mobilisation_date",
    "episode__apheresis_date",
    "episode__conditioning_start_date",
    "episode__reinfusion_date",
    "episode__neutrophil_engraftment_date",
)


def _dates(values: Iterable) -> EpisodeDates:
    mobilisation, apheresis, conditioning, reinfusion, engraftment = values
    return EpisodeDates(mobilisation, apheresis, conditioning, reinfusion, engraftment)


def _overdue_by_patient(patient_ids: list[int], latest_today: date) -> dict[int, list[date]]:
    """Planned events dated before the latest local 'today' among the patients (one query)."""
    rows = TimelineEvent.objects.filter(
        episode__patient_id__in=patient_ids, status=EventStatus.PLANNED, planned_date__lt=latest_today
    ).values_list("episode__patient_id", "planned_date")
    dates: dict[int, list[date]] = defaultdict(list)
    for patient_id, planned in rows:
        dates[patient_id].append(planned)
    return dates


def summarise(patients: list[Patient]) -> list[PatientSummary]:
    """Phase, Day, flags and overdue count of each patient (patients loaded with select_related("episode"))."""
    now = timezone.now()
    configs = active_configs({p.centre_id for p in patients})
    todays = {p.pk: local_date(now, p.timezone) for p in patients}
    latest = max(todays.values(), default=now.date()) + timedelta(days=1)
    overdue = _overdue_by_patient([p.pk for p in patients], latest)
    summaries = []
    for patient in patients:
        episode = getattr(patient, "episode", None)  # a missing one-to-one raises an AttributeError subclass
        dates = _dates(
            (
                getattr(episode, "mobilisation_date", None),
                getattr(episode, "apheresis_date", None),
                getattr(episode, "conditioning_start_date", None),
                getattr(episode, "reinfusion_date", None),
                getattr(episode, "neutrophil_engraftment_date", None),
            )
        )
        today = todays[patient.pk]
        state = phase_on(dates, today, configs[patient.centre_id].phase)
        late = sum(1 for planned in overdue.get(patient.pk, []) if planned < today)
        summaries.append(PatientSummary(patient=patient, state=state, today=today, overdue=late))
    return summaries


def filter_patients(patients: QuerySet[Patient], *, phase: str = "", needs_attention: bool = False) -> QuerySet:
    """Narrow a queryset to a phase and/or to patients needing attention, computed exactly per patient.

    Phases depend on each patient's own 'today', so they are computed with the pure phase rule over the
    few date columns of all matching patients (one query), and the result is a filter by primary key.
    """
    if not phase and not needs_attention:
        return patients
    if phase and phase not in {p.value for p in PHASE_ORDER}:
        return patients.none()
    now = timezone.now()
    rows = list(patients.values_list("pk", "timezone", "centre_id", *_DATE_COLUMNS))
    configs = active_configs({row[2] for row in rows})
    todays = {row[0]: local_date(now, row[1]) for row in rows}
    overdue: dict[int, list[date]] = {}
    if needs_attention:
        overdue = _overdue_by_patient(list(todays), max(todays.values(), default=now.date()) + timedelta(days=1))
    keep = []
    for pk, _tz, centre_id, *columns in rows:
        today = todays[pk]
        state = phase_on(_dates(columns), today, configs[centre_id].phase)
        if phase and state.phase != Phase(phase):
            continue
        if needs_attention and not (state.flags or any(d < today for d in overdue.get(pk, []))):
            continue
        keep.append(pk)
    return patients.filter(pk__in=keep)


@dataclass(frozen=True)
class PhaseStep:
    phase: Phase
    starts: date | None
    state: str  # "done", "current" or "ahead"


def workspace(patient: Patient) -> dict:
    """Everything the coordinator's page about one patient shows: phase band, Day, flags and the timeline."""
    config = active_config(patient.centre_id)
    episode = episode_of(patient)
    today = patient_today(patient)
    dates = episode_dates(episode)
    state = phase_on(dates, today, config.phase)
    starts = phase_starts(dates, config.phase)
    current = phase_index(state.phase)
    band = [
        PhaseStep(
            phase=phase,
            starts=starts.get(phase),
            state="done" if phase_index(phase) < current else "current" if phase == state.phase else "ahead",
        )
        for phase in PHASE_ORDER
    ]
    events = list(episode.events.all()) if episode else []
    views = events_with_status(events, today, config, dates.reinfusion)
    return {
        "patient": patient,
        "episode": episode,
        "state": state,
        "band": band,
        "today": today,
        "config": config,
        "overdue": [v for v in views if v.status == DisplayStatus.OVERDUE],
        "upcoming": [v for v in views if v.status in (DisplayStatus.DUE, DisplayStatus.PLANNED)],
        "finished": [v for v in views if v.status in (DisplayStatus.DONE, DisplayStatus.CANCELLED)],
        "progress": recovery_progress(dates, today, config.phase),
    }
