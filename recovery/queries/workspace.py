"""What the coordinator's lists show: each patient's phase, Day and what needs attention, in constant queries."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Case, DateField, Exists, OuterRef, Q, QuerySet, Value, When
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
from recovery.clinical.timeline import DisplayStatus, EventStatus, OverduePolicy, overdue_policy
from recovery.models import Patient, TimelineEvent, TransplantEpisode
from recovery.queries.configuration import ActiveConfig, active_config, active_configs
from recovery.queries.follow_up import follow_up_cutoffs, in_follow_up
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


def _policies(configs: dict[int, ActiveConfig]) -> dict[int, OverduePolicy]:
    return {centre_id: overdue_policy(config.transplant) for centre_id, config in configs.items()}


def _may_be_overdue(policies: Iterable[OverduePolicy], earliest_today: date) -> Q:
    """Planned events that may be overdue for some patient under one of `policies` (an indexed superset: the
    exact rule is `OverduePolicy.is_actionable`, for each patient's own today)."""
    policies = list(policies)
    if not policies:
        return Q(pk__in=[])
    oldest = min(p.oldest(earliest_today) for p in policies)
    kinds = sorted(set().union(*(p.kinds for p in policies)))
    return Q(status=EventStatus.PLANNED, planned_date__gte=oldest, kind__in=kinds)


def _overdue_by_patient(
    patient_ids: list[int], latest_today: date, earliest_today: date, policies: dict[int, OverduePolicy]
) -> dict[int, list[tuple[str, date]]]:
    """(kind, planned date) of the planned events that may be overdue among the patients, dated before the latest
    local 'today' (one query); `OverduePolicy.is_actionable` decides for each patient."""
    rows = TimelineEvent.objects.filter(
        _may_be_overdue(policies.values(), earliest_today),
        episode__patient_id__in=patient_ids,
        planned_date__lt=latest_today,
    ).values_list("episode__patient_id", "kind", "planned_date")
    found: dict[int, list[tuple[str, date]]] = defaultdict(list)
    for patient_id, kind, planned in rows:
        found[patient_id].append((kind, planned))
    return found


def _count_overdue(events: list[tuple[str, date]], today: date, policy: OverduePolicy) -> int:
    return sum(1 for kind, planned in events if planned < today and policy.is_actionable(kind, planned, today))


def summarise(patients: list[Patient], configs: dict[int, ActiveConfig] | None = None) -> list[PatientSummary]:
    """Phase, Day, flags and overdue count of each patient (patients loaded with select_related("episode")), in
    two queries (one when the configuration of each patient's centre is given in `configs`)."""
    now = timezone.now()
    if configs is None:
        configs = active_configs({p.centre_id for p in patients})
    todays = {p.pk: local_date(now, p.timezone) for p in patients}
    latest = max(todays.values(), default=now.date()) + timedelta(days=1)
    earliest = min(todays.values(), default=now.date()) - timedelta(days=1)
    policies = _policies(configs)
    overdue = _overdue_by_patient([p.pk for p in patients], latest, earliest, policies)
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
        late = _count_overdue(overdue.get(patient.pk, []), today, policies[patient.centre_id])
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
    policies = _policies(check.configs)
    earliest, latest = min(check.todays.values()), max(check.todays.values())
    overdue: dict[int, list[tuple[str, date]]] = {}
    if needs_attention and unsure:
        overdue = _overdue_by_patient([row[0] for row in unsure], latest + timedelta(days=1), earliest, policies)
    keep = []
    for row in unsure:
        stored = check.exact(row)
        if phase and stored.phase != Phase(phase):
            continue
        late = _count_overdue(overdue.get(row[0], []), stored.as_of, policies[row[2]])
        if needs_attention and not (stored.flagged or late):
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
    # Only events still actionable count (`OverduePolicy`): of the centre's kinds, at most its window late.
    past_planned = TimelineEvent.objects.filter(_may_be_overdue(policies.values(), earliest), planned_date__lt=latest)
    behind = sorted(
        TransplantEpisode.objects.filter(pk__in=set(past_planned.values_list("episode_id", flat=True))).values_list(
            "patient_id", flat=True
        )
    )
    late_exact = Q(pk__in=[])
    for (window, kinds), centre_ids in _grouped(policies).items():
        late = TimelineEvent.objects.filter(
            episode__patient=OuterRef("pk"),
            status=EventStatus.PLANNED,
            kind__in=kinds,
            planned_date__lt=OuterRef("local_today"),
            planned_date__gte=OuterRef(f"overdue_from_{window}"),
        )
        late_exact |= Q(centre_id__in=centre_ids) & Exists(late)
    patients = check.patients.annotate(**_overdue_from(check.todays, policies))
    holds &= Q(phase_flagged=True) | (Q(pk__in=behind) & late_exact)
    candidates = Q(phase_flagged=True) | Q(pk__in=behind) | Q(pk__in=keep)
    return patients.filter(candidates).filter(holds | Q(pk__in=keep))


def _grouped(policies: dict[int, OverduePolicy]) -> dict[tuple[int, tuple[str, ...]], list[int]]:
    """The centres by their policy (window, kinds): usually one group."""
    groups: dict[tuple[int, tuple[str, ...]], list[int]] = defaultdict(list)
    for centre_id, policy in sorted(policies.items()):
        groups[(policy.window_days, tuple(sorted(policy.kinds)))].append(centre_id)
    return groups


def _overdue_from(todays: dict[str, date], policies: dict[int, OverduePolicy]) -> dict[str, Case]:
    """`overdue_from_<window>`: the earliest planned date still overdue on each patient's local today, one CASE
    over the list's time zones per window of the centres' policies."""
    windows = {p.window_days for p in policies.values()}
    return {
        f"overdue_from_{window}": Case(
            *[When(timezone=tz, then=Value(today - timedelta(days=window))) for tz, today in todays.items()],
            default=None,
            output_field=DateField(),
        )
        for window in windows
    }


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
        # past and no longer to be chased (conditioning, or older than the centre's overdue window): shown, not red
        "not_recorded": [v for v in views if v.status == DisplayStatus.NOT_RECORDED],
        "progress": recovery_progress(dates, today, config.phase),
    }


