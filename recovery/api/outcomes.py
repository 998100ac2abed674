"""/api/v1/patients/{id}/edss/, /relapses/, /relapses/{relapse_id}/, /mri/, /outcomes/ and /api/v1/cohort/outcomes/
(api.md).

Records are written by recovery.services.outcomes (which checks dates and values and audits the write); the
outcomes are computed by recovery.clinical.outcomes and the cohort's curves by recovery.queries.cohort.
"""

import hashlib
import uuid
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from recovery import access
from recovery.access import Action
from recovery.api.pagination import Pagination
from recovery.clinical.edss import EDSS_MESSAGE, is_valid_edss
from recovery.clinical.outcomes import MRI_ACTIVITY, PROGRESSION, RELAPSE, Outcome
from recovery.models import MS_DOMAINS, Patient, ProtocolTemplate, RelapseClassification
from recovery.queries.cohort import AGE_GROUP_CODES, CohortFilters, cohort_analysis
from recovery.queries.outcomes import outcome_for
from recovery.queries.timeline import patient_today
from recovery.services.analytics import cohort_snapshot
from recovery.services.audit import AuditContext, record_event
from recovery.services.outcomes import CLASSIFICATION_MESSAGE, classify_relapse, record_edss, record_mri, record_relapse

PATIENT_ID = OpenApiParameter("patient_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The patient's id.")
RELAPSE_ID = OpenApiParameter("relapse_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The relapse's id.")
PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="A page number within the paginated result set."),
    OpenApiParameter("page_size", int, description="Results per page (default 25, at most 100)."),
]

# Serializers ------------------------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "string",
        "format": "decimal",
        "pattern": r"^\d{1,2}(\.\d)?$",
        "example": "3.5",
        "description": "EDSS: 0, or 1.0 to 10.0 in steps of 0.5. Also accepted as a JSON number.",
    }
)
class EDSSScoreField(serializers.Field):
    """An EDSS score sent as a string or a number; anything but a valid EDSS step is a 400 with one message."""

    default_error_messages = {"invalid": EDSS_MESSAGE}

    def to_internal_value(self, data) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, str | int | float | Decimal):
            self.fail("invalid")
        try:
            value = Decimal(str(data).strip())
        except (InvalidOperation, ValueError):
            self.fail("invalid")
        if not value.is_finite() or not is_valid_edss(value):
            self.fail("invalid")
        return value.quantize(Decimal("0.1"))

    def to_representation(self, value) -> str:
        return str(Decimal(value).quantize(Decimal("0.1")))


class EDSSSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    assessed_on = serializers.DateField(help_text="The day of the assessment; not in the future.")
    score = EDSSScoreField()
    created_at = serializers.DateTimeField(read_only=True)


class EDSSPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EDSSSerializer(many=True, help_text="Newest first.")


class RelapseSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    onset_date = serializers.DateField(help_text="When the new or worse symptoms began; not in the future.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    treated_with_steroids = serializers.BooleanField(required=False, default=False)
    domains = serializers.ListField(
        child=serializers.ChoiceField(choices=MS_DOMAINS),
        required=False,
        default=list,
        help_text="Functional systems affected.",
    )
    possible_pseudo_relapse = serializers.BooleanField(
        read_only=True,
        help_text="A fever was reported within the centre's window of the onset (default 7 days either side): "
        "it may be a pseudo-relapse. Whether it counts is the team's decision.",
    )
    classification = serializers.SerializerMethodField(
        help_text="The clinician's call: `relapse`, `pseudo_relapse`, or null while not classified (it then "
        "counts as a relapse). Set it with PATCH /relapses/{relapse_id}/."
    )
    classified_at = serializers.DateTimeField(read_only=True, allow_null=True)
    counts_as_relapse = serializers.SerializerMethodField(
        help_text="False only for a pseudo-relapse: it then ends neither NEDA-3 nor relapse-free survival."
    )
    created_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(
        serializers.ChoiceField(choices=RelapseClassification.choices, allow_null=True, read_only=True)
    )
    def get_classification(self, relapse) -> str | None:
        return relapse.classification or None

    def get_counts_as_relapse(self, relapse) -> bool:
        return not relapse.is_pseudo_relapse


class RelapseClassificationSerializer(serializers.Serializer):
    classification = serializers.ChoiceField(
        choices=RelapseClassification.choices,
        error_messages={
            "invalid_choice": CLASSIFICATION_MESSAGE + " Send “relapse” or “pseudo_relapse”.",
            "required": CLASSIFICATION_MESSAGE,
            "null": CLASSIFICATION_MESSAGE,
        },
        help_text="`relapse` or `pseudo_relapse`.",
    )


class RelapsePageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RelapseSerializer(many=True, help_text="Newest onset first.")


class MRISerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    scan_date = serializers.DateField(help_text="Not in the future.")
    new_t2_lesions = serializers.IntegerField(
        min_value=0, max_value=500, required=False, default=0, help_text="New or enlarging T2 lesions."
    )
    gd_enhancing_lesions = serializers.IntegerField(
        min_value=0, max_value=500, required=False, default=0, help_text="Gadolinium-enhancing lesions."
    )
    is_rebaseline = serializers.BooleanField(
        required=False, default=False, help_text="The post-transplant reference scan new lesions are counted against."
    )
    notes = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    created_at = serializers.DateTimeField(read_only=True)


class MRIPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = MRISerializer(many=True, help_text="Newest first.")


_NULL_BEFORE_DAY0 = "Null before Day 0."


class PatientOutcomeSerializer(serializers.Serializer):
    """The patient's MS outcome since Day 0 as of `as_of`. Before Day 0 every outcome field is null."""

    as_of = serializers.DateField(help_text="Today, in the patient's time zone.")
    day0 = serializers.DateField(allow_null=True, help_text="The reinfusion date; null when none is recorded.")
    neda3 = serializers.BooleanField(
        allow_null=True, help_text="No relapse, no confirmed progression, no MRI activity."
    )
    neda3_since_day0_months = serializers.IntegerField(
        allow_null=True, help_text="Whole months NEDA-3 held since Day 0 (to its loss, or to today)."
    )
    neda3_lost_on = serializers.DateField(allow_null=True)
    neda3_lost_by = serializers.ListField(
        child=serializers.ChoiceField(choices=[RELAPSE, PROGRESSION, MRI_ACTIVITY]),
        allow_null=True,
        help_text="What ended NEDA-3 on that date.",
    )
    confirmed_progression = serializers.BooleanField(allow_null=True)
    progression_date = serializers.DateField(
        allow_null=True,
        help_text="The first score of the confirmed increase. Later improvement does not remove it.",
    )
    progression_confirmed_on = serializers.DateField(
        allow_null=True, help_text="The assessment that confirmed the progression."
    )
    progression_tentative_since = serializers.DateField(
        allow_null=True,
        help_text="An increase at the latest usable assessments, not confirmed yet: not an event. Null otherwise.",
    )
    improved_after_progression_since = serializers.DateField(
        allow_null=True,
        help_text="After a confirmed progression, every later usable score is below the threshold since this date.",
    )
    progression_reference_edss = serializers.DecimalField(
        max_digits=3,
        decimal_places=1,
        allow_null=True,
        help_text="The score progression is measured from: the baseline, or a roving reference when the centre "
        "uses one.",
    )
    progression_reference_date = serializers.DateField(
        allow_null=True, help_text="When a roving reference was set; null while it is the baseline."
    )
    confirmed_improvement = serializers.BooleanField(allow_null=True)
    improvement_date = serializers.DateField(allow_null=True)
    relapse_count = serializers.IntegerField(
        allow_null=True, help_text="Relapses with an onset after Day 0, those classified as pseudo-relapses left out."
    )
    pseudo_relapse_count = serializers.IntegerField(
        allow_null=True, help_text="Relapses after Day 0 a clinician classified as pseudo-relapses."
    )
    first_relapse = serializers.DateField(allow_null=True)
    mri_activity_date = serializers.DateField(allow_null=True)
    baseline_edss = serializers.DecimalField(max_digits=3, decimal_places=1, allow_null=True)
    last_edss = serializers.DecimalField(
        max_digits=3, decimal_places=1, allow_null=True, help_text="The latest recorded score. " + _NULL_BEFORE_DAY0
    )
    last_assessed = serializers.DateField(allow_null=True)
    edss_change_category = serializers.ChoiceField(
        choices=["improved", "stable", "worse"],
        allow_null=True,
        help_text="Confirmed change from baseline; null without a baseline or a usable score after Day 0.",
    )
    follow_up_end = serializers.DateField(allow_null=True, help_text="The date of the latest outcome record.")


class CurvePointSerializer(serializers.Serializer):
    months = serializers.FloatField(help_text="Months since Day 0.")
    survival = serializers.FloatField(help_text="Kaplan-Meier estimate, 0 to 1.")
    ci_low = serializers.FloatField(help_text="95% confidence interval (log-log), lower bound.")
    ci_high = serializers.FloatField()
    at_risk = serializers.IntegerField()


class SurvivalCurveSerializer(serializers.Serializer):
    n = serializers.IntegerField(help_text="Patients in the curve.")
    events = serializers.IntegerField()
    last_follow_up = serializers.FloatField(help_text="The longest follow-up in months; the curve ends there.")
    curve = CurvePointSerializer(
        many=True, help_text="A point at 0 months, then one at each event time, where the curve steps down."
    )


class CohortOutcomesSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    neda3 = SurvivalCurveSerializer(help_text="Time to the loss of NEDA-3.")
    progression_free = SurvivalCurveSerializer(help_text="Time to confirmed disability progression.")
    relapse_free = SurvivalCurveSerializer(help_text="Time to the first relapse after Day 0.")


class CohortQuerySerializer(serializers.Serializer):
    """The cohort filters of the query string; the centre and regimen are checked against what exists."""

    centre = serializers.UUIDField(required=False, error_messages={"invalid": "“{value}” is not a centre id."})
    regimen = serializers.CharField(required=False, max_length=32)
    age_group = serializers.ChoiceField(choices=AGE_GROUP_CODES, required=False)
    year_from = serializers.IntegerField(required=False, min_value=1900, max_value=2100)
    year_to = serializers.IntegerField(required=False, min_value=1900, max_value=2100)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self._user = user

    def validate_centre(self, value: uuid.UUID):
        centre = access.centres_for(self._user).filter(uuid=value).first()
        if centre is None:
            raise serializers.ValidationError("Unknown centre: use the id of one of your own centres.")
        return centre

    def validate_regimen(self, value: str) -> str:
        codes = sorted(ProtocolTemplate.objects.values_list("code", flat=True))
        if value not in codes:
            raise serializers.ValidationError(f"Unknown regimen “{value}”. Valid regimens are: {', '.join(codes)}.")
        return value

    def validate(self, data):
        if (
            data.get("year_from") is not None
            and data.get("year_to") is not None
            and data["year_from"] > data["year_to"]
        ):
            raise serializers.ValidationError({"year_to": ["The last year comes before the first: swap them."]})
        return data


# Views ------------------------------------------------------------------------------------------------------


def _list(request: Request, patient: Patient, rows, serializer_class, action: str) -> Response:
    paginator = Pagination()
    page = paginator.paginate_queryset(rows, request)
    record_event(context=AuditContext.from_request(request), action=action, patient=patient)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


@extend_schema(methods=["GET"], parameters=[PATIENT_ID, *PAGE_PARAMETERS], responses=EDSSPageSerializer)
@extend_schema(methods=["POST"], parameters=[PATIENT_ID], request=EDSSSerializer, responses={201: EDSSSerializer})
@api_view(["GET", "POST"])
def edss(request: Request, patient_id) -> Response:
    """GET: the patient's EDSS assessments, newest first. POST (clinicians): record one."""
    if request.method == "POST":
        patient = access.get_patient(request.user, patient_id, Action.RECORD_OUTCOMES)
        serializer = EDSSSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        assessment = record_edss(
            context=AuditContext.from_request(request), patient=patient, **serializer.validated_data
        )
        return Response(EDSSSerializer(assessment).data, status=status.HTTP_201_CREATED)
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT)
    rows = patient.edss_assessments.order_by("-assessed_on", "-id")
    return _list(request, patient, rows, EDSSSerializer, "edss.view")


