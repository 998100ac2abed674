"""FHIR Bulk Data `$export` under /fhir/R4/ (issue 17; docs/fhir-bulk-export.md): kick-off, status, files.

The same authentication as /api/v1/ (a token or the session), for the roles with `Action.BULK_EXPORT`
(clinicians), and a pseudonymised export also needs `Action.RESEARCH_EXPORT` (`recovery.access`); an export, its
status and its files exist only for the staff of its centre (404 for anyone else). Errors are FHIR
OperationOutcomes. Only GET kick-offs (no POST with Parameters), NDJSON only.
"""

from datetime import timedelta

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.http import http_date

from accounts.models import Centre
from recovery import access
from recovery.access import Action
from recovery.api.fhir.common import FhirView
from recovery.api.fhir.common import outcome_response as operation_outcome
from recovery.models import BulkExport, BulkExportStatus, Patient
from recovery.queries.bulk_export import file_chunks, file_patient_ids, has_file, manifest_files
from recovery.services.audit import AuditContext, record_reads
from recovery.services.bulk_export import delete_bulk_export, exportable_types, queue_bulk_export

FHIR_NDJSON = "application/fhir+ndjson"
OUTPUT_FORMATS = {FHIR_NDJSON, "application/ndjson", "ndjson"}
PARAMETERS = {"_type", "_outputFormat", "_pseudonymise"}
RETRY_AFTER_SECONDS = 5
DOWNLOAD_ACTION = "fhir.bulk_export.downloaded"
# FHIR Bulk Data's `_since` means "changed since": not every record here keeps when it was last written (nor
# what was deleted), so an incremental export could silently miss a result entered today for an old sample.
SINCE_REFUSED = (
    "_since is not supported: export everything and compare with your previous export "
    "(this server cannot tell reliably which resources changed since an instant)."
)


class _RefusedError(Exception):
    def __init__(self, message: str, status: int = 400, code: str = "invalid") -> None:
        super().__init__(message)
        self.status, self.code = status, code


def _export_request(request) -> dict:
    """The kick-off's parameters, or _RefusedError with what is wrong."""
    prefer = request.headers.get("Prefer", "")
    if "respond-async" not in prefer:
        raise _RefusedError("A bulk export needs the header Prefer: respond-async.")
    if "_since" in request.query_params:  # refused even with handling=lenient: ignored, it would look honoured
        raise _RefusedError(SINCE_REFUSED, code="not-supported")
    unknown = sorted(set(request.query_params) - PARAMETERS)
    if unknown and "handling=lenient" not in prefer:
        raise _RefusedError(f"Not supported here: {', '.join(unknown)}. Supported: {', '.join(sorted(PARAMETERS))}.")
    output_format = request.query_params.get("_outputFormat", FHIR_NDJSON)
    if output_format not in OUTPUT_FORMATS:
        raise _RefusedError(f"_outputFormat {output_format!r} is not supported: only {FHIR_NDJSON}.")
    exportable = exportable_types()
    types = [
        name.strip() for value in request.query_params.getlist("_type") for name in value.split(",") if name.strip()
    ]
    unknown_types = [name for name in types if name not in exportable]
    if unknown_types:
        raise _RefusedError(
            f"_type {', '.join(unknown_types)} cannot be exported; these can: {', '.join(exportable)}.",
            code="not-supported",
        )
    pseudonymise = request.query_params.get("_pseudonymise", "false").lower()
    if pseudonymise not in ("true", "false"):
        raise _RefusedError("_pseudonymise is true or false.")
    return {
        "types": list(dict.fromkeys(types)),
        "pseudonymise": pseudonymise == "true",
    }


def _kick_off(request, centre: Centre) -> HttpResponse:
    try:
        parameters = _export_request(request)
    except _RefusedError as refused:
        return operation_outcome(refused.status, refused.code, str(refused))
    access.require_bulk_export(request.user, pseudonymised=parameters["pseudonymise"])
    unfinished = BulkExport.objects.filter(
        centre=centre,
        requested_by=request.user,
        status__in=(BulkExportStatus.QUEUED, BulkExportStatus.RUNNING),
    ).first()
    if unfinished is not None:
        status_url = request.build_absolute_uri(_status_path(unfinished))
        return operation_outcome(
            429,
            "throttled",
            f"Your export of this centre is still being written ({status_url}): wait for it, or DELETE it.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    export = queue_bulk_export(
        context=AuditContext.from_request(request),
        centre=centre,
        request_url=request.build_absolute_uri(),
        **parameters,
    )
    response = HttpResponse(status=202)
    response["Content-Location"] = request.build_absolute_uri(_status_path(export))
    return response


