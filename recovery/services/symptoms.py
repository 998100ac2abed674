"""Recording a check-in, triaging it, and the alerts it raises, followed from report to resolution."""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from recovery.clinical.alerts import response_due
from recovery.clinical.config import TriageConfig
from recovery.clinical.phases import local_date, phase_on
from recovery.clinical.triage import (
    SYMPTOM_CODES,
    CountReading,
    Reading,
    ReportInput,
    Severity,
    TriageContext,
    TriageResult,
    severity_rank,
    triage,
)
from recovery.models import (
    OPEN_STATUSES,
    Alert,
    AlertEvent,
    AlertStatus,
    LabResult,
    LabTest,
    Patient,
    ResolutionAction,
    SymptomReport,
)
from recovery.queries.configuration import ActiveConfig, active_config
from recovery.queries.timeline import episode_dates, episode_of
from recovery.services.audit import AuditContext, record_event
from recovery.services.notifications import plan_alert_escalation, record_answer

CLOCK_SKEW = timedelta(minutes=5)  # a phone's clock may run a little ahead of the server's
EARLIEST_REPORT_YEAR = 2000  # a report dated earlier is a typing error (and would overflow date arithmetic)


def check_report(
    *,
    recorded_at: datetime | None,
    temperature_c: Any,
    symptoms: Any,
    notes: str,
    feels_urgent: bool,
    now: datetime,
    config: TriageConfig,
) -> tuple[dict[str, str], Decimal | None, dict[str, int]]:
    """Messages by field for what cannot be accepted, and the cleaned temperature and symptoms."""
    errors: dict[str, str] = {}
    temperature = None
    if temperature_c not in (None, ""):
        try:
            temperature = Decimal(str(temperature_c)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            if not temperature.is_finite():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            errors["temperature_c"] = "Enter the temperature as a number, for example 37.8."
            temperature = None
        else:
            low, high = Decimal(str(config.min_temperature_c)), Decimal(str(config.max_temperature_c))
            if not low <= temperature <= high:
                errors["temperature_c"] = (
                    f"A temperature of {temperature} °C is not possible. Check the thermometer and enter it again "
                    f"(between {low} and {high} °C)."
                )
    if recorded_at is None:
        errors["recorded_at"] = "Enter when you took the temperature or noticed the symptoms."
    elif timezone.is_naive(recorded_at):
        errors["recorded_at"] = "Give the time with its time zone."
    elif recorded_at.year < EARLIEST_REPORT_YEAR:
        errors["recorded_at"] = "Check the date: enter when you took the temperature or noticed the symptoms."
    elif recorded_at > now + CLOCK_SKEW:
        errors["recorded_at"] = (
            "This time is in the future. Enter when you took the temperature or noticed the symptoms."
        )
    grades: dict[str, int] = {}
    if symptoms in (None, ""):
        symptoms = {}
    if not isinstance(symptoms, dict):
        errors["symptoms"] = "Symptoms are a list of symptom names, each with a grade from 0 to 4."
    else:
        problems = []
        for code, grade in symptoms.items():
            if code not in SYMPTOM_CODES:
                problems.append(f"“{code}” is not a symptom we ask about.")
            elif isinstance(grade, bool) or not isinstance(grade, int) or not 0 <= grade <= 4:
                problems.append(f"The grade for {code} must be 0 (none) to 4 (very severe).")
            else:
                grades[code] = grade
        if problems:
            errors["symptoms"] = " ".join(problems)
    # Every symptom graded 0 is an answer ("I'm fine"); a report with nothing in it at all is not.
    if not errors and temperature is None and not grades and not (notes or "").strip() and not feels_urgent:
        errors["__all__"] = "Enter a temperature, or grade your symptoms (0 if you do not have them)."
    return errors, temperature, grades


@dataclass(frozen=True)
class ReportOutcome:
    report: SymptomReport
    result: TriageResult
    alert: Alert | None


# How many earlier reports are looked through for each symptom's last graded value (a check-in from the form
# grades every symptom, so the latest one normally answers for all of them).
PREVIOUS_REPORTS = 20


def last_graded(reports: list[dict[str, int]]) -> dict[str, int]:
    """Each symptom's last graded value (0 included) from reports' grades, newest first."""
    grades: dict[str, int] = {}
    for symptoms in reports:
        for code, grade in symptoms.items():
            grades.setdefault(code, grade)
    return grades


def _context_for(patient: Patient, recorded_at: datetime, config: ActiveConfig) -> TriageContext:
    on = local_date(recorded_at, patient.timezone)
    dates = episode_dates(episode_of(patient))
    state = phase_on(dates, on, config.phase)
    earlier = SymptomReport.objects.filter(patient=patient, recorded_at__lt=recorded_at)
    # Each symptom's last graded value (a temperature-only report says nothing about symptoms).
    previous = last_graded(
        list(
            earlier.exclude(symptoms={}).order_by("-recorded_at").values_list("symptoms", flat=True)[:PREVIOUS_REPORTS]
        )
    )
    lookback = max(
        timedelta(days=config.triage.pseudo_relapse_window_days),
        timedelta(hours=config.triage.neutropenic_lookback_hours),
    )
    since = recorded_at - lookback - timedelta(days=1)
    readings = [
        Reading(recorded_at=at, temperature_c=float(temp))
        for at, temp in earlier.filter(recorded_at__gte=since, temperature_c__isnull=False).values_list(
            "recorded_at", "temperature_c"
        )
    ]
    anc = (
        LabResult.objects.filter(patient=patient, test=LabTest.ANC, collected_at__lte=recorded_at)
        .order_by("-collected_at")
        .values_list("collected_at", "value")
        .first()
    )
    return TriageContext(
        phase=state.phase,
        day=state.day,
        previous_symptoms=previous,
        recent_readings=readings,
        days_since_first_apheresis=None if dates.apheresis is None else (on - dates.apheresis).days,
        latest_anc=None if anc is None else CountReading(collected_at=anc[0], value=float(anc[1])),
    )


def _history(alert: Alert, action: str, actor: User | None, /, **detail) -> None:
    AlertEvent.objects.create(alert=alert, at=timezone.now(), actor=actor, action=action, detail=detail)


def _raise_or_update_alert(
    *, patient: Patient, report: SymptomReport, result: TriageResult, config: ActiveConfig, actor: User | None
) -> Alert | None:
    if result.level == Severity.NONE:
        return None
    top = max(result.findings, key=lambda f: severity_rank(f.severity))
    reason = "; ".join(f.reason for f in result.findings)
    now = timezone.now()
    alert = (
        Alert.objects.select_for_update().filter(patient=patient, kind=top.kind.value, status__in=OPEN_STATUSES).first()
    )
    if alert is None:
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    patient=patient,
                    kind=top.kind.value,
                    severity=result.level.value,
                    severity_rank=severity_rank(result.level),
                    reason=reason,
                    rule=top.rule,
                    config_version=config.version,
                    neutropenic_fever=result.neutropenic_fever,
                    pseudo_relapse=result.pseudo_relapse,
                    created_at=now,
                    respond_by=response_due(now, result.level.value, patient.centre.timezone, config.alerts),
                )
        except IntegrityError:
            # Another report for the same patient opened this kind of alert a moment ago: update that one.
            return _raise_or_update_alert(patient=patient, report=report, result=result, config=config, actor=actor)
        alert.reports.add(report)
        _history(alert, "raised", actor, severity=alert.severity, rule=top.rule, report=str(report.uuid))
        plan_alert_escalation(alert, since=now)
        return alert
    alert.reason = f"{alert.reason}\n{report.recorded_at:%Y-%m-%d %H:%M} UTC: {reason}"
    alert.neutropenic_fever |= result.neutropenic_fever
    alert.pseudo_relapse |= result.pseudo_relapse
    detail = {"report": str(report.uuid)}
    if severity_rank(result.level) > alert.severity_rank:
        detail.update(severity_from=alert.severity, severity_to=result.level.value)
        alert.severity = result.level.value
        alert.severity_rank = severity_rank(result.level)
        alert.rule = top.rule
        alert.config_version = config.version
        alert.respond_by = response_due(now, result.level.value, patient.centre.timezone, config.alerts)
        if alert.status == AlertStatus.ACKNOWLEDGED:
            alert.status = AlertStatus.OPEN  # worse than when it was acknowledged: look again
            detail["reopened"] = True
    alert.save()
    alert.reports.add(report)
    _history(alert, "updated", actor, **detail)
    if "severity_to" in detail:
        plan_alert_escalation(alert, since=now)
    return alert


