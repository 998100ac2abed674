"""What the clinician's dashboard shows: the triage queue, the patients at high infection risk, the alert burden,
and one patient's review charts. Every function runs a fixed number of queries, however many patients there are.

The callers (views) decide who may see what (`recovery.access`) and pass the querysets in; nothing here looks at
a user's role.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Centre
from recovery.clinical.config import DEFAULT_TRIAGE_CONFIG
from recovery.clinical.phases import HIGH_RISK_PHASES, InfectionRisk, PhaseState, day_number, local_date
from recovery.models import (
    OPEN_STATUSES,
    Alert,
    AlertSeverity,
    AlertStatus,
    Patient,
    SymptomReport,
)
from recovery.queries.alert_reasons import first_reason
from recovery.queries.configuration import active_configs
from recovery.queries.phases import check_stored_phase
from recovery.queries.workspace import summarise

QUEUE_LIMIT = 200  # rows rendered; the total is always shown, and the most pressing come first
BURDEN_DAYS = 28
# A patient's local date is at most this far from UTC's, so a date filter widened by it never misses anyone.
_TZ_SLACK = timedelta(days=1)

SEVERITY_ORDER = (AlertSeverity.URGENT, AlertSeverity.SAME_DAY, AlertSeverity.ROUTINE)


# --- words for durations --------------------------------------------------------------------------------------


def duration_text(delta: timedelta) -> str:
    """'under 1 min', '12 min', '3 h 5 min', '2 d 4 h' (the sign is ignored)."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return _("under 1 min")
    if minutes < 60:
        return _("%(minutes)d min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes:
            return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}
        return _("%(hours)d h") % {"hours": hours}
    days, hours = divmod(hours, 24)
    return _("%(days)d d %(hours)d h") % {"days": days, "hours": hours} if hours else _("%(days)d d") % {"days": days}


@dataclass(frozen=True)
class Target:
    """How an alert stands against its acknowledgement target."""

    text: str
    state: str  # "ok", "overdue", "met", "missed" or "none"


def target_status(alert: Alert, now: datetime) -> Target:
    """'45 min left', 'overdue by 5 min', 'acknowledged in time', 'acknowledged 5 min late' or 'no target'."""
    due = alert.respond_by
    if due is None:
        return Target(_("no target"), "none")
    acknowledged = alert.acknowledged_at if alert.status != AlertStatus.OPEN else None
    if acknowledged is not None:
        if acknowledged <= due:
            return Target(_("acknowledged in time"), "met")
        return Target(_("acknowledged %(duration)s late") % {"duration": duration_text(acknowledged - due)}, "missed")
    if now > due:
        return Target(_("overdue by %(duration)s") % {"duration": duration_text(now - due)}, "overdue")
    return Target(_("%(duration)s left") % {"duration": duration_text(due - now)}, "ok")


def first_line(text: str) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")


def _day_of(patient: Patient, now: datetime) -> int | None:
    episode = getattr(patient, "episode", None)  # a missing one-to-one raises an AttributeError subclass
    reinfusion = getattr(episode, "reinfusion_date", None)
    return day_number(reinfusion, local_date(now, patient.timezone))


# --- the triage queue -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    alert: Alert
    day: int | None
    reason: str
    waiting: str
    target: Target


@dataclass(frozen=True)
class Queue:
    rows: list[QueueRow]
    total: int
    now: datetime

    @property
    def patients(self) -> list[Patient]:
        return list({row.alert.patient_id: row.alert.patient for row in self.rows}.values())

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)


def queue_alerts(alerts: QuerySet[Alert]) -> QuerySet[Alert]:
    """Open and acknowledged alerts, the most severe first, then the longest waiting."""
    return (
        alerts.filter(status__in=OPEN_STATUSES)
        .select_related("patient__centre", "patient__episode", "acknowledged_by")
        .order_by("-severity_rank", "created_at", "id")
    )


def triage_queue(alerts: QuerySet[Alert], now: datetime | None = None, limit: int = QUEUE_LIMIT) -> Queue:
    """The queue of `alerts` (the caller's visible alerts), in two queries."""
    now = now or timezone.now()
    ordered = queue_alerts(alerts)
    shown = list(ordered[:limit])
    total = len(shown) if len(shown) < limit else ordered.count()
    rows = [
        QueueRow(
            alert=alert,
            day=_day_of(alert.patient, now),
            reason=first_reason(alert),
            waiting=duration_text(now - alert.created_at),
            target=target_status(alert, now),
        )
        for alert in shown
    ]
    return Queue(rows=rows, total=total, now=now)


# --- patients at high infection risk --------------------------------------------------------------------------


