"""/api/v1/patients/{id}/vaccinations/ (api.md): GET the revaccination plan, POST a dose given (staff).

The plan is computed by recovery.services.vaccinations from Day 0, the doses recorded and the centre's
schedule; a POST goes through `record_vaccination`, as the page's form does, which refuses a live vaccine
before month 24, unless `immunosuppressed` is given as false, or too soon after immunoglobulin (and the other
rules of `check_vaccination`) with the reason in plain language, as a 400 on the field concerned.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from recovery import access
from recovery.access import Action
from recovery.api.pagination import Pagination
from recovery.clinical.vaccination import DoseStatus, vaccine_name
from recovery.queries.timeline import patient_today
from recovery.queries.vaccinations import plan_for
from recovery.services.audit import AuditContext, record_event
from recovery.services.vaccinations import record_vaccination

PATIENT_ID = OpenApiParameter("patient_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The patient's id.")
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="A page number within the paginated result set."),
    OpenApiParameter("page_size", int, description="Results per page (default 25, at most 100)."),
]


class PlannedDoseSerializer(serializers.Serializer):
    vaccine = serializers.CharField(help_text="Vaccine code, e.g. pcv13, influenza, mmr.")
    vaccine_name = serializers.CharField(help_text="The vaccine in words.")
    dose = serializers.IntegerField(help_text="1 for the first dose after Day 0.")
    due_date = serializers.DateField(help_text="Computed from Day 0 (and the previous dose when given).")
    due_until = serializers.DateField(help_text="The last day the dose is `due`; `overdue` after it.")
    status = serializers.ChoiceField(choices=[s.value for s in DoseStatus])
    given_date = serializers.DateField(allow_null=True)


class VaccinationPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = PlannedDoseSerializer(many=True, help_text="By due date. Empty until Day 0 is recorded.")


class RecordDoseSerializer(serializers.Serializer):
    vaccine = serializers.CharField(max_length=32, help_text="Vaccine code of the schedule.")
    dose = serializers.IntegerField(
        min_value=1,
        max_value=100,
        error_messages={
            "invalid": "The dose is a whole number from 1.",
            "min_value": "The dose is a whole number from 1.",
        },
    )
    given_date = serializers.DateField(help_text="Not in the future, not before Day 0.")
    # No default answer: missing or null is "not answered", and a live vaccine is refused until it is false.
    immunosuppressed = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Is the patient on immunosuppressive treatment now? Required (false) for a live vaccine (MMR, "
        "varicella): refused when true or not given.",
        error_messages={"invalid": "Answer true or false."},
    )
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


def _dose_data(dose) -> dict:
    return {
        "vaccine": dose.vaccine,
        "vaccine_name": vaccine_name(dose.vaccine),
        "dose": dose.dose,
        "due_date": dose.due_date,
        "due_until": dose.due_until,
        "status": str(dose.status),
        "given_date": dose.given_date,
    }


@extend_schema(methods=["GET"], parameters=[PATIENT_ID, *PAGE_PARAMETERS], responses=VaccinationPageSerializer)
@extend_schema(
    methods=["POST"], parameters=[PATIENT_ID], request=RecordDoseSerializer, responses={201: PlannedDoseSerializer}
)
@api_view(["GET", "POST"])
def vaccinations(request: Request, patient_id) -> Response:
    """GET: the revaccination plan (every dose with its due date and status). POST (staff): record a dose given;
    the answer is the dose as it now stands in the plan."""
    context = AuditContext.from_request(request)
    if request.method == "POST":
        patient = access.get_patient(request.user, patient_id, Action.RECORD_VACCINATIONS)
        serializer = RecordDoseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = record_vaccination(context=context, patient=patient, **serializer.validated_data)
        plan = plan_for(patient, today=patient_today(patient))
        planned = next(d for d in plan if (d.vaccine, d.dose) == (row.vaccine, row.dose))
        return Response(PlannedDoseSerializer(_dose_data(planned)).data, status=status.HTTP_201_CREATED)
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT)
    plan = [_dose_data(d) for d in plan_for(patient)]
    paginator = Pagination()
    page = paginator.paginate_queryset(plan, request)
    record_event(context=context, action="vaccinations.view", patient=patient)
    return paginator.get_paginated_response(PlannedDoseSerializer(page, many=True).data)
