"""What a patient and the staff see of a patient's alerts: reads only, a constant number of queries."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from recovery.clinical.triage import AlertKind, Severity
from recovery.clinical.working_hours import ContactPromise
from recovery.models import OPEN_STATUSES, Alert, AlertStatus, Patient, ResolutionAction
from recovery.queries.configuration import ActiveConfig
from recovery.queries.symptoms import contact_day_text, contact_promise_for

# The patient's banner shows what needs the team soon, from the patient's own reports. Alerts raised from lab
# results (engraftment, EBV) are the clinician's to explain first, so they are not shown to the patient.
BANNER_SEVERITIES = (Severity.URGENT.value, Severity.SAME_DAY.value)
REPORT_KINDS = tuple(
    kind.value
    for kind in AlertKind
    if kind not in (AlertKind.DELAYED_ENGRAFTMENT, AlertKind.POSSIBLE_GRAFT_FAILURE, AlertKind.EBV_VIRAEMIA)
)

# What the patient is told was done: one fixed plain phrase per resolution action. The staff's note is an
# internal free text (it may hold other people's names, lab values or shorthand) and is never shown to them.
RESOLVED_TEXT = {
    ResolutionAction.ADVICE: gettext_lazy("Your team gave you advice by phone."),
    ResolutionAction.SEEN: gettext_lazy("You were seen in the clinic or the day unit."),
    ResolutionAction.ADMITTED: gettext_lazy("You were admitted to hospital."),
    ResolutionAction.EMERGENCY: gettext_lazy("You were sent to the emergency department."),
    ResolutionAction.MEDICATION: gettext_lazy("Your medicines were started or changed."),
    ResolutionAction.NO_ACTION: gettext_lazy("Your team looked at your report and no action was needed."),
    ResolutionAction.OTHER: gettext_lazy("Your team has dealt with your report."),
}
RESOLVED_FALLBACK = gettext_lazy("Your team has dealt with your report.")


class BannerState:
    UNSEEN = "unseen"
    SEEN = "seen"
    RESOLVED = "resolved"


_STATE_ORDER = {BannerState.UNSEEN: 0, BannerState.SEEN: 1, BannerState.RESOLVED: 2}


@dataclass(frozen=True)
class PatientAlert:
    """One alert as the patient's home shows it (times in the patient's own time zone)."""

    urgent: bool  # urgent, else same day
    state: str  # BannerState
    raised_at: datetime
    seen_at: datetime | None
    seen_today: bool  # seen on the patient's local today ("at 14:05" rather than "on 2 Dec at 14:05")
    resolved_at: datetime | None
    resolved_text: str


@dataclass(frozen=True)
class PatientAlerts:
    alerts: list[PatientAlert]
    promise: ContactPromise  # when the team can contact the patient, by its working hours
    contact_day: str  # the promise's day in words (used when it is not today)

    @property
    def any_open(self) -> bool:
        """Whether the banner shows an alert not yet resolved, and with it the unit's number to call."""
        return any(alert.state != BannerState.RESOLVED for alert in self.alerts)


def patient_alerts(patient: Patient, config: ActiveConfig, now: datetime | None = None) -> PatientAlerts:
    """The patient's open urgent and same-day alerts from their reports, and those resolved in the last
    `AlertConfig.resolved_shown_days` days: not yet seen, then seen, then resolved; within each, urgent first,
    then oldest first. One query."""
    now = now or timezone.now()
    since = now - timedelta(days=config.alerts.resolved_shown_days)
    rows = (
        Alert.objects.filter(patient=patient, severity__in=BANNER_SEVERITIES, kind__in=REPORT_KINDS)
        .filter(Q(status__in=OPEN_STATUSES) | Q(status=AlertStatus.RESOLVED, resolved_at__gte=since))
        .only("severity", "status", "created_at", "acknowledged_at", "resolved_at", "resolution")
        .order_by("-severity_rank", "created_at", "id")
    )
    zone = patient.tz
    today = timezone.localtime(now, zone).date()
    alerts = []
    for alert in rows:
        seen_at = timezone.localtime(alert.acknowledged_at, zone) if alert.acknowledged_at else None
        if alert.status == AlertStatus.RESOLVED:
            state = BannerState.RESOLVED
        elif alert.status == AlertStatus.ACKNOWLEDGED:
            state = BannerState.SEEN
        else:
            state = BannerState.UNSEEN  # new, or worse since it was acknowledged
        alerts.append(
            PatientAlert(
                urgent=alert.severity == Severity.URGENT,
                state=state,
                raised_at=timezone.localtime(alert.created_at, zone),
                seen_at=seen_at,
                seen_today=seen_at is not None and seen_at.date() == today,
                resolved_at=timezone.localtime(alert.resolved_at, zone) if alert.resolved_at else None,
                resolved_text=str(RESOLVED_TEXT.get(alert.resolution, RESOLVED_FALLBACK)),
            )
        )
    alerts.sort(key=lambda alert: _STATE_ORDER[alert.state])  # stable: urgent first, then oldest, within each
    promise = contact_promise_for(patient.centre, config, now)
    return PatientAlerts(alerts=alerts, promise=promise, contact_day=contact_day_text(promise))


def open_alerts_of(patient: Patient) -> list[Alert]:
    """Every open (or acknowledged) alert of the patient, for the staff's page about them: most severe first,
    then oldest first. One query, with who acknowledged it."""
    return list(
        Alert.objects.filter(patient=patient, status__in=OPEN_STATUSES)
        .select_related("acknowledged_by")
        .order_by("-severity_rank", "created_at", "id")
    )
