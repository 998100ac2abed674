"""The care team's list of who has not reported (every patient in the high-risk window, with a login or not),
and a reading taken down from a phone call, entered for the patient."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from recovery import access
from recovery.access import Action
from recovery.forms.reporting import PhoneReadingForm
from recovery.queries.reporting import Reporting, reporting_rows
from recovery.services.audit import AuditContext, record_event, record_reads
from recovery.services.symptoms import record_phone_reading
from recovery.views.common import safe_next

REPORTING_PER_PAGE = 25


@login_required
@require_safe
def not_reported(request: HttpRequest) -> HttpResponse:
    """Every patient of the viewer's centres in the high-risk window: overdue first, then by name (paginated)."""
    access.require(request.user, Action.WORK_TASKS)
    rows = reporting_rows(access.visible_patients(request.user))
    page = Paginator(rows, REPORTING_PER_PAGE).get_page(request.GET.get("page"))
    context = AuditContext.from_request(request)
    record_reads(context=context, action="reporting.view", patients=[row.patient for row in page])
    return render(
        request,
        "recovery/care/not_reported.html",
        {
            "page": page,
            "total": len(rows),
            "overdue": sum(1 for r in rows if r.status == Reporting.OVERDUE),
            "no_login": sum(1 for r in rows if not r.has_login),
            "here": request.get_full_path(),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def phone_reading(request: HttpRequest, patient_id) -> HttpResponse:
    """A temperature the patient gave on the phone, recorded and triaged as their own entry would be."""
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT_CHART)
    access.require(request.user, Action.REPORT_SYMPTOMS)
    posted = request.method == "POST"
    initial = {"recorded_at": timezone.localtime(timezone.now(), patient.tz).strftime("%Y-%m-%dT%H:%M"), "unit": "C"}
    form = PhoneReadingForm(request.POST if posted else None, initial=initial, patient_timezone=patient.timezone)
    context = AuditContext.from_request(request)
    if posted and form.is_valid():
        try:
            outcome = record_phone_reading(
                context=context,
                patient=patient,
                recorded_at=form.cleaned_data["recorded_at"],
                temperature_c=form.temperature_c(),
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                target = {"temperature_c": "temperature"}.get(field, field)
                for message in errors:
                    if target == "temperature":
                        message = form.temperature_message(message)
                    form.add_error(target if target in form.fields else None, message)
        else:
            values = {"name": patient.full_name, "value": number_format(outcome.report.temperature_c, 1)}
            if outcome.alert is not None:
                messages.warning(
                    request,
                    _("Reading recorded for %(name)s: %(value)s °C. It raised an alert: follow it up now.") % values,
                )
                return redirect("recovery:alert-detail", alert_id=outcome.alert.uuid)
            messages.success(
                request, _("Reading recorded for %(name)s: %(value)s °C, entered by you by phone.") % values
            )
            return redirect(safe_next(request) or reverse("recovery:reporting"))
    record_event(context=context, action="symptoms.phone_form", patient=patient)
    return render(
        request,
        "recovery/care/phone_reading.html",
        {"patient": patient, "form": form, "next": safe_next(request)},
    )
