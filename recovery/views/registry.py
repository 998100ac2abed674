"""The registry-ready export (issue 17 item 4): the EBMT MED-A day-100 and CIBMTR core items the app holds, per
patient and per centre, as CSV and JSON. Staff only (recovery.access.registry_patient / registry_centre: anyone
else gets 404); each patient exported is written to the access log. The items and the data dictionary are
defined in recovery/clinical/registry_items.py (docs/registry-export.md)."""

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from accounts.models import Centre
from recovery import access
from recovery.models import Patient
from recovery.queries.registry import RegistryRow, centre_rows, csv_lines, registry_json, registry_rows
from recovery.services.audit import AuditContext, record_event, record_reads
from recovery.views.common import csv_download

ACTION = "registry.export"


def _audited(request: HttpRequest, rows: list[RegistryRow], fmt: str, centre: Centre | None) -> None:
    """One row naming the export (even of no patient), and one per patient exported."""
    context = AuditContext.from_request(request)
    detail = {"format": fmt, "patients": len(rows)}
    if centre is not None:
        detail["centre"] = str(centre.uuid)
    record_event(context=context, action="registry.export_file", detail=detail)
    record_reads(context=context, action=ACTION, patients=[row.patient for row in rows])


def _download(request: HttpRequest, rows: list[RegistryRow], fmt: str, centre: Centre | None, name: str):
    _audited(request, rows, fmt, centre)
    filename = f"registry-{name}-{timezone.localdate().isoformat()}.{fmt}"
    if fmt == "csv":
        return csv_download(csv_lines(rows), filename)
    body = json.dumps(registry_json(rows, centre), ensure_ascii=False, indent=1)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _patient_name(patient: Patient) -> str:
    return slugify(patient.hospital_number) or str(patient.uuid)


@never_cache
@login_required
def patient_registry(request: HttpRequest, patient_id, fmt: str) -> HttpResponse:
    """One patient's registry items (whether or not Day 0 has happened: what is not there yet is coded NY)."""
    patient = access.registry_patient(request.user, patient_id)
    return _download(request, registry_rows([patient]), fmt, patient.centre, _patient_name(patient))


@never_cache
@login_required
def centre_registry(request: HttpRequest, fmt: str) -> HttpResponse:
    """Every transplanted patient of the user's centre (`?centre=<id>` for a member of several centres)."""
    centre = access.registry_centre(request.user, request.GET.get("centre"))
    if centre is None:
        return HttpResponseBadRequest(
            _("You work at several centres: choose one for the registry export."),
            content_type="text/plain; charset=utf-8",
        )
    rows = centre_rows(request.user, centre)
    return _download(request, rows, fmt, centre, slugify(centre.name) or "centre")