@dataclass(frozen=True)
class HighRiskRow:
    patient: Patient
    state: PhaseState
    temperature_c: Decimal | None
    temperature_at: datetime | None
    fever: bool  # the latest temperature is at or above the centre's fever threshold
    fever_c: float
    temperature_ago: str = ""


def _latest_temperature(field_name: str) -> Subquery:
    latest = SymptomReport.objects.filter(patient=OuterRef("pk"), temperature_c__isnull=False).order_by(
        "-recorded_at", "-id"
    )
    return Subquery(latest.values(field_name)[:1])


def may_be_high_risk(patients: QuerySet[Patient], now: datetime) -> QuerySet[Patient]:
    """The patients who may be in conditioning or aplasia today, whatever their time zone: a superset, in SQL,
    small however many patients there are (most are engrafted), which the phase rules then decide exactly.

    Conditioning and aplasia need a conditioning start or a Day 0, and end for good once neutrophil engraftment
    is recorded on or after Day 0 (`clinical.phases`: early_recovery begins on the later of the two, and every
    later phase is below high risk); so a patient whose Day 0 and engraftment both lie on or before the earliest
    local today anywhere is left out. No configuration moves these boundaries."""
    earliest_today = (now - _TZ_SLACK).date()
    return patients.filter(
        Q(episode__conditioning_start_date__isnull=False) | Q(episode__reinfusion_date__isnull=False),
        Q(episode__reinfusion_date__isnull=True)
        | Q(episode__reinfusion_date__gt=earliest_today)
        | Q(episode__neutrophil_engraftment_date__isnull=True)
        | Q(episode__neutrophil_engraftment_date__gt=earliest_today),
    )


def high_risk_patients(patients: QuerySet[Patient], now: datetime | None = None) -> list[HighRiskRow]:
    """Patients at high infection risk today, with their latest temperature and Day (five queries).

    In conditioning or aplasia (`HIGH_RISK_PHASES`) in their own time zone today: from the stored phase where it
    holds today, else computed (`queries.phases`), among those who may be (`may_be_high_risk`)."""
    now = now or timezone.now()
    check = check_stored_phase(may_be_high_risk(patients, now), now)
    if check is None:
        return []
    candidates = list(
        check.in_phases(HIGH_RISK_PHASES)
        .select_related("centre", "episode")
        .annotate(
            latest_temperature_c=_latest_temperature("temperature_c"),
            latest_temperature_at=_latest_temperature("recorded_at"),
        )
    )
    if not candidates:
        return []
    configs = check.configs
    rows = []
    for summary in summarise(candidates, configs=configs):
        if summary.state.infection_risk != InfectionRisk.HIGH:
            continue
        patient = summary.patient
        fever_c = configs[patient.centre_id].triage.fever_c
        temperature = patient.latest_temperature_c
        if temperature is not None:
            temperature = Decimal(str(temperature)).quantize(Decimal("0.1"))
        rows.append(
            HighRiskRow(
                patient=patient,
                state=summary.state,
                temperature_c=temperature,
                temperature_at=patient.latest_temperature_at,
                temperature_ago=duration_text(now - patient.latest_temperature_at)
                if patient.latest_temperature_at
                else "",
                fever=temperature is not None and float(temperature) >= fever_c,
                fever_c=fever_c,
            )
        )
    # A fever first, then by Day (no Day 0 yet: conditioning, first), then by name.
    rows.sort(
        key=lambda r: (
            not r.fever,
            r.state.day if r.state.day is not None else -10_000,
            r.patient.last_name,
            r.patient.first_name,
        )
    )
    return rows


# --- alert burden ---------------------------------------------------------------------------------------------

BURDEN_FORMULA = gettext_lazy(
    "Alerts per patient-week = alerts raised ÷ (patients followed × %(weeks)s weeks), followed = sent a "  # noqa: RUF001 - the multiplication sign
    "report or was between conditioning and Day +%(window_day)s in the last %(days)s days; within target = "
    "acknowledged by the respond-by time ÷ alerts acknowledged or past their target."
)


@dataclass(frozen=True)
class SeverityBurden:
    severity: str
    label: str
    raised: int
    met: int
    decided: int  # acknowledged, or not acknowledged and past the target

    @property
    def share(self) -> float | None:
        return self.met / self.decided if self.decided else None

    @property
    def percent(self) -> int | None:
        return None if self.share is None else round(self.share * 100)


