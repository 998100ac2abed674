"""One patient's review for the care team (reports, charts, open alerts) and an alert's history in words.
Reads only."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from recovery.clinical.charts import DEFAULT_CHART_CONFIG, ChartConfig, Window, break_gaps, report_gap_hours
from recovery.clinical.config import DEFAULT_REMINDER_CONFIG, ReminderConfig
from recovery.clinical.phases import local_date
from recovery.clinical.triage import SYMPTOM_CODES, SYMPTOM_LABELS
from recovery.models import (
    OPEN_STATUSES,
    Alert,
    AlertEvent,
    AlertSeverity,
    Patient,
    ResolutionAction,
    SymptomReport,
)
from recovery.queries.alert_reasons import first_reason, reason_lines
from recovery.queries.dashboard import duration_text

REVIEW_REPORTS = 500  # reports charted on the review page
REVIEW_TABLE_REPORTS = 30
REVIEW_ALERTS = 200

SEVERITY_COLOURS = {
    AlertSeverity.URGENT.value: "#dc3545",
    AlertSeverity.SAME_DAY.value: "#fd7e14",
    AlertSeverity.ROUTINE.value: "#6c757d",
}


_SYMPTOM_PALETTE = (
    "#0d6efd",
    "#6f42c1",
    "#d63384",
    "#fd7e14",
    "#198754",
    "#20c997",
    "#0dcaf0",
    "#ffc107",
    "#6c757d",
    "#842029",
)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class ReportRow:
    report: SymptomReport
    symptoms: list[tuple[str, int]]  # (label, grade) for grades above 0


def _symptom_label(code: str) -> str:
    """A symptom's plain words in the reader's language (the code itself when unknown)."""
    return _(SYMPTOM_LABELS[code]) if code in SYMPTOM_LABELS else code


def report_rows(reports) -> list[ReportRow]:
    """Each report with its symptoms graded above 0, in words, in the order of the symptom list."""
    return [
        ReportRow(
            report=r,
            symptoms=[
                (_symptom_label(code), grade)
                for code, grade in sorted((r.symptoms or {}).items(), key=lambda item: _symptom_position(item[0]))
                if grade
            ],
        )
        for r in reports
    ]


def _symptom_position(code: str) -> tuple[int, str]:
    return (SYMPTOM_CODES.index(code), "") if code in SYMPTOM_CODES else (len(SYMPTOM_CODES), code)


@dataclass(frozen=True)
class OpenAlertRow:
    alert: Alert
    reason: str  # the first line: what raised it
    updates: int  # later reports that updated it
    waiting: str


def _open_alert_row(alert: Alert, now: datetime) -> OpenAlertRow:
    lines = reason_lines(alert)
    return OpenAlertRow(
        alert=alert,
        reason=lines[0] if lines else "",
        updates=max(0, len(lines) - 1),
        waiting=duration_text(now - alert.created_at),
    )


def _gap_ms(day0: date | None, zone: str, reminders: ReminderConfig, config: ChartConfig):
    """The longest gap (ms) that still joins the line after a report at `x` ms (the schedule of that day)."""

    def limit(x: float) -> float:
        day = None
        if day0 is not None:
            day = (local_date(datetime.fromtimestamp(x / 1000, tz=UTC), zone) - day0).days
        return report_gap_hours(day, reminders, config) * 3600 * 1000

    return limit


def patient_review(
    patient: Patient,
    fever_c: float,
    now: datetime | None = None,
    *,
    day0: date | None = None,
    window: Window | None = None,
    reminders: ReminderConfig = DEFAULT_REMINDER_CONFIG,
    charts: ChartConfig = DEFAULT_CHART_CONFIG,
) -> dict:
    """The review page's charts (as plain data for json_script) and the last reports (two queries; four with a
    window).

    The charts show the reports and alerts of `window` (patient-local dates; None for all of them); the table and
    the open alerts are the latest, whatever the window. The temperature and symptom lines break where reports
    are further apart than the reminders asked for (`report_gap_hours`): no line across days without a report.
    """
    now = now or timezone.now()
    all_reports = SymptomReport.objects.filter(patient=patient).order_by("-recorded_at", "-id")
    all_alerts = (
        Alert.objects.filter(patient=patient)
        .order_by("-created_at", "-id")
        .only(
            "uuid",
            "severity",
            "severity_rank",
            "status",
            "reason",
            "reason_code",
            "reason_values",
            "created_at",
            "kind",
        )
    )
    charted_reports = all_reports
    charted_alerts = all_alerts
    if window is not None:
        start, end = window.utc_bounds(patient.timezone)
        charted_reports = all_reports.filter(recorded_at__gte=start, recorded_at__lt=end)
        charted_alerts = all_alerts.filter(created_at__gte=start, created_at__lt=end)
    charted_reports = list(charted_reports[:REVIEW_REPORTS])  # newest first
    charted_alerts = list(charted_alerts[:REVIEW_ALERTS])
    # the table and the open alerts are the latest whatever the window (two more queries only with a window)
    reports = charted_reports if window is None else list(all_reports[:REVIEW_TABLE_REPORTS])
    alerts = charted_alerts if window is None else list(all_alerts[:REVIEW_ALERTS])
    gap = _gap_ms(day0, patient.timezone, reminders, charts)
    chronological = list(reversed(charted_reports))
    temperature = [
        {"x": _ms(r.recorded_at), "y": float(r.temperature_c)} for r in chronological if r.temperature_c is not None
    ]
    grades: dict[str, list[dict]] = defaultdict(list)
    ever = {code for r in chronological for code, grade in (r.symptoms or {}).items() if grade}
    codes = [code for code in SYMPTOM_CODES if code in ever] + sorted(ever - set(SYMPTOM_CODES))
    for r in chronological:
        for code in codes:
            grade = (r.symptoms or {}).get(code)
            if grade is not None:
                grades[code].append({"x": _ms(r.recorded_at), "y": grade})
    symptoms = [
        {
            "code": code,
            "label": _symptom_label(code),
            "colour": _SYMPTOM_PALETTE[i % len(_SYMPTOM_PALETTE)],
            "data": break_gaps(grades[code], gap),
        }
        for i, code in enumerate(codes)
    ]
    alert_points = [
        {
            "x": _ms(a.created_at),
            "y": a.severity_rank,
            "severity": a.severity,
            "label": a.get_severity_display(),
            "status": a.get_status_display(),
            "reason": first_reason(a),
            "colour": SEVERITY_COLOURS.get(a.severity, "#6c757d"),
        }
        for a in reversed(charted_alerts)
    ]
    if window is not None:
        # From the window's first report (a patient who reported only lately is not squeezed into the right-hand
        # edge of a year) to its end, or now: the time since the last report stays visible.
        start, end = window.utc_bounds(patient.timezone)
        end_ms = min(_ms(end), _ms(now))
        xs = [p["x"] for p in temperature] + [p["x"] for p in alert_points]
        xs += [_ms(r.recorded_at) for r in charted_reports]
        x_range = [min(xs, default=_ms(start)), end_ms]
    else:
        xs = [p["x"] for p in temperature] + [p["x"] for p in alert_points]
        xs += [_ms(r.recorded_at) for r in charted_reports]
        x_range = [min(xs), max(xs)] if xs else None
    chart = {
        "timezone": patient.timezone,
        "fever_c": fever_c,
        "range": x_range,
        "temperature": break_gaps(temperature, gap),
        "symptoms": symptoms,
        "alerts": alert_points,
        "severities": {str(rank): label for rank, label in ((3, _("Urgent")), (2, _("Same day")), (1, _("Routine")))},
        "labels": {
            "temperature": _("Temperature (°C)"),
            "fever": _("Fever threshold (%(fever)s °C)") % {"fever": number_format(fever_c, 1)},
            "grade": _("Grade"),
            "alerts": _("Alerts"),
            "alert": _("%(severity)s (%(status)s): %(reason)s"),
        },
    }
    table = report_rows(reports[:REVIEW_TABLE_REPORTS])
    return {
        "chart": chart,
        "has_chart_data": bool(reports or alerts),
        "charted_reports": len(charted_reports),
        "reports": table,
        "report_count": len(charted_reports),
        "charted_limit": REVIEW_REPORTS,
        "alerts": alerts,
        "open_alerts": [_open_alert_row(a, now) for a in alerts if a.status in OPEN_STATUSES],
    }


_EVENT_LABELS = {
    "raised": gettext_lazy("Raised"),
    "updated": gettext_lazy("Updated by a new report"),
    "escalated": gettext_lazy("Escalated"),
    "acknowledged": gettext_lazy("Acknowledged"),
    "resolved": gettext_lazy("Resolved"),
    "reopened": gettext_lazy("Reopened"),
}


def describe_event(event: AlertEvent) -> tuple[str, str]:
    """(what happened, the detail in words) for one history row."""
    detail = event.detail or {}
    parts = []
    if "severity_from" in detail and "severity_to" in detail:
        parts.append(
            _("severity %(from)s → %(to)s")
            % {"from": _severity_label(detail["severity_from"]), "to": _severity_label(detail["severity_to"])}
        )
    elif "severity" in detail:
        parts.append(_("severity %(severity)s") % {"severity": _severity_label(detail["severity"])})
    if detail.get("reopened"):
        parts.append(_("reopened: worse than when it was acknowledged"))
    if "action" in detail:
        parts.append(_resolution_label(detail["action"]))
    if "rule" in detail:
        parts.append(_("rule %(rule)s") % {"rule": detail["rule"]})
    what = _EVENT_LABELS.get(event.action, event.action.replace("_", " ").capitalize())
    return str(what), "; ".join(parts)


def _severity_label(value: str) -> str:
    try:
        return str(AlertSeverity(value).label).lower()
    except ValueError:
        return str(value)


def _resolution_label(value: str) -> str:
    try:
        return str(ResolutionAction(value).label)
    except ValueError:
        return str(value)


HISTORY_CHART_REPORTS = 500  # readings charted on the patient's "My reports" page


def temperature_history(
    patient: Patient,
    *,
    day0: date | None,
    window: Window | None,
    reminders: ReminderConfig = DEFAULT_REMINDER_CONFIG,
    charts: ChartConfig = DEFAULT_CHART_CONFIG,
) -> list[dict]:
    """The patient's own temperatures in `window` (None: all), oldest first, as {"x": ms, "y": °C}, with the line
    broken where readings are further apart than the reminders asked for (one query)."""
    rows = SymptomReport.objects.filter(patient=patient, temperature_c__isnull=False)
    if window is not None:
        start, end = window.utc_bounds(patient.timezone)
        rows = rows.filter(recorded_at__gte=start, recorded_at__lt=end)
    latest = rows.order_by("-recorded_at", "-id").values_list("recorded_at", "temperature_c")[:HISTORY_CHART_REPORTS]
    points = [{"x": _ms(at), "y": float(value)} for at, value in reversed(list(latest))]
    return break_gaps(points, _gap_ms(day0, patient.timezone, reminders, charts))
