"""/api/v1/patients/{id}/labs/ and /transfusions/ (api.md).

Values are checked, converted to the test's canonical unit and saved by `recovery.services.labs`, the same
service as the lab pages, so the API and the pages give the same messages. Posting a sample that is already
recorded with the same value answers 200 with the stored result (a retry adds nothing); with another value, 400.
"""

from datetime import UTC, datetime

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from recovery import access
from recovery.access import Action
from recovery.api.pagination import Pagination
from recovery.models import LabSource, LabTest, TransfusionProduct
from recovery.services.audit import AuditContext, record_event
from recovery.services.labs import record_lab_result, record_transfusion

PATIENT_ID = OpenApiParameter("patient_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The patient's id.")
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="A page number within the paginated result set."),
    OpenApiParameter("page_size", int, description="Results per page (default 25, at most 100)."),
]
TEST_PARAMETER = OpenApiParameter("test", str, enum=LabTest.values, description="Only this test.")
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
TIME_MESSAGE = "Enter the date and time in ISO 8601 with its time zone, for example 2025-03-10T08:15:00+01:00."


class _AwareTimeField(serializers.DateTimeField):
    """ISO 8601; a time without an offset stays naive for the service to refuse with its message."""

    default_error_messages = {"invalid": TIME_MESSAGE}

    def enforce_timezone(self, value):
        return value

    def to_internal_value(self, value):
        if not isinstance(value, str) or "\x00" in value or len(value) > 64:
            self.fail("invalid")
        parsed = super().to_internal_value(value)
        try:
            if parsed.tzinfo is not None and parsed < EARLIEST:
                self.fail("invalid")
        except OverflowError:
            self.fail("invalid")
        return parsed


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "example": "0.52",
        "description": "A number (or a numeric string) in `unit`; returned in the test's canonical unit.",
    }
)
class _ValueField(serializers.Field):
    """A number or a numeric string; what it means (plausible, unit) is checked by the service."""

    default_error_messages = {"invalid": "Enter the result as a number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, str | int | float):
            self.fail("invalid")
        if isinstance(data, str) and ("\x00" in data or len(data) > 40):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return format(value.normalize(), "f") if value is not None else None  # 500000, never 5E+5


class LabResultSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    test = serializers.ChoiceField(
        choices=LabTest.values,
        error_messages={"invalid_choice": f"Unknown test “{{input}}”. Known tests: {', '.join(LabTest.values)}."},
    )
    value = _ValueField(help_text="In `unit`; stored and returned in the test's canonical unit.")
    unit = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="Canonical: 10^9/L (counts), g/L (haemoglobin, IgG), copies/mL (PCR), mIU/L (TSH). cells/uL, "
        "10^3/uL, g/dL, mg/dL and uIU/mL are converted; other units are refused. Omitted: the canonical unit.",
    )
    collected_at = _AwareTimeField(help_text="When the sample was taken: ISO 8601 with an offset; not in the future.")
    source = serializers.ChoiceField(choices=LabSource.values, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class LabResultPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = LabResultSerializer(many=True, help_text="Newest first.")


class TransfusionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    product = serializers.ChoiceField(
        choices=TransfusionProduct.values,
        error_messages={"invalid_choice": f"Choose one of: {', '.join(TransfusionProduct.values)}."},
    )
    given_at = _AwareTimeField(help_text="ISO 8601 with an offset; not in the future.")
    created_at = serializers.DateTimeField(read_only=True)


class TransfusionPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = TransfusionSerializer(many=True, help_text="Newest first.")


def _page(request: Request, rows, serializer_class) -> Response:
    paginator = Pagination()
    page = paginator.paginate_queryset(rows, request)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


@extend_schema(
    methods=["GET"], parameters=[PATIENT_ID, TEST_PARAMETER, *PAGE_PARAMETERS], responses=LabResultPageSerializer
)
@extend_schema(
    methods=["POST"],
    parameters=[PATIENT_ID],
    request=LabResultSerializer,
    responses={201: LabResultSerializer, 200: LabResultSerializer},
)
@api_view(["GET", "POST"])
def labs(request: Request, patient_id) -> Response:
    """GET: the patient's results, newest first (`?test=` for one test). POST (staff): record one result."""
    context = AuditContext.from_request(request)
    if request.method == "POST":
        patient = access.get_patient(request.user, patient_id, Action.RECORD_LABS)
        serializer = LabResultSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        outcome = record_lab_result(
            context=context,
            patient=patient,
            test=data["test"],
            value=data["value"],
            unit=data.get("unit") or None,
            collected_at=data["collected_at"],
            source=LabSource.API,
        )
        code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
        return Response(LabResultSerializer(outcome.result).data, status=code)
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT)
    rows = patient.lab_results.order_by("-collected_at", "test", "-id")
    test = request.query_params.get("test")
    if test is not None:
        if test not in LabTest.values:
            raise serializers.ValidationError(
                {"test": [f"Unknown test “{test[:40]}”. Known tests: {', '.join(LabTest.values)}."]}
            )
        rows = rows.filter(test=test)
    record_event(context=context, action="labs.view", patient=patient)
    return _page(request, rows, LabResultSerializer)


@extend_schema(methods=["GET"], parameters=[PATIENT_ID, *PAGE_PARAMETERS], responses=TransfusionPageSerializer)
@extend_schema(
    methods=["POST"],
    parameters=[PATIENT_ID],
    request=TransfusionSerializer,
    responses={201: TransfusionSerializer, 200: TransfusionSerializer},
)
@api_view(["GET", "POST"])
def transfusions(request: Request, patient_id) -> Response:
    """GET: the patient's transfusions, newest first. POST (staff): record one (platelets count for engraftment)."""
    context = AuditContext.from_request(request)
    if request.method == "POST":
        patient = access.get_patient(request.user, patient_id, Action.RECORD_LABS)
        serializer = TransfusionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row, created = record_transfusion(context=context, patient=patient, **serializer.validated_data)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(TransfusionSerializer(row).data, status=code)
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT)
    rows = patient.transfusions.order_by("-given_at", "-id")
    record_event(context=context, action="transfusions.view", patient=patient)
    return _page(request, rows, TransfusionSerializer)
