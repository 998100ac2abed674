"""What the coordinator's lists show: each patient's phase, Day and what needs attention, in constant queries."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from recovery.clinical.phases import (
    PHASE_ORDER,
    Phase,
    PhaseState,
    local_date,
    phase_index,
    phase_on,
    phase_starts,
    recovery_progress,
)
from recovery.clinical.timeline import DisplayStatus, EventStatus
from recovery.models import Patient, TimelineEvent, TransplantEpisode
from recovery.queries.configuration import ActiveConfig, active_config, active_configs
from recovery.queries.phases import check_stored_phase, dates_from
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


def _overdue_by_patient(patient_ids: list[int], latest_today: date) -> dict[int, list[date]]:
    """Planned events dated before the latest local 'today' among the patients (one query)."""
    rows = TimelineEvent.objects.filter(
        episode__patient_id__in=patient_ids, status=EventStatus.PLANNED, planned_date__lt=latest_today
    ).values_list("episode__patient_id", "planned_date")
    dates: dict[int, list[date]] = defaultdict(list)
    for patient_id, planned in rows:
        dates[patient_id].append(planned)
    return dates


def summarise(patients: list[Patient], configs: dict[int, ActiveConfig] | None = None) -> list[PatientSummary]:
    """Phase, Day, flags and overdue count of each patient (patients loaded with select_related("episode")), in
    two queries (one when the configuration of each patient's centre is given in `configs`)."""
    now = timezone.now()
    if configs is None:
        configs = active_configs({p.centre_id for p in patients})
    todays = {p.pk: local_date(now, p.timezone) for p in patients}
    latest = max(todays.values(), default=now.date()) + timedelta(days=1)
    overdue = _overdue_by_patient([p.pk for p in patients], latest)
    summaries = []
    for patient in patients:
        episode = getattr(patient, "episode", None)  # a missing one-to-one raises an AttributeError subclass
        dates = dates_from(
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


def filter_patients(
    patients: QuerySet[Patient], *, phase: str = "", needs_attention: bool = False, now: datetime | None = None
) -> QuerySet:
    """Narrow a queryset to a phase and/or to patients needing attention, exactly per patient, in a fixed number
    of queries.

    Phases depend on each patient's own 'today'. The stored phase (`queries.phases`) answers in SQL where it
    holds today, and so do the overdue events (planned before the patient's local today); the few patients
    whose stored phase may be out of date are computed with the pure phase rule.
    """
    if not phase and not needs_attention:
        return patients
    if phase and phase not in {p.value for p in PHASE_ORDER}:
        return patients.none()
    check = check_stored_phase(patients, now or timezone.now())
    if check is None:
        return patients.none()
    unsure = check.unsure_rows()
    overdue: dict[int, list[date]] = {}
    if needs_attention and unsure:
        latest = max(check.todays.values()) + timedelta(days=1)
        overdue = _overdue_by_patient([row[0] for row in unsure], latest)
    keep = []
    for row in unsure:
        stored = check.exact(row)
        if phase and stored.phase != Phase(phase):
            continue
        if needs_attention and not (stored.flagged or any(d < stored.as_of for d in overdue.get(row[0], []))):
            continue
        keep.append(row[0])
    holds = check.sure()
    if phase:
        holds &= Q(phase=phase)
    if not needs_attention:
        return check.patients.filter(holds | Q(pk__in=keep))
    # Who may need attention: flagged (an index of the few flagged), or with a planned event before the latest
    # local today (two queries by index: the few whose plan has fallen behind), or computed above. Lists, not
    # subqueries: PostgreSQL misjudges such a subquery's size and then tries it for every patient (2.3 s at
    # 50,000 patients). The exact conditions below are then checked for these few rows only.
    past_planned = TimelineEvent.objects.filter(status=EventStatus.PLANNED, planned_date__lt=max(check.todays.values()))
    behind = sorted(
        TransplantEpisode.objects.filter(pk__in=set(past_planned.values_list("episode_id", flat=True))).values_list(
            "patient_id", flat=True
        )
    )
    late = TimelineEvent.objects.filter(
        episode__patient=OuterRef("pk"), status=EventStatus.PLANNED, planned_date__lt=OuterRef("local_today")
    )
    holds &= Q(phase_flagged=True) | (Q(pk__in=behind) & Exists(late))
    candidates = Q(phase_flagged=True) | Q(pk__in=behind) | Q(pk__in=keep)
    return check.patients.filter(candidates).filter(holds | Q(pk__in=keep))


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
