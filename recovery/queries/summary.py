"""Everything the summary for the patient's own doctor shows (the PDF of `recovery/views/summary_pdf.py`): the
patient's place on the pathway today, engraftment, the preventive medicines and when they stop, the vaccinations
given and due, the open alerts and the unit's contacts. Reads only, a fixed number of queries whatever the number
of events, doses, medicines or alerts.

Dates are the patient's local dates and times are in the patient's zone (`Patient.timezone`), whoever reads it.
What the patient may read of the alerts is decided here: `for_patient=True` keeps the alerts the patient's own
home page shows (urgent and same-day, raised from their own reports: `queries.alerts.REPORT_KINDS`), never one
raised from lab results (hazard H-38), and never the staff's note or the alert's reason.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone

from accounts.models import Centre
from recovery.clinical.phases import PHASE_ORDER, Phase, PhaseState, phase_index, phase_on, phase_starts
from recovery.clinical.timeline import DisplayStatus, EventStatus, overdue_policy
from recovery.clinical.vaccination import DoseStatus, PlannedDose
from recovery.models import OPEN_STATUSES, Alert, Patient, TransplantEpisode
from recovery.queries.alerts import BANNER_SEVERITIES, REPORT_KINDS
from recovery.queries.configuration import ActiveConfig, active_config
from recovery.queries.prophylaxis import Course, prophylaxis_for
from recovery.queries.timeline import episode_dates, episode_of, events_with_status, patient_today
from recovery.queries.vaccinations import plan_for

# What the summary lists (display choices, not clinical rules).
EVENTS_AHEAD_DAYS = 90  # the planned events of the next three months
EVENTS_LIMIT = 10  # at most this many of them
OVERDUE_LIMIT = 8  # the latest this many events still to be done (the others are counted)
DOSES_AHEAD = 6  # the next few doses after those due now


@dataclass(frozen=True)
class PhaseRow:
    phase: Phase
    starts: date | None
    current: bool


@dataclass(frozen=True)
class PlannedEvent:
    title: str  # as stored (translated by the renderer: `recovery.event_titles`)
    on: date
    day: int | None  # days from Day 0
    overdue: bool  # planned before today and still to be done (`clinical.timeline.OverduePolicy`)


@dataclass(frozen=True)
class SummaryAlert:
    kind: str  # clinical.triage.AlertKind
    severity: str
    status: str  # open or acknowledged
    raised_at: datetime  # in the patient's zone
    acknowledged_at: datetime | None  # in the patient's zone


@dataclass(frozen=True)
class PatientSummary:
    patient: Patient
    centre: Centre
    for_patient: bool  # the patient's own copy (the alerts they may read), else the staff's
    generated_at: datetime  # now, in the patient's zone
    today: date  # the patient's local date
    episode: TransplantEpisode | None
    state: PhaseState
    phases: list[PhaseRow]
    events: list[PlannedEvent]
    earlier_overdue: int  # events still to be done before the first listed
    neutrophil_engraftment: date | None
    platelet_engraftment: date | None
    courses: list[Course]
    cd4_threshold: float | None  # CD4 (x10^9/L) at which a CD4-gated medicine may stop
    doses_given: list[PlannedDose]
    doses_due: list[PlannedDose]  # due or overdue today
    doses_coming: list[PlannedDose]
    alerts: list[SummaryAlert]

    @property
    def day0(self) -> date | None:
        return self.episode.reinfusion_date if self.episode else None

    @property
    def regimen(self) -> str:
        protocol = getattr(self.episode, "protocol", None)
        return protocol.name if protocol is not None else ""


def _alerts(patient: Patient, for_patient: bool) -> list[SummaryAlert]:
    rows = Alert.objects.filter(patient=patient, status__in=OPEN_STATUSES)
    if for_patient:
        rows = rows.filter(severity__in=BANNER_SEVERITIES, kind__in=REPORT_KINDS)
    zone = patient.tz
    return [
        SummaryAlert(
            kind=alert.kind,
            severity=alert.severity,
            status=alert.status,
            raised_at=timezone.localtime(alert.created_at, zone),
            acknowledged_at=timezone.localtime(alert.acknowledged_at, zone) if alert.acknowledged_at else None,
        )
        for alert in rows.only("kind", "severity", "status", "created_at", "acknowledged_at").order_by(
            "-severity_rank", "created_at", "id"
        )
    ]


def _events(episode: TransplantEpisode | None, today: date, config: ActiveConfig) -> tuple[list[PlannedEvent], int]:
    """The latest planned events still to be done (overdue under the centre's policy, as the staff's page shows
    them), then those of the next three months (at most `EVENTS_LIMIT`); and how many more are still to be done.
    One query."""
    if episode is None:
        return [], 0
    oldest = overdue_policy(config.transplant).oldest(today)
    rows = episode.events.filter(
        status=EventStatus.PLANNED,
        planned_date__gte=oldest,
        planned_date__lte=today + timedelta(days=EVENTS_AHEAD_DAYS),
    ).order_by("planned_date", "id")
    views = events_with_status(rows, today, config, episode.reinfusion_date)
    overdue = [v for v in views if v.status == DisplayStatus.OVERDUE]
    coming = [v for v in views if v.event.planned_date >= today and v.status != DisplayStatus.OVERDUE]
    listed = [
        PlannedEvent(title=v.event.title, on=v.event.planned_date, day=v.day, overdue=v.status == DisplayStatus.OVERDUE)
        for v in [*overdue[-OVERDUE_LIMIT:], *coming[:EVENTS_LIMIT]]
    ]
    return listed, max(0, len(overdue) - OVERDUE_LIMIT)


def patient_summary(patient: Patient, *, for_patient: bool) -> PatientSummary:
    """The summary of `patient` now (their local today). Patient loaded with its centre (`select_related`)."""
    now = timezone.now()
    today = patient_today(patient)
    config = active_config(patient.centre_id)
    episode = episode_of(patient)
    dates = episode_dates(episode)
    state = phase_on(dates, today, config.phase)
    starts = phase_starts(dates, config.phase)
    current = phase_index(state.phase)
    phases = [PhaseRow(phase, starts.get(phase), phase_index(phase) == current) for phase in PHASE_ORDER]
    prophylaxis = prophylaxis_for(patient, today=today, config=config) if episode is not None else None
    plan = plan_for(patient, today=today, config=config) if episode is not None else []
    events, earlier_overdue = _events(episode, today, config)
    return PatientSummary(
        patient=patient,
        centre=patient.centre,
        for_patient=for_patient,
        generated_at=timezone.localtime(now, patient.tz),
        today=today,
        episode=episode,
        state=state,
        phases=phases,
        events=events,
        earlier_overdue=earlier_overdue,
        neutrophil_engraftment=episode.neutrophil_engraftment_date if episode else None,
        platelet_engraftment=episode.platelet_engraftment_date if episode else None,
        courses=prophylaxis.courses if prophylaxis else [],
        cd4_threshold=prophylaxis.cd4_threshold if prophylaxis else None,
        doses_given=[d for d in plan if d.status == DoseStatus.GIVEN],
        doses_due=[d for d in plan if d.status in (DoseStatus.DUE, DoseStatus.OVERDUE)],
        doses_coming=[d for d in plan if d.status == DoseStatus.UPCOMING][:DOSES_AHEAD],
        alerts=_alerts(patient, for_patient),
    )
