"""Vaccination and prophylaxis pages: a patient's revaccination plan and prophylaxis courses for staff, the
centre's doses due for the coordinators, and the patient's own plan in plain words.

Who may see and do what is decided by `recovery.access`; the plans come from
`recovery.services.vaccinations` and `recovery.services.prophylaxis`, which apply the centre's configuration.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateformat import format as format_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from recovery import access
from recovery.access import Action
from recovery.clinical.vaccination import DoseStatus, live_vaccine_earliest, vaccine_name
from recovery.forms.care import ProphylaxisStopForm, VaccinationForm
from recovery.queries.care import DOSE_BADGES, dose_rows, my_care_context
from recovery.queries.configuration import active_config
from recovery.queries.prophylaxis import Display, prophylaxis_for
from recovery.queries.timeline import episode_of, patient_today
from recovery.queries.vaccinations import doses_due, immunoglobulin_dates, plan_for, vaccine_choices
from recovery.services.audit import AuditContext, record_event, record_reads
from recovery.services.prophylaxis import record_prophylaxis_stop
from recovery.services.vaccinations import record_vaccination

DUE_PER_PAGE = 25

COURSE_BADGES = {
    Display.NOT_STARTED: ("text-bg-light border", gettext_lazy("Not started")),
    Display.ACTIVE: ("text-bg-primary", gettext_lazy("Taking")),
    Display.AWAITING_CD4: ("text-bg-warning", gettext_lazy("Stop date reached, CD4 not recovered")),
    Display.STOP_ALLOWED: ("text-bg-info", gettext_lazy("May stop now")),
    Display.STOPPED: ("text-bg-success", gettext_lazy("Stopped")),
}


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# --- staff: one patient's vaccinations -------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def patient_vaccinations(request: HttpRequest, patient_id) -> HttpResponse:
    """The revaccination plan with each dose's status, and the form to record a dose given."""
    posted = request.method == "POST"
    action = Action.RECORD_VACCINATIONS if posted else Action.VIEW_PATIENT_CHART
    patient = access.get_patient(request.user, patient_id, action)
    config = active_config(patient.centre_id).vaccination
    initial = {"vaccine": request.GET.get("vaccine", ""), "dose": request.GET.get("dose", "")}
    form = VaccinationForm(request.POST if posted else None, initial=initial, vaccines=vaccine_choices(config))
    context = AuditContext.from_request(request)
    if posted and form.is_valid():
        try:
            dose = record_vaccination(context=context, patient=patient, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(vaccine)s dose %(dose)s recorded as given.")
                % {"vaccine": _(vaccine_name(dose.vaccine)), "dose": dose.dose},
            )
            return redirect("recovery:patient-vaccinations", patient_id=patient.uuid)
    record_event(context=context, action="vaccinations.view", patient=patient)
    episode = episode_of(patient)
    day0 = episode.reinfusion_date if episode else None
    today = patient_today(patient)
    plan = plan_for(patient, today=today)
    rows = dose_rows(plan, config.live_vaccines)
    return render(
        request,
        "recovery/care/patient_vaccinations.html",
        {
            "patient": patient,
            "day0": day0,
            "today": today,
            "rows": rows,
            "open_count": sum(1 for r in rows if r.dose.status in (DoseStatus.DUE, DoseStatus.OVERDUE)),
            "given_count": sum(1 for r in rows if r.dose.status == DoseStatus.GIVEN),
            "live_from": live_vaccine_earliest(day0, config) if day0 else None,
            "live_months": config.live_not_before_months,
            "immunoglobulin_months": config.live_after_immunoglobulin_months,
            "last_immunoglobulin": max(immunoglobulin_dates(patient), default=None) if day0 else None,
            "form": form,
            "may_record": access.may(request.user, Action.RECORD_VACCINATIONS),
        },
    )


# --- staff: one patient's prophylaxis ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def patient_prophylaxis(request: HttpRequest, patient_id) -> HttpResponse:
    """Each course's start, planned stop and CD4 rule; the clinician's form to record a stop."""
    posted = request.method == "POST"
    action = Action.STOP_PROPHYLAXIS if posted else Action.VIEW_PATIENT_CHART
    patient = access.get_patient(request.user, patient_id, action)
    summary = prophylaxis_for(patient)
    courses = summary.courses if summary else []
    medications = [(c.medication, c.name) for c in courses if c.stop is None]
    initial = {"medication": request.GET.get("medication", ""), "stopped_on": summary.today if summary else None}
    form = ProphylaxisStopForm(request.POST if posted else None, initial=initial, medications=medications)
    context = AuditContext.from_request(request)
    if posted and form.is_valid():
        try:
            stop = record_prophylaxis_stop(context=context, patient=patient, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("Stop recorded: %(medication)s on %(date)s.")
                % {"medication": stop.medication, "date": format_date(stop.stopped_on, _("j M Y"))},
            )
            return redirect("recovery:patient-prophylaxis", patient_id=patient.uuid)
    record_event(context=context, action="prophylaxis.view", patient=patient)
    return render(
        request,
        "recovery/care/patient_prophylaxis.html",
        {
            "patient": patient,
            "summary": summary,
            "courses": [(c, *COURSE_BADGES[c.display]) for c in courses],
            "form": form,
            "may_stop": access.may(request.user, Action.STOP_PROPHYLAXIS) and bool(medications),
        },
    )


# --- coordinators: the centre's doses due ------------------------------------------------------------------------


@login_required
@require_safe
def vaccinations_due(request: HttpRequest) -> HttpResponse:
    """Patients with a vaccine dose due or overdue today, most overdue first (paginated)."""
    access.require(request.user, Action.VIEW_VACCINATIONS_DUE)
    overdue_only = request.GET.get("show") == "overdue"
    rows = doses_due(access.visible_patients(request.user), overdue_only=overdue_only)
    page = Paginator(rows, DUE_PER_PAGE).get_page(request.GET.get("page"))
    record_reads(
        context=AuditContext.from_request(request), action="vaccinations.due", patients=[r.patient for r in page]
    )
    listed = [
        (row, [(d, _(vaccine_name(d.vaccine)), *DOSE_BADGES[DoseStatus(d.status)]) for d in row.doses]) for row in page
    ]
    return render(
        request,
        "recovery/care/vaccinations_due.html",
        {
            "page": page,
            "listed": listed,
            "overdue_only": overdue_only,
            "total": len(rows),
            "follow_up_from": rows.follow_up_from,
        },
    )


# --- the patient: their own plan -------------------------------------------------------------------------------


@login_required
@require_safe
def my_vaccinations(request: HttpRequest) -> HttpResponse:
    patient = access.own_patient(request.user)
    record_event(context=AuditContext.from_request(request), action="vaccinations.view_own", patient=patient)
    return render(request, "recovery/care/my_vaccinations.html", {"patient": patient, **my_care_context(patient)})
