"""The patient's check-in: report a temperature and symptoms, and be told what to do."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from recovery import access
from recovery.access import Action
from recovery.clinical.charts import TO_TODAY
from recovery.clinical.reminders import high_risk_window
from recovery.clinical.symptom_questions import GRADE_WORDS, QUESTIONS, in_question_order, picker_order
from recovery.clinical.triage import SYMPTOM_CODES, Severity
from recovery.forms.checkin import (
    CheckinDetailsForm,
    SymptomGradeForm,
    SymptomPickerForm,
    TemperatureForm,
    celsius_to_fahrenheit,
    error_summary,
)
from recovery.models import SymptomReport
from recovery.queries.configuration import active_config
from recovery.queries.review import report_rows, temperature_history
from recovery.queries.symptoms import advice_text, contact_day_text, contact_promise_for
from recovery.queries.timeline import episode_dates, episode_of, patient_today
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
                if target == "temperature":
                    message = form.temperature_message(message)
                form.add_error(target, message)
        return None
    return redirect("recovery:checkin-result", report_id=outcome.report.uuid)


# The check-in in progress, kept in the session between its steps: nothing is stored until it is sent.
FLOW_KEY = "checkin"
DETAILS_FIELDS = ("temperature", "unit", "recorded_at", "notes", "feels_urgent")


def _flow(request) -> dict:
    """The check-in in progress (symptoms chosen, their grades, the last step's typed text), cleaned of anything
    a session could hold that the steps did not put there."""
    raw = request.session.get(FLOW_KEY)
    raw = raw if isinstance(raw, dict) else {}
    chosen = in_question_order(code for code in raw.get("chosen") or [] if isinstance(code, str) and code in QUESTIONS)
    grades = raw.get("grades") if isinstance(raw.get("grades"), dict) else {}
    details = raw.get("details") if isinstance(raw.get("details"), dict) else None
    return {
        "chosen": chosen,
        "grades": {
            code: grade
            for code, grade in grades.items()
            if code in chosen and grade in GRADE_WORDS and type(grade) is int
        },
        "details": None if details is None else {name: str(details.get(name, "")) for name in DETAILS_FIELDS},
        "details_valid": raw.get("details_valid") is True and details is not None,
        "other": raw.get("other") is True,
    }


def _save_flow(request, flow: dict) -> None:
    request.session[FLOW_KEY] = flow


def _step_url(step: str | None, *, change: bool = False) -> str:
    """The URL of a step: a symptom code (its question), "details", "answers", or None for the picker."""
    if step is None:
        url = reverse("recovery:checkin")
    elif step in ("details", "answers"):
        url = reverse(f"recovery:checkin-{step}")
    else:
        url = reverse("recovery:checkin-question", kwargs={"code": step})
    return f"{url}?change=1" if change and step != "answers" else url


def _missing(flow: dict) -> str | None:
    """The first step still unanswered ("details" last), or None when every step has its answer."""
    for code in flow["chosen"]:
        if code not in flow["grades"]:
            return code
    return None if flow["details_valid"] else "details"


def _steps(flow: dict) -> list[str]:
    return [*flow["chosen"], "details"]


def _next(flow: dict, step: str | None, *, change: bool) -> HttpResponse:
    """Where to go after answering `step`: on, in order; or, changing an answer, to what is left, else the answers."""
    if change:
        missing = _missing(flow)
        return redirect(_step_url(missing, change=True) if missing else _step_url("answers"))
    steps = [*_steps(flow), "answers"]
    return redirect(_step_url(steps[0] if step is None else steps[steps.index(step) + 1]))


def _progress(flow: dict, step: str, change: bool) -> dict:
    """The step's number ("Question 2 of 4") and its Back link: the previous step, or the answers when changing."""
    steps = _steps(flow)
    index = steps.index(step)
    back = _step_url("answers") if change else _step_url(steps[index - 1] if index else None)
    return {"number": index + 1, "total": len(steps), "back": back, "change": change}


def _changing(request) -> bool:
    return request.GET.get("change") == "1"


def _send(request, patient, *, recorded_at, temperature_c=None, symptoms, notes="", feels_urgent=False):
    """Record the check-in through the service (as the API does), end the flow and show the result."""
    outcome = record_symptom_report(
        context=AuditContext.from_request(request),
        patient=patient,
        recorded_at=recorded_at,
        temperature_c=temperature_c,
        symptoms=symptoms,
        notes=notes,
        feels_urgent=feels_urgent,
    )
    request.session.pop(FLOW_KEY, None)
    return redirect("recovery:checkin-result", report_id=outcome.report.uuid)


@login_required
def checkin(request: HttpRequest) -> HttpResponse:
    """Step 1: "Is anything new or worse?", a picker of symptoms, or "I feel fine" in one tap."""
    patient = access.own_patient(request.user)
    access.require(request.user, Action.REPORT_SYMPTOMS)
    flow = _flow(request)
    change = _changing(request)
    if request.method == "POST" and request.POST.get("fine"):
        # "I feel fine": every symptom at none, now (the baseline triage compares later reports with).
        return _send(request, patient, recorded_at=timezone.now(), symptoms=dict.fromkeys(SYMPTOM_CODES, 0))
    form = SymptomPickerForm(
        request.POST if request.method == "POST" else None, initial={"symptoms": flow["chosen"], "other": flow["other"]}
    )
    if request.method == "POST" and form.is_valid():
        flow["chosen"] = in_question_order(form.cleaned_data["symptoms"])
        flow["other"] = form.cleaned_data["other"]
        flow["grades"] = {code: grade for code, grade in flow["grades"].items() if code in flow["chosen"]}
        _save_flow(request, flow)
        return _next(flow, None, change=change)
    record_event(context=AuditContext.from_request(request), action="symptoms.checkin_form", patient=patient)
    return render(
        request,
        "recovery/my_checkin.html",
        {
            "form": form,
            "patient": patient,
            "error_summary": error_summary(form, {"symptoms": f"symptom-{picker_order()[0]}"}),
        },
    )


@login_required
def checkin_question(request: HttpRequest, code: str) -> HttpResponse:
    """Step 2: one question per chosen symptom, how bad it has been, in words."""
    patient = access.own_patient(request.user)
    access.require(request.user, Action.REPORT_SYMPTOMS)
    flow = _flow(request)
    if code not in flow["chosen"]:
        return redirect("recovery:checkin")
    change = _changing(request)
    question = QUESTIONS[code]
    form = SymptomGradeForm(
        request.POST if request.method == "POST" else None,
        initial={"grade": flow["grades"].get(code)},
        question=question,
    )
    if request.method == "POST" and form.is_valid():
        flow["grades"][code] = form.cleaned_data["grade"]
        _save_flow(request, flow)
        return _next(flow, code, change=change)
    return render(
        request,
        "recovery/my_checkin_question.html",
        {
            "form": form,
            "patient": patient,
            "question": gettext(question.question),
            "name": gettext(question.name),
            "progress": _progress(flow, code, change),
            "error_summary": error_summary(form, {"grade": "grade-0"}),
        },
    )


@login_required
def checkin_details(request: HttpRequest) -> HttpResponse:
    """The last question: a temperature if taken, notes, and "I feel this is urgent"."""
    patient = access.own_patient(request.user)
    access.require(request.user, Action.REPORT_SYMPTOMS)
    flow = _flow(request)
    if not flow["chosen"] and not flow["other"]:
        return redirect("recovery:checkin")
    change = _changing(request)
    options = {
        "patient_timezone": patient.timezone,
        "config": active_config(patient.centre_id).triage,
        "symptoms_chosen": bool(flow["chosen"]),
        "other": flow["other"],
    }
    if request.method == "POST":
        form = CheckinDetailsForm(request.POST, **options)
        # Kept even when refused (nothing typed is lost going Back), but not sent until it is accepted.
        flow["details"], flow["details_valid"] = form.stored(), form.is_valid()
        _save_flow(request, flow)
        if flow["details_valid"]:
            return _next(flow, "details", change=change)
    elif flow["details"] is not None:
        form = CheckinDetailsForm(flow["details"], **options)
    else:
        form = CheckinDetailsForm(initial=_initial(patient), **options)
    return render(
        request,
        "recovery/my_checkin_details.html",
        {
            "form": form,
            "patient": patient,
            "progress": _progress(flow, "details", change),
            "error_summary": error_summary(
                form, {"temperature": "id_temperature", "recorded_at": "id_recorded_at", "notes": "id_notes"}
            ),
        },
    )


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
    # In the twice-daily temperature window a report without a reading (e.g. "I feel fine") does not answer the
    # temperature reminder (`answers_reminder`): the page asks for the reading (hazard H-40).
    dates = episode_dates(episode_of(patient))
    window = high_risk_window(dates.reinfusion, dates.neutrophil_engraftment, config.reminders)
    ask_temperature = report.temperature_c is None and window is not None and patient_today(patient) in window
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
            "ask_temperature": ask_temperature,
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


@login_required
def checkin_answers(request: HttpRequest) -> HttpResponse:
    """Check your answers, each with a Change link; Send records the check-in through the service."""
    patient = access.own_patient(request.user)
    access.require(request.user, Action.REPORT_SYMPTOMS)
    flow = _flow(request)
    if not flow["chosen"] and not flow["other"]:
        return redirect("recovery:checkin")
    config = active_config(patient.centre_id).triage
    details = CheckinDetailsForm(
        flow["details"] or {},
        patient_timezone=patient.timezone,
        config=config,
        symptoms_chosen=bool(flow["chosen"]),
        other=flow["other"],
    )
    missing = _missing(flow)
    if missing is None and not details.is_valid():  # e.g. a time that is no longer right: ask again
        flow["details_valid"] = False
        _save_flow(request, flow)
        missing = "details"
    if missing is not None:
        return redirect(_step_url(missing, change=True))
    errors = []
    if request.method == "POST":
        try:
            return _send(
                request,
                patient,
                recorded_at=details.cleaned_data["recorded_at"],
                temperature_c=details.temperature_c(),
                symptoms={code: flow["grades"][code] for code in flow["chosen"]},
                notes=details.cleaned_data["notes"],
                feels_urgent=details.cleaned_data["feels_urgent"],
            )
        except ValidationError as exc:
            errors = [
                {"message": message, "href": _step_url("details", change=True)}
                for messages in exc.message_dict.values()
                for message in messages
            ]
    rows = [
        {
            "name": gettext(QUESTIONS[code].name),
            "word": gettext(GRADE_WORDS[flow["grades"][code]]),
            "example": gettext(QUESTIONS[code].examples[flow["grades"][code]]),
            "change": _step_url(code, change=True),
        }
        for code in flow["chosen"]
    ]
    temperature = details.cleaned_data["temperature"]
    return render(
        request,
        "recovery/my_checkin_answers.html",
        {
            "patient": patient,
            "rows": rows,
            "other": flow["other"],
            "error_summary": errors,
            "temperature": temperature,
            "unit": "°F" if details.cleaned_data["unit"] == "F" else "°C",
            "recorded_at": details.cleaned_data["recorded_at"],
            "notes": details.cleaned_data["notes"],
            "feels_urgent": details.cleaned_data["feels_urgent"],
            "back": _step_url("details"),
            "change_symptoms": _step_url(None, change=True),
            "change_details": _step_url("details", change=True),
        },
    )