@extend_schema(methods=["GET"], parameters=[PATIENT_ID, *PAGE_PARAMETERS], responses=RelapsePageSerializer)
@extend_schema(methods=["POST"], parameters=[PATIENT_ID], request=RelapseSerializer, responses={201: RelapseSerializer})
@api_view(["GET", "POST"])
def relapses(request: Request, patient_id) -> Response:
    """GET: the patient's relapses, newest onset first. POST (clinicians): record one; the answer says whether a
    fever near the onset makes it a possible pseudo-relapse."""
    if request.method == "POST":
        patient = access.get_patient(request.user, patient_id, Action.RECORD_OUTCOMES)
        serializer = RelapseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        relapse = record_relapse(
            context=AuditContext.from_request(request), patient=patient, **serializer.validated_data
        )
        return Response(RelapseSerializer(relapse).data, status=status.HTTP_201_CREATED)
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT)
    rows = patient.relapses.order_by("-onset_date", "-id")
    return _list(request, patient, rows, RelapseSerializer, "relapses.view")


@extend_schema(
    methods=["PATCH"],
    parameters=[PATIENT_ID, RELAPSE_ID],
    request=RelapseClassificationSerializer,
    responses=RelapseSerializer,
)
@api_view(["PATCH"])
def relapse_detail(request: Request, patient_id, relapse_id) -> Response:
    """Clinicians: classify one relapse as a relapse or a pseudo-relapse (audited); only `classification` can
    be changed. The relapse list (GET /relapses/) shows the classification."""
    relapse = access.get_relapse(request.user, patient_id, relapse_id, Action.RECORD_OUTCOMES)
    serializer = RelapseClassificationSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    relapse = classify_relapse(
        context=AuditContext.from_request(request),
        relapse=relapse,
        classification=serializer.validated_data["classification"],
    )
    return Response(RelapseSerializer(relapse).data)