@transaction.atomic
def record_symptom_report(
    *,
    context: AuditContext,
    patient: Patient,
    recorded_at: datetime | None,
    temperature_c: Any = None,
    symptoms: Any = None,
    notes: str = "",
    feels_urgent: bool = False,
) -> ReportOutcome:
    """Check, store and triage a report; open or update the alert it calls for. Raises ValidationError."""
    config = active_config(patient.centre_id)
    errors, temperature, grades = check_report(
        recorded_at=recorded_at,
        temperature_c=temperature_c,
        symptoms=symptoms,
        notes=notes,
        feels_urgent=feels_urgent,
        now=timezone.now(),
        config=config.triage,
    )
    if errors:
        raise ValidationError(errors)
    Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one report at a time per patient
    triage_context = _context_for(patient, recorded_at, config)
    result = triage(
        ReportInput(
            recorded_at=recorded_at,
            temperature_c=float(temperature) if temperature is not None else None,
            symptoms=grades,
            feels_urgent=feels_urgent,
        ),
        triage_context,
        config.triage,
    )
    report = SymptomReport.objects.create(
        patient=patient,
        recorded_at=recorded_at,
        temperature_c=temperature,
        symptoms=grades,
        notes=(notes or "").strip(),
        feels_urgent=feels_urgent,
        entered_by=context.actor,
        phase=triage_context.phase.value,
        day=triage_context.day,
        triage_level=result.level.value,
        findings=[{**asdict(f), "kind": f.kind.value, "severity": f.severity.value} for f in result.findings],
        neutropenic_fever=result.neutropenic_fever,
        pseudo_relapse=result.pseudo_relapse,
        config_version=config.version,
    )
    record_answer(patient, report.created_at)  # a report answers the check-ins due about now, late or early
    alert = _raise_or_update_alert(patient=patient, report=report, result=result, config=config, actor=context.actor)
    record_event(
        context=context,
        action="symptoms.report",
        patient=patient,
        detail={"report": str(report.uuid), "level": result.level.value},
    )
    return ReportOutcome(report=report, result=result, alert=alert)