def _status_path(export: BulkExport) -> str:
    return reverse("fhir:bulk-export-status", kwargs={"export_id": export.uuid})


class GroupExport(FhirView):
    def get(self, request, centre_id):
        """`GET Group/{centre id}/$export`: every active patient of one of the user's centres."""
        return _kick_off(request, access.bulk_export_centre(request.user, centre_id))


class SystemExport(FhirView):
    def get(self, request):
        """`GET $export`: the user's centre, when they work at one; at several, they name one (Group)."""
        access.require(request.user, Action.LIST_PATIENTS)
        access.require(request.user, Action.BULK_EXPORT)
        centres = list(Centre.objects.filter(pk__in=access.staff_centre_ids(request.user)).order_by("name"))
        if len(centres) != 1:
            ids = ", ".join(f"{centre.uuid} ({centre.name})" for centre in centres) or "none"
            return operation_outcome(
                400,
                "not-supported",
                f"You work at {len(centres)} centres: export one with GET Group/{{centre id}}/$export. Yours: {ids}.",
            )
        return _kick_off(request, centres[0])


class ExportStatus(FhirView):
    def get(self, request, export_id):
        """202 with X-Progress while the export is written, 200 with the manifest when it is done, 500 with an
        OperationOutcome when it failed."""
        export = access.get_bulk_export(request.user, export_id)
        if export.status in (BulkExportStatus.QUEUED, BulkExportStatus.RUNNING):
            response = HttpResponse(status=202)
            response["X-Progress"] = _progress(export)
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            return response
        if export.status == BulkExportStatus.FAILED:
            return operation_outcome(500, "exception", export.error or "The export failed.")
        expires = export.created_at + timedelta(days=settings.BULK_EXPORT_RETENTION_DAYS)
        return JsonResponse(_manifest(request, export), headers={"Expires": http_date(expires.timestamp())})

    def delete(self, request, export_id):
        """Cancel an export in progress, or delete a finished one and its files."""
        export = access.get_bulk_export(request.user, export_id)
        delete_bulk_export(context=AuditContext.from_request(request), export=export)
        return HttpResponse(status=202)


def _progress(export: BulkExport) -> str:
    if export.status == BulkExportStatus.QUEUED and not export.patients_done:
        return "queued"
    total = export.patients_total
    percent = round(100 * export.patients_done / total) if total else 0
    return f"{percent}% ({export.patients_done}/{total} patients)"


def _manifest(request, export: BulkExport) -> dict:
    return {
        "transactionTime": export.created_at.isoformat(),
        "request": export.request_url,
        "requiresAccessToken": True,
        "output": [
            {
                "type": name,
                "url": request.build_absolute_uri(
                    reverse("fhir:bulk-export-file", kwargs={"export_id": export.uuid, "resource_type": name})
                ),
                "count": count,
            }
            for name, count in manifest_files(export)
        ],
        "error": [],
        "extension": {"pseudonymised": export.pseudonymised},
    }


class ExportFile(FhirView):
    def get(self, request, export_id, resource_type):
        """One resource type's NDJSON file of a finished export, streamed part by part."""
        export = access.get_bulk_export(request.user, export_id)
        if export.status != BulkExportStatus.DONE or not has_file(export, resource_type):
            raise Http404("No such file.")
        # The export recorded a read of each patient for its requester; the download records one for whoever
        # fetches the file (a colleague at the centre may), naming the export and the type.
        context = AuditContext.from_request(request)
        context.extra.update(export=str(export.uuid), type=resource_type)
        patients = Patient.objects.filter(pk__in=file_patient_ids(export, resource_type)).only("pk", "uuid")
        record_reads(context=context, action=DOWNLOAD_ACTION, patients=patients)
        response = StreamingHttpResponse(file_chunks(export, resource_type), content_type=FHIR_NDJSON)
        response["Content-Disposition"] = f'attachment; filename="{resource_type}.ndjson"'
        return response


# Included under "fhir/R4/" in the "fhir" namespace (recovery/urls.py).
urlpatterns = [
    path("$export", SystemExport.as_view(), name="bulk-export"),
    path("Group/<uuid:centre_id>/$export", GroupExport.as_view(), name="bulk-export-group"),
    path("$export-status/<uuid:export_id>", ExportStatus.as_view(), name="bulk-export-status"),
    path("$export-file/<uuid:export_id>/<str:resource_type>.ndjson", ExportFile.as_view(), name="bulk-export-file"),
]
