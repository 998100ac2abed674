"""/api/v1/patients/{id}/notifications/ (api.md): the patient's reminders and messages, newest due first.

Staff see every row about the patient (the messages to the care team too); a patient sees the ones sent
to them. `?status=` filters by status; an unknown status is a 400.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Role
from recovery import access
from recovery.access import Action
from recovery.api.pagination import Pagination
from recovery.models import Audience, Notification, NotificationStatus
from recovery.services.audit import AuditContext, record_event

PATIENT_ID = OpenApiParameter("patient_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The patient's id.")


class NotificationSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    kind = serializers.CharField(help_text="e.g. temperature_checkin, missed_checkin, alert_resend.")
    channel = serializers.CharField(help_text="in_app, email or sms.")
    audience = serializers.CharField(help_text="patient, staff, or care_team (a step fanned out to staff).")
    due_at = serializers.DateTimeField(help_text="When it is (or was) to be sent, quiet hours applied; UTC.")
    status = serializers.ChoiceField(choices=NotificationStatus.choices)
    status_reason = serializers.CharField(help_text="Why it was cancelled, suppressed or failed.")
    attempts = serializers.IntegerField()
    sent_at = serializers.DateTimeField(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True, help_text="Check-ins: when a report answered it.")


class NotificationPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = NotificationSerializer(many=True)


@extend_schema(
    parameters=[
        PATIENT_ID,
        OpenApiParameter("status", str, enum=NotificationStatus.values, description="Only rows with this status."),
        OpenApiParameter("page", int, description="A page number within the paginated result set."),
        OpenApiParameter("page_size", int, description="Results per page (default 25, at most 100)."),
    ],
    responses=NotificationPageSerializer,
)
@api_view(["GET"])
def notifications(request: Request, patient_id) -> Response:
    """The patient's reminders and messages, latest due first."""
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT)
    rows = Notification.objects.filter(patient=patient).order_by("-due_at", "-id")
    if request.user.role == Role.PATIENT:
        rows = rows.filter(audience=Audience.PATIENT)
    wanted = request.query_params.get("status")
    if wanted:
        if wanted not in NotificationStatus.values:
            raise ValidationError({"status": f"Choose one of: {', '.join(NotificationStatus.values)}."})
        rows = rows.filter(status=wanted)
    paginator = Pagination()
    page = paginator.paginate_queryset(rows, request)
    record_event(context=AuditContext.from_request(request), action="notifications.view", patient=patient)
    return paginator.get_paginated_response(NotificationSerializer(page, many=True).data)