@extend_schema(methods=["GET"], parameters=[PATIENT_ID, *PAGE_PARAMETERS], responses=MRIPageSerializer)
@extend_schema(methods=["POST"], parameters=[PATIENT_ID], request=MRISerializer, responses={201: MRISerializer})
@api_view(["GET", "POST"])
def mri(request: Request, patient_id) -> Response:
    """GET: the patient's MRI scans, newest first. POST (clinicians): record one."""
    if request.method == "POST":
        patient = access.get_patient(request.user, patient_id, Action.RECORD_OUTCOMES)
        serializer = MRISerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        scan = record_mri(context=AuditContext.from_request(request), patient=patient, **serializer.validated_data)
        return Response(MRISerializer(scan).data, status=status.HTTP_201_CREATED)
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT)
    rows = patient.mri_scans.order_by("-scan_date", "-id")
    return _list(request, patient, rows, MRISerializer, "mri.view")


def outcome_data(outcome: Outcome | None, as_of) -> dict:
    """The /outcomes/ resource: every outcome field null until Day 0 has happened."""
    empty = dict.fromkeys(PatientOutcomeSerializer().fields)
    if outcome is None or outcome.neda3 is None:
        return {**empty, "as_of": as_of, "day0": outcome.day0 if outcome else None}
    return {
        "as_of": as_of,
        "day0": outcome.day0,
        "neda3": outcome.neda3,
        "neda3_since_day0_months": outcome.neda3_months,
        "neda3_lost_on": outcome.neda3_lost_on,
        "neda3_lost_by": list(outcome.neda3_lost_by),
        "confirmed_progression": outcome.confirmed_progression,
        "progression_date": outcome.progression_date,
        "progression_confirmed_on": outcome.progression.confirmed_on,
        "progression_tentative_since": outcome.progression.tentative_since,
        "improved_after_progression_since": outcome.progression.improved_since,
        "progression_reference_edss": outcome.progression.reference,
        "progression_reference_date": outcome.progression.reference_on,
        "confirmed_improvement": outcome.confirmed_improvement,
        "improvement_date": outcome.improvement_date,
        "relapse_count": outcome.relapse_count,
        "pseudo_relapse_count": outcome.pseudo_relapse_count,
        "first_relapse": outcome.first_relapse,
        "mri_activity_date": outcome.mri_activity_date,
        "baseline_edss": outcome.baseline_edss,
        "last_edss": outcome.last_edss,
        "last_assessed": outcome.last_assessed,
        "edss_change_category": outcome.edss_change_category,
        "follow_up_end": outcome.follow_up_end,
    }