def week_events(patients: QuerySet[Patient], centre_ids: Iterable[int], today: date, horizon: date) -> QuerySet:
    """This week's list: the planned events of `patients` up to `horizon`, with the past ones that are still
    actionable under their centre's `OverduePolicy` (of the centres `centre_ids`), oldest first (one query for
    the configurations, and the returned queryset)."""
    still_overdue = Q(pk__in=[])
    for (window, kinds), ids in _grouped(_policies(active_configs(set(centre_ids)))).items():
        still_overdue |= Q(
            episode__patient__centre_id__in=ids, kind__in=kinds, planned_date__gte=today - timedelta(days=window)
        )
    return (
        TimelineEvent.objects.filter(
            episode__patient__in=patients, status=EventStatus.PLANNED, planned_date__lte=horizon
        )
        .filter(Q(planned_date__gte=today) | still_overdue)
        .select_related("episode__patient")
        .order_by("planned_date", "episode__patient__last_name")
    )


@dataclass(frozen=True)
class FollowUpScope:
    """The patient list's default: the patients still followed (`patients`), and the earliest Day 0 still listed
    (`followed_from`: patients with an earlier Day 0 have finished follow-up and are behind the list's filter)."""

    patients: QuerySet[Patient]
    followed_from: date | None
    configs: dict[int, ActiveConfig]


def still_followed(
    patients: QuerySet[Patient], centre_ids: Iterable[int], now: datetime | None = None
) -> FollowUpScope:
    """`patients` without those past follow-up (`clinical/follow_up.py`: ten years and thirty days after Day 0
    with the default configuration, as for reminders and vaccinations due): everyone before Day 0 stays, and so
    does anyone whose follow-up has not ended. One query (the configurations of `centre_ids`); a filter on Day 0
    (indexed) per distinct configuration."""
    configs = active_configs(set(centre_ids))
    slack = (now or timezone.now()).date() - timedelta(days=1)  # local dates: a day more is listed, never fewer
    followed = in_follow_up(slack, configs) | Q(episode__reinfusion_date__isnull=True)
    return FollowUpScope(
        patients=patients.filter(followed),
        followed_from=min(follow_up_cutoffs(slack, configs).values(), default=None),
        configs=configs,
    )
