"""The patient's check-in: report a temperature and symptoms, and be told what to do."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from recovery import access
from recovery.access import Action
from recovery.clinical.charts import TO_TODAY
from recovery.clinical.triage import Severity
from recovery.forms.checkin import CheckinForm, TemperatureForm, celsius_to_fahrenheit
from recovery.models import SymptomReport
from recovery.queries.configuration import active_config
from recovery.queries.review import report_rows, temperature_history
from recovery.queries.symptoms import advice_text, contact_day_text, contact_promise_for
from recovery.queries.timeline import episode_of, patient_today
from recovery.services.audit import AuditContext, record_event
from recovery.services.symptoms import record_symptom_report
from recovery.views.charts import chart_range

HISTORY_REPORTS = 60


def _initial(patient) -> dict:
    return {"recorded_at": timezone.localtime(timezone.now(), patient.tz).strftime("%Y-%m-%dT%H:%M"), "unit": "C"}


def _submit(request, patient, form, *, symptoms=None, notes="", feels_urgent=False):
    try:
        outcome = record_symptom_report(
            context=AuditContext.from_request(request),
            patient=patient,
            recorded_at=form.cleaned_data["recorded_at"],
            temperature_c=form.temperature_c(),
            symptoms=symptoms,
            notes=notes,
            feels_urgent=feels_urgent,
        )
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            target = {"temperature_c": "temperature", "__all__": None}.get(field, field)
            if target is not None and target not in form.fields:
                target = None
            for message in messages:
                if target == "temperature" and form.cleaned_data.get("unit") == "F":
                    message = (
                        f"You entered {form.cleaned_data['temperature']} °F ({form.temperature_c()} °C). {message}"
                    )
                form.add_error(target, message)
        return None
    return redirect("recovery:checkin-result", report_id=outcome.report.uuid)


@login_required
def checkin(request: HttpRequest) -> HttpResponse:
    patient = access.own_patient(request.user)
    access.require(request.user, Action.REPORT_SYMPTOMS)
    form = CheckinForm(
        request.POST if request.method == "POST" else None, initial=_initial(patient), patient_timezone=patient.timezone
    )
    if request.method == "POST" and form.is_valid():
        response = _submit(
            request,
            patient,
            form,
            symptoms=form.symptoms(),
            notes=form.cleaned_data["notes"],
            feels_urgent=form.cleaned_data["feels_urgent"],
        )
        if response is not None:
            return response
    record_event(context=AuditContext.from_request(request), action="symptoms.checkin_form", patient=patient)
    return render(request, "recovery/my_checkin.html", {"form": form, "patient": patient})


@login_required
def temperature(request: HttpRequest) -> HttpResponse:
    patient = access.own_patient(request.user)
    access.require(request.user, Action.REPORT_SYMPTOMS)
    form = TemperatureForm(
        request.POST if request.method == "POST" else None, initial=_initial(patient), patient_timezone=patient.timezone
    )
    if request.method == "POST" and form.is_valid():
        response = _submit(request, patient, form)
        if response is not None:
            return response
    record_event(context=AuditContext.from_request(request), action="symptoms.temperature_form", patient=patient)
    return render(request, "recovery/my_temperature.html", {"form": form, "patient": patient})


@login_required
def checkin_result(request: HttpRequest, report_id) -> HttpResponse:
    patient = access.own_patient(request.user)
    report = SymptomReport.objects.filter(patient=patient, uuid=report_id).first()
    if report is None:
        raise Http404("No such report.")
    record_event(context=AuditContext.from_request(request), action="symptoms.view_own", patient=patient)
    # In the order of the symptom list, not the stored JSON's: PostgreSQL's jsonb does not keep the keys' order.
    reported = report_rows([report])[0].symptoms
    config, now = active_config(patient.centre_id), timezone.now()
    promise = contact_promise_for(patient.centre, config, now)  # by the team's working hours, as the page is read
    return render(
        request,
        "recovery/my_checkin_result.html",
        {
            "patient": patient,
            "report": report,
            "urgent": report.triage_level == Severity.URGENT,
            "advice": advice_text(report.triage_level, report.pseudo_relapse, patient.centre, at=now, config=config),
            "same_day": report.triage_level == Severity.SAME_DAY,
            "contact_today": promise.today,
            "contact_day": contact_day_text(promise),
            "fahrenheit": celsius_to_fahrenheit(report.temperature_c) if report.temperature_c is not None else None,
            "reported": reported,
        },
    )


@login_required
def my_history(request: HttpRequest) -> HttpResponse:
    patient = access.own_patient(request.user)
    reports = list(patient.symptom_reports.all()[:HISTORY_REPORTS])
    record_event(context=AuditContext.from_request(request), action="symptoms.view_own", patient=patient)
    config = active_config(patient.centre_id)
    today = patient_today(patient)
    episode = episode_of(patient)
    day0 = episode.reinfusion_date if episode else None
    shown = chart_range(request, day0=day0, today=today, anchor=TO_TODAY, config=config.charts, fragment="chart")
    chart = temperature_history(
        patient, day0=day0, window=shown.window, reminders=config.reminders, charts=config.charts
    )
    rows = [{"report": row.report, "symptoms": row.symptoms} for row in report_rows(reports)]
    return render(
        request,
        "recovery/my_history.html",
        {
            "patient": patient,
            "rows": rows,
            "chart": chart,
            "has_temperatures": bool(chart) or any(r.temperature_c is not None for r in reports),
            "chart_range": shown,
            "chart_labels": {
                "temperature": _("Temperature (°C)"),
                "fever": _("Fever (%(fever)s °C)") % {"fever": number_format(config.triage.fever_c, 1)},
            },
            "fever_c": config.triage.fever_c,
        },
    )