@extend_schema(parameters=[PATIENT_ID], responses=PatientOutcomeSerializer)
@api_view(["GET"])
def patient_outcomes(request: Request, patient_id) -> Response:
    """NEDA-3, confirmed progression, relapses and EDSS since Day 0, as of today in the patient's time zone."""
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT)
    today = patient_today(patient)
    outcome = outcome_for(patient, today)
    record_event(context=AuditContext.from_request(request), action="outcomes.view", patient=patient)
    return Response(PatientOutcomeSerializer(outcome_data(outcome, today)).data)


@extend_schema(
    parameters=[
        OpenApiParameter("regimen", str, description="Only patients on this regimen (protocol code, e.g. cy_atg)."),
        OpenApiParameter("centre", OpenApiTypes.UUID, description="Only this centre's patients (one of yours)."),
        OpenApiParameter("age_group", str, enum=AGE_GROUP_CODES, description="Age at Day 0."),
        OpenApiParameter("year_from", int, description="Day 0 in this year or later."),
        OpenApiParameter("year_to", int, description="Day 0 in this year or earlier."),
    ],
    responses=CohortOutcomesSerializer,
)
@api_view(["GET"])
def cohort_outcomes(request: Request) -> Response:
    """Kaplan-Meier estimates from Day 0 (months) for the caller's transplanted patients (clinicians)."""
    access.require(request.user, Action.VIEW_COHORT)
    query = CohortQuerySerializer(data=request.query_params, user=request.user)
    query.is_valid(raise_exception=True)
    filters = CohortFilters(**query.validated_data)
    # The stored figures the dashboard shows (refreshed in the background); computed here only while another
    # request computes them for the first time. Their answer, tens of thousands of curve points, is made once
    # per computation of the figures and kept in the cache (the figures' key and time name it).
    snapshot = cohort_snapshot(user=request.user, filters=filters)
    if snapshot.figures is None:
        analysis = cohort_analysis(request.user, filters)
        content = JSONRenderer().render(CohortOutcomesSerializer(_outcomes_body(analysis)).data)
    else:
        analysis = snapshot.figures
        name = f"{snapshot.key}:{snapshot.computed_at.isoformat()}"
        cached = "api-cohort-outcomes:" + hashlib.sha256(name.encode()).hexdigest()
        content = cache.get(cached)
        if content is None:
            figures = cohort_snapshot(user=request.user, filters=filters, points=True).figures or analysis
            content = JSONRenderer().render(CohortOutcomesSerializer(_outcomes_body(figures)).data)
            cache.set(cached, content, settings.ANALYTICS_MAX_AGE_SECONDS)
    # Kaplan-Meier estimates, no patient named: one row naming the query
    record_event(
        context=AuditContext.from_request(request),
        action="cohort.outcomes",
        detail={"filters": filters.as_detail(), "patients": analysis.n},
    )
    return HttpResponse(content, content_type="application/json")


def _outcomes_body(analysis) -> dict:
    body = {"as_of": analysis.as_of}
    for endpoint in analysis.endpoints:
        curve = endpoint.curve
        body[endpoint.key] = {
            "n": curve.n,
            "events": curve.events,
            "last_follow_up": curve.last_follow_up,
            "curve": [
                {
                    "months": p.months,
                    "survival": p.survival,
                    "ci_low": p.ci_low,
                    "ci_high": p.ci_high,
                    "at_risk": p.at_risk,
                }
                for p in curve.points
            ],
        }
    return body
