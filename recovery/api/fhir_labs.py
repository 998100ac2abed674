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

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, parsers, renderers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from recovery import access
from recovery.access import Action
from recovery.services.audit import AuditContext
from recovery.services.fhir_lab_import import BundleOutcome, BundleRefusedError, EntryOutcome, import_lab_bundle

FHIR_JSON = "application/fhir+json"
ACCEPTED_TYPES = (FHIR_JSON, "application/json")
MAX_BODY_BYTES = 2 * 1024 * 1024
_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 404: "Not Found", 422: "Unprocessable Entity"}


class _Body(parsers.BaseParser):
    """The body as it came (at most MAX_BODY_BYTES and one more), read by the view itself: JSON numbers as exact
    decimals, and each refusal an OperationOutcome. (A parser is needed all the same: the CSRF check of a session
    reads `request.POST`.)"""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read(MAX_BODY_BYTES + 1)


class FhirJSONRenderer(renderers.JSONRenderer):
    media_type = FHIR_JSON
    format = "fhir"


def operation_outcome(issues: list[tuple[str, str, str]]) -> dict:
    """An OperationOutcome of (severity, code, diagnostics[, expression]) issues."""
    out = []
    for issue in issues:
        severity, code, diagnostics = issue[:3]
        row = {"severity": severity, "code": code, "diagnostics": diagnostics}
        if len(issue) > 3:
            row["expression"] = [issue[3]]
        out.append(row)
    return {"resourceType": "OperationOutcome", "issue": out}


def _severity(outcome: EntryOutcome) -> str:
    return "error" if outcome.refused else "information"


def _status_line(code: int) -> str:
    return f"{code} {_REASONS.get(code, '')}".strip()


def response_bundle(result: BundleOutcome) -> dict:
    kind = "transaction-response" if result.bundle_type == "transaction" else "batch-response"
    entries = []
    for outcome in result.entries:
        response = {
            "status": _status_line(outcome.status),
            "outcome": operation_outcome([(_severity(outcome), outcome.code, outcome.message)]),
        }
        if outcome.location:
            response["location"] = outcome.location
        entries.append({"response": response})
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def _refusal(code: int, issue_code: str, message: str) -> Response:
    return Response(operation_outcome([("error", issue_code, message)]), status=code)


@extend_schema(exclude=True)  # FHIR, not the JSON API of /api/v1/: documented in docs/fhir-lab-import.md
class LabBundle(APIView):
    renderer_classes = [FhirJSONRenderer, renderers.JSONRenderer]
    parser_classes = [_Body]
    http_method_names = ["post", "options"]

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        access.require(request.user, Action.RECORD_LABS)

    def handle_exception(self, exc):
        """Every refusal as an OperationOutcome: not signed in, not allowed, the wrong method or media type."""
        if isinstance(exc, PermissionDenied):
            exc = exceptions.PermissionDenied()
        response = super().handle_exception(exc)
        if isinstance(exc, exceptions.APIException):
            codes = {401: "login", 403: "forbidden", 405: "not-supported", 406: "not-supported", 415: "not-supported"}
            detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
            response.data = operation_outcome([("error", codes.get(response.status_code, "processing"), detail)])
        return response

    def post(self, request: Request) -> Response:
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        if media_type not in ACCEPTED_TYPES:
            message = _("Send the Bundle as %(types)s.") % {"types": " or ".join(ACCEPTED_TYPES)}
            return _refusal(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "not-supported", message)
        too_large = _("The Bundle is larger than %(size)s MB: split it.") % {"size": MAX_BODY_BYTES // (1024 * 1024)}
        try:
            length = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            length = 0
        if length > min(MAX_BODY_BYTES, settings.DATA_UPLOAD_MAX_MEMORY_SIZE or MAX_BODY_BYTES):
            return _refusal(status.HTTP_400_BAD_REQUEST, "too-costly", too_large)
        try:
            body = request.data
        except RequestDataTooBig:
            return _refusal(status.HTTP_400_BAD_REQUEST, "too-costly", too_large)
        body = body if isinstance(body, bytes) else b""
        if len(body) > MAX_BODY_BYTES:
            return _refusal(status.HTTP_400_BAD_REQUEST, "too-costly", too_large)
        try:
            data = json.loads(body.decode("utf-8-sig"), parse_float=Decimal, parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):
            return _refusal(status.HTTP_400_BAD_REQUEST, "structure", _("The body is not JSON: send a FHIR Bundle."))
        try:
            result = import_lab_bundle(context=AuditContext.from_request(request), user=request.user, data=data)
        except BundleRefusedError as exc:
            return _refusal(status.HTTP_400_BAD_REQUEST, exc.code, exc.message)
        if not result.saved:
            issues = [
                ("error", outcome.code, outcome.message, f"Bundle.entry[{index}]")
                for index, outcome in enumerate(result.entries)
                if outcome.refused
            ]
            issues.append(("information", "informational", _("A transaction is all or nothing: nothing was saved.")))
            return Response(operation_outcome(issues), status=status.HTTP_400_BAD_REQUEST)
        return Response(response_bundle(result), status=status.HTTP_200_OK)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number in JSON")


batch = LabBundle.as_view()
