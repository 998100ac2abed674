"""/api/v1/patients/{id}/symptom-reports/ and /api/v1/alerts/ (api.md).

The views check access (recovery.access) and the JSON types of the request; recovery.services.symptoms checks
what the values mean, stores the report, triages it and opens or updates the alert, with the same messages
the patient's check-in page shows.
"""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from recovery import access
from recovery.access import Action
from recovery.api.pagination import Pagination
from recovery.api.serializers import (
    AlertPageSerializer,
    AlertSerializer,
    ResolveAlertSerializer,
    SymptomReportCreatedSerializer,
    SymptomReportPageSerializer,
    SymptomReportSerializer,
    TriageSerializer,
)
from recovery.models import AlertSeverity, AlertStatus, Patient
from recovery.queries.symptoms import advice_text
from recovery.services.alerts import acknowledge_alert, resolve_alert
from recovery.services.audit import AuditContext, record_event, record_reads
from recovery.services.symptoms import ReportOutcome, record_symptom_report

PATIENT_ID = OpenApiParameter("patient_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The patient's id.")
ALERT_ID = OpenApiParameter("alert_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The alert's id.")
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="A page number within the paginated result set."),
    OpenApiParameter("page_size", int, description="Results per page (default 25, at most 100)."),
]


# Symptom reports --------------------------------------------------------------------------------------------


def _triage(outcome: ReportOutcome, patient: Patient) -> dict:
    return {
        "level": outcome.result.level.value,
        "advice": advice_text(outcome.result.level, outcome.result.pseudo_relapse, patient.centre),
        "alert": outcome.alert.uuid if outcome.alert is not None else None,
        "neutropenic_fever": outcome.result.neutropenic_fever,
        "pseudo_relapse": outcome.result.pseudo_relapse,
    }


@extend_schema(methods=["GET"], parameters=[PATIENT_ID, *PAGE_PARAMETERS], responses=SymptomReportPageSerializer)
@extend_schema(
    methods=["POST"],
    parameters=[PATIENT_ID],
    request=SymptomReportSerializer,
    responses={201: SymptomReportCreatedSerializer},
)
@api_view(["GET", "POST"])
def symptom_reports(request: Request, patient_id) -> Response:
    """GET: the patient's reports, newest first (all who see the patient).

    POST: a check-in, by the patient for themself or by staff on their behalf. The answer is the stored report
    and `triage`: the level, advice for the patient (for `urgent`: call the unit now, with its 24-hour number)
    and the alert it opened or updated. An implausible or empty report is a 400 naming the field.
    """
    context = AuditContext.from_request(request)
    if request.method == "POST":
        patient = access.get_patient(request.user, patient_id, Action.REPORT_SYMPTOMS)
        serializer = SymptomReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        outcome = record_symptom_report(
            context=context,
            patient=patient,
            recorded_at=data["recorded_at"],
            temperature_c=data.get("temperature_c"),
            symptoms=data.get("symptoms"),
            notes=data.get("notes", ""),
            feels_urgent=data.get("feels_urgent", False),
        )
        body = {
            **SymptomReportSerializer(outcome.report).data,
            "triage": TriageSerializer(_triage(outcome, patient)).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT)
    reports = patient.symptom_reports.order_by("-recorded_at", "-id")
    paginator = Pagination()
    page = paginator.paginate_queryset(reports, request)
    record_event(context=context, action="symptoms.view", patient=patient)
    return paginator.get_paginated_response(SymptomReportSerializer(page, many=True).data)


# Alerts -----------------------------------------------------------------------------------------------------


def _choice(params, name: str, choices: list[str], plural: str) -> str | None:
    value = params.get(name, "")
    if not value:
        return None
    if value not in choices:
        valid = ", ".join(choices)
        raise serializers.ValidationError({name: [f"Unknown {name} “{value}”; valid {plural} are {valid}."]})
    return value


def _patient_filter(params) -> uuid.UUID | None:
    value = params.get("patient", "")
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise serializers.ValidationError({"patient": [f"“{value}” is not a patient id."]}) from None


@extend_schema(
    parameters=[
        OpenApiParameter("status", str, enum=AlertStatus.values, description="Only alerts with this status."),
        OpenApiParameter("severity", str, enum=AlertSeverity.values, description="Only alerts of this severity."),
        OpenApiParameter("patient", OpenApiTypes.UUID, description="Only this patient's alerts."),
        *PAGE_PARAMETERS,
    ],
    responses=AlertPageSerializer,
)
@api_view(["GET"])
def alert_list(request: Request) -> Response:
    """The alerts about the caller's patients (staff), most severe first, then oldest first."""
    access.require(request.user, Action.TRIAGE_ALERTS)
    params = request.query_params
    alerts = access.visible_alerts(request.user).select_related("patient", "acknowledged_by", "resolved_by")
    if value := _choice(params, "status", AlertStatus.values, "statuses"):
        alerts = alerts.filter(status=value)
    if value := _choice(params, "severity", AlertSeverity.values, "severities"):
        alerts = alerts.filter(severity=value)
    if (patient := _patient_filter(params)) is not None:
        alerts = alerts.filter(patient__uuid=patient)
    alerts = alerts.order_by("-severity_rank", "created_at", "id")
    paginator = Pagination()
    page = paginator.paginate_queryset(alerts, request)
    patients = list({alert.patient_id: alert.patient for alert in page}.values())
    record_reads(context=AuditContext.from_request(request), action="alert.list", patients=patients)
    return paginator.get_paginated_response(AlertSerializer(page, many=True).data)


@extend_schema(parameters=[ALERT_ID], request=None, responses=AlertSerializer)
@api_view(["POST"])
def alert_acknowledge(request: Request, alert_id) -> Response:
    """Open → acknowledged, by the caller. Acknowledging again changes nothing."""
    alert = access.get_alert(request.user, alert_id)
    alert = acknowledge_alert(context=AuditContext.from_request(request), alert=alert)
    return Response(AlertSerializer(alert).data)


@extend_schema(parameters=[ALERT_ID], request=ResolveAlertSerializer, responses=AlertSerializer)
@api_view(["POST"])
def alert_resolve(request: Request, alert_id) -> Response:
    """Close the alert with what was done (`other` needs a note). An alert is resolved once: again is a 400."""
    alert = access.get_alert(request.user, alert_id)
    serializer = ResolveAlertSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    alert = resolve_alert(
        context=AuditContext.from_request(request),
        alert=alert,
        action=serializer.validated_data["action"],
        note=serializer.validated_data.get("note", ""),
    )
    return Response(AlertSerializer(alert).data)