@transaction.atomic
def acknowledge_alert(*, context: AuditContext, alert: Alert) -> Alert:
    """Open -> acknowledged. Acknowledging again changes nothing."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status != AlertStatus.OPEN:
        return alert
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = context.actor
    alert.save()
    _history(alert, "acknowledged", context.actor)
    record_event(context=context, action="alert.acknowledge", patient=alert.patient, detail={"alert": str(alert.uuid)})
    return alert


@transaction.atomic
def resolve_alert(*, context: AuditContext, alert: Alert, action: str, note: str = "") -> Alert:
    """Close an alert with what was done. Resolving an open alert acknowledges it at the same time."""
    if action not in ResolutionAction.values:
        raise ValidationError({"action": "Choose what was done: " + ", ".join(ResolutionAction.values) + "."})
    if action == ResolutionAction.OTHER and not (note or "").strip():
        raise ValidationError({"note": "Say what was done."})
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status == AlertStatus.RESOLVED:
        raise ValidationError({"non_field_errors": "This alert is already resolved."})
    now = timezone.now()
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, context.actor
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at, alert.resolved_by = now, context.actor
    alert.resolution, alert.resolution_note = action, (note or "").strip()
    alert.save()
    _history(alert, "resolved", context.actor, action=action)
    record_event(context=context, action="alert.resolve", patient=alert.patient, detail={"alert": str(alert.uuid)})
    return alert