@dataclass(frozen=True)
class Burden:
    days: int
    start: datetime
    end: datetime
    patients_followed: int
    by_severity: list[SeverityBurden] = field(default_factory=list)
    window_days: tuple[int, ...] = (DEFAULT_TRIAGE_CONFIG.urgent_fever_until_day,)  # the centres' fever windows

    @property
    def weeks(self) -> float:
        return self.days / 7

    @property
    def raised(self) -> int:
        return sum(s.raised for s in self.by_severity)

    @property
    def met(self) -> int:
        return sum(s.met for s in self.by_severity)

    @property
    def decided(self) -> int:
        return sum(s.decided for s in self.by_severity)

    @property
    def share(self) -> float | None:
        return self.met / self.decided if self.decided else None

    @property
    def percent(self) -> int | None:
        return None if self.share is None else round(self.share * 100)

    @property
    def per_patient_week(self) -> float | None:
        if not self.patients_followed:
            return None
        return self.raised / (self.patients_followed * self.weeks)

    @property
    def formula(self) -> str:
        weeks = int(self.weeks) if self.weeks == int(self.weeks) else round(self.weeks, 1)
        window_day = "/+".join(str(day) for day in self.window_days)
        return BURDEN_FORMULA % {"days": self.days, "weeks": weeks, "window_day": window_day}


def _followed_patients(patients: QuerySet[Patient], start: datetime, end: datetime) -> tuple[set[int], set[int]]:
    """Patients who reported in [start, end] or whose high-risk fever window overlaps it (four queries), and the
    lengths of the fever windows (days after Day 0) of the centres looked at.

    The centres looked at are those with a patient whose conditioning or Day 0 is on or before `end`; only their
    patients whose window can still reach `start` (no Day 0 yet, or Day 0 within the longest window) are read."""
    reporters = set(
        SymptomReport.objects.filter(patient__in=patients, recorded_at__gte=start, recorded_at__lte=end)
        .order_by()  # the model's ordering would make DISTINCT per report
        .values_list("patient_id", flat=True)
        .distinct()
    )
    started = patients.filter(
        Q(episode__conditioning_start_date__lte=(end + _TZ_SLACK).date())
        | Q(episode__reinfusion_date__lte=(end + _TZ_SLACK).date())
    )
    # LIMIT 1 per centre: found at once (nearly every patient has started), where EXISTS would read them all
    first_started = Subquery(started.filter(centre_id=OuterRef("pk")).values("pk")[:1])
    centres = (
        Centre.objects.annotate(first_started=first_started)
        .filter(first_started__isnull=False)
        .values_list("pk", flat=True)
    )
    configs = active_configs(set(centres))
    windows = {config.triage.urgent_fever_until_day for config in configs.values()}
    followed = set(reporters)
    if not configs:
        return followed, windows
    earliest_day_zero = (start - _TZ_SLACK).date() - timedelta(days=max(windows))
    rows = started.filter(
        Q(episode__reinfusion_date__isnull=True) | Q(episode__reinfusion_date__gte=earliest_day_zero)
    ).values_list("pk", "centre_id", "timezone", "episode__conditioning_start_date", "episode__reinfusion_date")
    for pk, centre_id, tz, conditioning, reinfusion in rows:
        first_day, last_day = local_date(start, tz), local_date(end, tz)
        window_start = conditioning or reinfusion
        until = configs[centre_id].triage.urgent_fever_until_day
        window_end = None if reinfusion is None else reinfusion + timedelta(days=until)
        if window_start <= last_day and (window_end is None or window_end >= first_day):
            followed.add(pk)
    return followed, windows


def alert_burden(
    patients: QuerySet[Patient], alerts: QuerySet[Alert], now: datetime | None = None, days: int = BURDEN_DAYS
) -> Burden:
    """Alerts per patient-week and the share acknowledged within target, by severity, over the last `days`."""
    now = now or timezone.now()
    start = now - timedelta(days=days)
    acknowledged = Q(acknowledged_at__isnull=False) & ~Q(status=AlertStatus.OPEN)
    has_target = Q(respond_by__isnull=False)
    counts = {
        row["severity"]: row
        for row in alerts.filter(created_at__gte=start, created_at__lte=now)
        .order_by()
        .values("severity")
        .annotate(
            raised=Count("id"),
            met=Count("id", filter=has_target & acknowledged & Q(acknowledged_at__lte=F("respond_by"))),
            decided=Count("id", filter=has_target & (acknowledged | Q(respond_by__lt=now))),
        )
    }
    by_severity = [
        SeverityBurden(
            severity=severity.value,
            label=severity.label,
            raised=counts.get(severity.value, {}).get("raised", 0),
            met=counts.get(severity.value, {}).get("met", 0),
            decided=counts.get(severity.value, {}).get("decided", 0),
        )
        for severity in SEVERITY_ORDER
    ]
    followed, windows = _followed_patients(patients, start, now)
    return Burden(
        days=days,
        start=start,
        end=now,
        patients_followed=len(followed),
        by_severity=by_severity,
        window_days=tuple(sorted(windows)) or (DEFAULT_TRIAGE_CONFIG.urgent_fever_until_day,),
    )


# --- one patient's review -------------------------------------------------------------------------------------


# --- an alert's history in words ------------------------------------------------------------------------------
