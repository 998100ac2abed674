"""What every answer under /fhir/R4/ shares: the media type, OperationOutcomes, the renderer, the content
negotiation and the base view whose errors are OperationOutcomes with the same codes everywhere.

Used by the read API (recovery/api/fhir/views.py), the bulk export (recovery/api/fhir_export.py), the lab Bundle
import (recovery/api/fhir_labs.py) and the middleware's refusals under /fhir/ (recovery/middleware.py). FHIR has
its own CapabilityStatement (/fhir/R4/metadata): these views are not in the /api/v1/ OpenAPI schema.

Issue codes (http://hl7.org/fhir/R4/valueset-issue-type.html) by status: 400 `invalid` (or a closer code the
view gives), 401 `login` (with WWW-Authenticate, as DRF sends it), 403 `forbidden`, 404 `not-found`,
405/406/415 `not-supported`, 429 `throttled`; a body larger than Django's DATA_UPLOAD_MAX_MEMORY_SIZE is a 400
`too-costly`.
"""

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

FHIR_JSON = "application/fhir+json"
FHIR_JSON_UTF8 = f"{FHIR_JSON}; charset=utf-8"  # the Content-Type of every FHIR JSON answer
ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    406: "not-supported",
    415: "not-supported",
    429: "throttled",
}


def issue(code: str, diagnostics: str, *, severity: str = "error", expression: str | None = None) -> dict:
    """One issue of an OperationOutcome; `expression` names where it is (e.g. "Bundle.entry[2]")."""
    row = {"severity": severity, "code": code, "diagnostics": diagnostics}
    if expression is not None:
        row["expression"] = [expression]
    return row


def outcome(issues: Iterable[dict]) -> dict:
    """An OperationOutcome of several issues (each from `issue`)."""
    return {"resourceType": "OperationOutcome", "issue": list(issues)}


def operation_outcome(code: str, diagnostics: str, *, severity: str = "error", expression: str | None = None) -> dict:
    """An OperationOutcome of one issue."""
    return outcome([issue(code, diagnostics, severity=severity, expression=expression)])


def fhir_response(data: dict, status: int = 200, headers: dict | None = None) -> JsonResponse:
    """FHIR JSON written by the view itself (outside DRF's rendering, or before it: the middleware)."""
    return JsonResponse(data, status=status, content_type=FHIR_JSON_UTF8, headers=headers)


def outcome_response(status: int, code: str, diagnostics: str, headers: dict | None = None) -> JsonResponse:
    """An error answered at once: an OperationOutcome of one issue with its status."""
    return fhir_response(operation_outcome(code, diagnostics), status=status, headers=headers)


def too_large_message() -> str:
    """Why a body over Django's DATA_UPLOAD_MAX_MEMORY_SIZE is refused: the one size limit of a FHIR request."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    size = f"{limit / (1024 * 1024):g} MB" if limit and limit >= 1024 * 1024 else f"{limit} bytes"
    return f"The request is larger than {size}, the most this server reads: send it in smaller parts."


class FhirRenderer(JSONRenderer):
    media_type = FHIR_JSON
    format = "json"
    charset = "utf-8"


class FhirNegotiation(BaseContentNegotiation):
    """Always FHIR JSON, whatever the Accept header (application/json clients get it too); the view's first parser
    reads the body (each view checks the Content-Type it takes itself)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class FhirError(exceptions.APIException):
    """A refusal in words: `status_code` (400 unless said) and the issue code (by the status unless said)."""

    def __init__(self, message: str, status_code: int = status.HTTP_400_BAD_REQUEST, code: str | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.issue_code = code or ISSUE_CODES.get(status_code, "processing")


@extend_schema(exclude=True)  # FHIR, not the JSON API of /api/v1/: its own CapabilityStatement says what it offers
class FhirView(APIView):
    """The /api/v1/ authentication and permissions (REST_FRAMEWORK), FHIR JSON answers, errors as OperationOutcomes."""

    renderer_classes = [FhirRenderer]
    content_negotiation_class = FhirNegotiation

    def handle_exception(self, exc):
        if isinstance(exc, RequestDataTooBig):
            return outcome_response(400, "too-costly", too_large_message())
        if isinstance(exc, DjangoPermissionDenied):
            exc = exceptions.PermissionDenied(str(exc) or None)
        elif isinstance(exc, Http404):
            exc = exceptions.NotFound(str(exc) or None)
        response = super().handle_exception(exc)  # not signed in: 401 with WWW-Authenticate (DRF's own answer)
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            code = "login"
        else:
            code = getattr(exc, "issue_code", None) or ISSUE_CODES.get(response.status_code, "processing")
        detail = getattr(exc, "detail", "")
        if not isinstance(detail, str):
            detail = " ".join(str(item) for item in (detail.values() if isinstance(detail, dict) else detail))
        response.data = operation_outcome(code, str(detail) or "The request could not be answered.")
        return response
