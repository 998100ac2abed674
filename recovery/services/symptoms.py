"""Recording a check-in, triaging it, and the alerts it raises, followed from report to resolution."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from recovery.clinical.config import TriageConfig
from recovery.clinical.phases import local_date, phase_on
from recovery.clinical.triage import (
    SYMPTOM_CODES,
    CountReading,
    Finding,
    Reading,
    ReportInput,
    Severity,
    TriageContext,
    TriageResult,
    severity_rank,
    triage,
)
from recovery.clinical.words import Joined, Message
from recovery.models import (
    Alert,
    LabResult,
    LabTest,
    Patient,
    ReportVia,
    SymptomReport,
)
from recovery.queries.configuration import ActiveConfig, active_config
from recovery.queries.timeline import episode_dates, episode_of
from recovery.services.alerts import raise_alert
from recovery.services.audit import AuditContext, record_event
from recovery.services.outcome_summaries import request_outcome_refresh
from recovery.services.reminders.planning import record_answer

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
            errors["temperature_c"] = _("Enter the temperature as a number, for example 37.8.")
            temperature = None
        else:
            low, high = Decimal(str(config.min_temperature_c)), Decimal(str(config.max_temperature_c))
            if not low <= temperature <= high:
                errors["temperature_c"] = _(
                    "A temperature of %(temperature)s °C is not possible. Check the thermometer and enter it again "
                    "(between %(low)s and %(high)s °C)."
                ) % {
                    "temperature": number_format(temperature, 1),
                    "low": number_format(low, 1),
                    "high": number_format(high, 1),
                }
    if recorded_at is None:
        errors["recorded_at"] = _("Enter when you took the temperature or noticed the symptoms.")
    elif timezone.is_naive(recorded_at):
        errors["recorded_at"] = _("Give the time with its time zone.")
    elif recorded_at.year < EARLIEST_REPORT_YEAR:
        errors["recorded_at"] = _("Check the date: enter when you took the temperature or noticed the symptoms.")
    elif recorded_at > now + CLOCK_SKEW:
        errors["recorded_at"] = _(
            "This time is in the future. Enter when you took the temperature or noticed the symptoms."
        )
    grades: dict[str, int] = {}
    if symptoms in (None, ""):
        symptoms = {}
    if not isinstance(symptoms, dict):
        errors["symptoms"] = _("Symptoms are a list of symptom names, each with a grade from 0 to 4.")
    else:
        problems = []
        for code, grade in symptoms.items():
            if code not in SYMPTOM_CODES:
                problems.append(_("“%(code)s” is not a symptom we ask about.") % {"code": code})
            elif isinstance(grade, bool) or not isinstance(grade, int) or not 0 <= grade <= 4:
                problems.append(_("The grade for %(code)s must be 0 (none) to 4 (very severe).") % {"code": code})
            else:
                grades[code] = grade
        if problems:
            errors["symptoms"] = " ".join(problems)
    # Every symptom graded 0 is an answer ("I'm fine"); a report with nothing in it at all is not.
    if not errors and temperature is None and not grades and not (notes or "").strip() and not feels_urgent:
        errors["__all__"] = _("Enter a temperature, or grade your symptoms (0 if you do not have them).")
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


def _finding_json(finding: Finding) -> dict:
    """A finding as the report stores it: the English reason, and the reason as a msgid and values."""
    stored = {
        "rule": finding.rule,
        "kind": finding.kind.value,
        "severity": finding.severity.value,
        "reason": finding.reason,
    }
    if finding.message is not None:
        stored["message"] = finding.message.as_json()
    return stored


def _raise_or_update_alert(
    *, patient: Patient, report: SymptomReport, result: TriageResult, config: ActiveConfig, actor: User | None
) -> Alert | None:
    """The alert the report calls for: one per kind, its severity and rule from the report's top finding."""
    if result.level == Severity.NONE:
        return None
    top = max(result.findings, key=lambda f: severity_rank(f.severity))
    reason = Joined(tuple(f.message or f.reason for f in result.findings))
    alert, _ = raise_alert(
        patient=patient,
        kind=top.kind.value,
        severity=result.level,
        rule=top.rule,
        message=reason,
        update_message=Message(
            gettext_noop("%(at)s UTC: %(reason)s"), {"at": f"{report.recorded_at:%Y-%m-%d %H:%M}", "reason": reason}
        ),
        config=config,
        actor=actor,
        detail={"report": str(report.uuid)},
        report=report,
        neutropenic_fever=result.neutropenic_fever,
        pseudo_relapse=result.pseudo_relapse,
    )
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
    entered_via: str = "",
) -> ReportOutcome:
    """Check, store and triage a report; open or update the alert it calls for. Raises ValidationError.

    `entered_via` (a `ReportVia`) when staff enter it for the patient, as they received it."""
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
        entered_via=entered_via,
        phase=triage_context.phase.value,
        day=triage_context.day,
        triage_level=result.level.value,
        findings=[_finding_json(f) for f in result.findings],
        neutropenic_fever=result.neutropenic_fever,
        pseudo_relapse=result.pseudo_relapse,
        config_version=config.version,
    )
    # a report answers the check-ins due about now, late or early (a temperature reminder only with a reading)
    record_answer(patient, report.created_at, with_temperature=report.temperature_c is not None)
    day = triage_context.day
    if temperature is not None and (day is None or day <= config.outcomes.fn_window_end_day):
        request_outcome_refresh(patient)  # the cohort's febrile neutropenia (services/outcome_summaries.py)
    alert = _raise_or_update_alert(patient=patient, report=report, result=result, config=config, actor=context.actor)
    record_event(
        context=context,
        action="symptoms.report",
        patient=patient,
        detail={
            "report": str(report.uuid),
            "level": result.level.value,
            **({"entered_via": entered_via} if entered_via else {}),
        },
    )
    return ReportOutcome(report=report, result=result, alert=alert)


def record_phone_reading(
    *, context: AuditContext, patient: Patient, recorded_at: datetime | None, temperature_c: Any
) -> ReportOutcome:
    """A temperature that staff (`context.actor`) took down on a call with the patient: checked, stored and
    triaged as the patient's own entry (`record_symptom_report`), so it raises the same alerts and answers the
    same check-ins, and recorded as entered by that member of staff by phone. Raises ValidationError."""
    if temperature_c in (None, ""):
        raise ValidationError({"temperature_c": _("Enter the temperature the patient gave.")})
    return record_symptom_report(
        context=context,
        patient=patient,
        recorded_at=recorded_at,
        temperature_c=temperature_c,
        entered_via=ReportVia.PHONE,
    )
