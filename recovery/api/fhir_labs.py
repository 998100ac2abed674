"""POST /fhir/R4/: a laboratory system's Bundle of Observations (the FHIR batch/transaction interaction on the base
URL), imported by `recovery.services.fhir_lab_import`; docs/fhir-lab-import.md.

Staff who may record labs (Action.RECORD_LABS), with an API token or a session like /api/v1/. The answer is a
`batch-response` (or `transaction-response`) Bundle with one entry per entry sent, in order, each with its status,
the result's location and an OperationOutcome in words. Whatever cannot be read as a Bundle (not JSON, too large,
another resource) is a 400 OperationOutcome; a refused transaction a 400 OperationOutcome naming each refused
entry; never a 500.
"""

import json
from decimal import Decimal

from django.utils.translation import gettext as _
from rest_framework import parsers, status
from rest_framework.request import Request
from rest_framework.response import Response

from recovery import access
from recovery.access import Action
from recovery.api.fhir.common import FHIR_JSON, FhirError, FhirView, issue, operation_outcome, outcome
from recovery.services.audit import AuditContext
from recovery.services.fhir_lab_import import BundleOutcome, BundleRefusedError, EntryOutcome, import_lab_bundle

ACCEPTED_TYPES = (FHIR_JSON, "application/json")
_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 422: "Unprocessable Entity"}


class _Body(parsers.BaseParser):
    """The body as it came, read by the view itself: JSON numbers as exact decimals, and each refusal an
    OperationOutcome. (A parser is needed all the same: the CSRF check of a session reads `request.POST`.) It is
    Django's `request.body`, so the one size limit is Django's DATA_UPLOAD_MAX_MEMORY_SIZE: a larger body is a 400
    `too-costly` OperationOutcome (recovery/api/fhir/common.py, or the middleware when it read the body first)."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return parser_context["request"].body


def _severity(outcome: EntryOutcome) -> str:
    return "error" if outcome.refused else "information"


def _status_line(code: int) -> str:
    return f"{code} {_REASONS.get(code, '')}".strip()


def response_bundle(result: BundleOutcome) -> dict:
    kind = "transaction-response" if result.bundle_type == "transaction" else "batch-response"
    entries = []
    for entry in result.entries:
        response = {
            "status": _status_line(entry.status),
            "outcome": operation_outcome(entry.code, entry.message, severity=_severity(entry)),
        }
        if entry.location:
            response["location"] = entry.location
        entries.append({"response": response})
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


class LabBundle(FhirView):
    """Documented in docs/fhir-lab-import.md (FHIR, not in the /api/v1/ schema: see FhirView)."""

    parser_classes = [_Body]
    http_method_names = ["post", "options"]

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        access.require(request.user, Action.RECORD_LABS)

    def post(self, request: Request) -> Response:
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        if media_type not in ACCEPTED_TYPES:
            message = _("Send the Bundle as %(types)s.") % {"types": " or ".join(ACCEPTED_TYPES)}
            raise FhirError(message, status.HTTP_415_UNSUPPORTED_MEDIA_TYPE)
        body = request.data if isinstance(request.data, bytes) else b""  # too large: FhirView answers 400
        try:
            data = json.loads(body.decode("utf-8-sig"), parse_float=Decimal, parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise FhirError(_("The body is not JSON: send a FHIR Bundle."), code="structure") from None
        try:
            result = import_lab_bundle(context=AuditContext.from_request(request), user=request.user, data=data)
        except BundleRefusedError as exc:
            raise FhirError(exc.message, code=exc.code) from None
        if not result.saved:
            issues = [
                issue(entry.code, entry.message, expression=f"Bundle.entry[{index}]")
                for index, entry in enumerate(result.entries)
                if entry.refused
            ]
            nothing_saved = _("A transaction is all or nothing: nothing was saved.")
            issues.append(issue("informational", nothing_saved, severity="information"))
            return Response(outcome(issues), status=status.HTTP_400_BAD_REQUEST)
        return Response(response_bundle(result), status=status.HTTP_200_OK)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number in JSON")


batch = LabBundle.as_view()
