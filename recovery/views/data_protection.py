"""Data protection pages: a patient's own data (JSON and a printable page), staff producing it for a patient,
deactivation, erasure and the pseudonymised research export."""

import csv
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from recovery import access
from recovery.access import Action
from recovery.forms.data_protection import DeactivateForm, EraseForm
from recovery.models import Patient
from recovery.queries.export import as_json, patient_export
from recovery.queries.research import RESEARCH_COLUMNS, research_csv_records, research_json, research_rows
from recovery.services.audit import AuditContext, record_event
from recovery.services.data_protection import deactivate_patient, erase_patient, erasure_answer


def _export_page(request: HttpRequest, patient: Patient, *, own: bool) -> HttpResponse:
    record_event(
        context=AuditContext.from_request(request), action="patient.export", patient=patient, detail={"format": "html"}
    )
    return render(
        request, "recovery/data_export.html", {"patient": patient, "export": patient_export(patient), "own": own}
    )


def _export_json(request: HttpRequest, patient: Patient) -> HttpResponse:
    record_event(
        context=AuditContext.from_request(request), action="patient.export", patient=patient, detail={"format": "json"}
    )
    body = json.dumps(as_json(patient_export(patient)), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    name = f"recovery-data-{timezone.localdate().isoformat()}.json"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@never_cache
@login_required
def my_data(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.EXPORT_OWN_DATA)
    return _export_page(request, access.own_patient(request.user), own=True)


@never_cache
@login_required
def my_data_json(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.EXPORT_OWN_DATA)
    return _export_json(request, access.own_patient(request.user))


@never_cache
@login_required
def patient_data(request: HttpRequest, patient_id) -> HttpResponse:
    return _export_page(request, access.get_patient(request.user, patient_id, Action.EXPORT_PATIENT_DATA), own=False)


@never_cache
@login_required
def patient_data_json(request: HttpRequest, patient_id) -> HttpResponse:
    return _export_json(request, access.get_patient(request.user, patient_id, Action.EXPORT_PATIENT_DATA))


@login_required
def patient_deactivate(request: HttpRequest, patient_id) -> HttpResponse:
    """GET: what deactivation does, and a confirmation form; POST: deactivate."""
    patient = access.get_patient(request.user, patient_id, Action.DEACTIVATE_PATIENT)
    form = DeactivateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and patient.deactivated_at is None:
        try:
            deactivate_patient(
                context=AuditContext.from_request(request), patient=patient, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(name)s is deactivated. Their record is kept.") % {"name": patient.full_name})
            return redirect("recovery:patient-detail", patient_id=patient.uuid)
    record_event(context=AuditContext.from_request(request), action="patient.deactivate_view", patient=patient)
    return render(request, "recovery/patient_deactivate.html", {"patient": patient, "form": form})


@login_required
def patient_erase(request: HttpRequest, patient_id) -> HttpResponse:
    """GET: the retention rule's answer and, when it allows something, a confirmation form; POST: erase."""
    patient = access.get_patient(request.user, patient_id, Action.ERASE_PATIENT)
    decision = erasure_answer(patient)
    form = EraseForm(request.POST if request.method == "POST" else None, expected=patient.hospital_number)
    if request.method == "POST" and form.is_valid():
        try:
            result = erase_patient(context=AuditContext.from_request(request), patient=patient)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if result.scope == "everything":
                done = _("All of the patient's personal data erased. Pseudonym kept for the access log: %(pseudonym)s.")
            else:
                done = _("The login and contact preferences erased. Pseudonym kept for the access log: %(pseudonym)s.")
            messages.success(request, done % {"pseudonym": result.pseudonym})
            return redirect("recovery:patient-detail", patient_id=patient.uuid)
    record_event(
        context=AuditContext.from_request(request),
        action="patient.erase_view",
        patient=patient,
        detail={"answer": decision.scope.value},
    )
    return render(request, "recovery/patient_erase.html", {"patient": patient, "decision": decision, "form": form})


@never_cache
@login_required
def research_export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The pseudonymised research data set of the user's cohort, as CSV or JSON; one audit row names it."""
    access.require(request.user, Action.RESEARCH_EXPORT)
    rows = research_rows(request.user)
    record_event(
        context=AuditContext.from_request(request),
        action="research.export",
        detail={"format": fmt, "patients": len(rows), "pseudonymised": True},
    )
    stamp = timezone.localdate().isoformat()
    if fmt == "json":
        response = HttpResponse(
            json.dumps(research_json(rows), ensure_ascii=False, indent=1),
            content_type="application/json; charset=utf-8",
        )
    else:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        writer = csv.writer(response)
        writer.writerow(RESEARCH_COLUMNS)
        writer.writerows(research_csv_records(rows))
    response["Content-Disposition"] = f'attachment; filename="research-export-{stamp}.{fmt}"'
    return response
