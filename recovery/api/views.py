from dataclasses import replace

from django.contrib.auth import authenticate
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import mfa
from accounts.lockout import login_slowdown
from accounts.models import ApiToken
from recovery import access
from recovery.access import Action
from recovery.api.pagination import Pagination
from recovery.api.serializers import PHASE_CHOICES, MeSerializer, PatientSerializer
from recovery.api.timeline import parse_phase
from recovery.queries.workspace import filter_patients
from recovery.services import api_tokens
from recovery.services.audit import AuditContext, record_event, record_reads
from recovery.services.patients import create_patient, update_patient


class CredentialsSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, error_messages={"blank": "Enter your username."})
    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, error_messages={"blank": "Enter your password."}
    )
    otp = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="The code from your authenticator app (or a recovery code); needed when you have a second factor.",
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`. Shown only this once.")
    expires_at = serializers.DateTimeField()


OTP_MISSING = (
    "Enter the code from your authenticator app (or a recovery code) in otp: this account has a second factor."
)
OTP_WRONG = "That otp code is not right, or it was used already. Enter the current code from your authenticator app."
SECOND_FACTOR_NEEDED = (
    "Staff need a second factor before they can use the API. Sign in on the website and set one up first."
)


@extend_schema(request=CredentialsSerializer, responses={200: TokenSerializer})
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def obtain_token(request: Request) -> Response:
    """Exchange a username and password (and `otp` for an account with a second factor) for a new token.

    Failures of the password count towards the login lockout. Each call makes a new token, which works until
    `expires_at` (30 days unless the site sets otherwise); `POST /api/v1/auth/token/revoke/` ends it sooner."""
    serializer = CredentialsSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    slowdown = login_slowdown(request._request, serializer.validated_data["username"])
    if slowdown is not None:  # many failures for this account from elsewhere: wait, without checking the password
        return Response({"detail": slowdown.message}, status=429, headers={"Retry-After": str(slowdown.seconds)})
    credentials = dict(serializer.validated_data)
    otp = credentials.pop("otp", "").strip()
    # Django's own request, so that django-axes records the attempt and its middleware answers a lockout.
    user = authenticate(request._request, **credentials)
    if user is None or not user.is_active:
        return Response(
            {"non_field_errors": ["That username and password do not match."]}, status=status.HTTP_400_BAD_REQUEST
        )
    if mfa.has_factor(user):
        if not otp:
            return Response({"otp": [OTP_MISSING]}, status=status.HTTP_400_BAD_REQUEST)
        # The same check as the sign-in's second step: each device counts wrong codes and waits longer after each.
        checked = mfa.check_code(user, otp)
        if checked.device is None:
            if checked.wait_seconds:
                wait = f"Too many wrong codes: wait {checked.wait_seconds} seconds, then try the current code."
                return Response({"otp": [wait]}, status=429, headers={"Retry-After": str(checked.wait_seconds)})
            return Response({"otp": [OTP_WRONG]}, status=status.HTTP_400_BAD_REQUEST)
    elif mfa.mfa_required(user):
        return Response({"detail": SECOND_FACTOR_NEEDED}, status=status.HTTP_403_FORBIDDEN)
    context = replace(AuditContext.from_request(request), actor=user)
    token, key = api_tokens.issue_token(context=context, owner=user, name="Token endpoint (POST /api/v1/auth/token/)")
    return Response(TokenSerializer({"token": key, "expires_at": token.expires_at}).data)


@extend_schema(request=None, responses={204: None})
@api_view(["POST"])
def revoke_token(request: Request) -> Response:
    """Revoke the token this request was made with: how an API client signs out."""
    if not isinstance(request.auth, ApiToken):
        return Response(
            {"non_field_errors": ["This request was not made with an API token, so there is none to revoke."]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    api_tokens.revoke_token(context=AuditContext.from_request(request), token=request.auth, reason="signed out")
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(responses=MeSerializer)
@api_view(["GET"])
def me(request: Request) -> Response:
    return Response(MeSerializer(request.user).data)


@extend_schema(
    methods=["GET"],
    responses=PatientSerializer(many=True),
    parameters=[
        OpenApiParameter("q", str, description="Part of the first or last name, or the whole hospital number."),
        OpenApiParameter(
            "phase", str, enum=PHASE_CHOICES, description="Only patients in this pathway phase today (their time zone)."
        ),
    ],
)
@extend_schema(methods=["POST"], request=PatientSerializer, responses={201: PatientSerializer})
@api_view(["GET", "POST"])
def patient_list(request: Request) -> Response:
    context = AuditContext.from_request(request)
    if request.method == "POST":
        access.require(request.user, Action.CREATE_PATIENT)
        centres = list(access.centres_for(request.user))
        serializer = PatientSerializer(data=request.data, centres=centres)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        centre = fields.pop("centre", None)
        patient = create_patient(context=context, centres=centres, centre=centre, fields=fields)
        return Response(PatientSerializer(patient).data, status=status.HTTP_201_CREATED)

    patients = access.visible_patients(request.user).select_related("centre").search(request.query_params.get("q", ""))
    if phase := request.query_params.get("phase", ""):
        patients = filter_patients(patients, phase=parse_phase(phase).value)
    paginator = Pagination()
    page = paginator.paginate_queryset(patients, request)
    record_reads(context=context, action="patient.list", patients=page)
    return paginator.get_paginated_response(PatientSerializer(page, many=True).data)


@extend_schema(methods=["PATCH"], request=PatientSerializer, responses=PatientSerializer)
@extend_schema(methods=["GET"], responses=PatientSerializer)
@api_view(["GET", "PATCH"])
def patient_detail(request: Request, patient_id) -> Response:
    context = AuditContext.from_request(request)
    if request.method == "PATCH":
        patient = access.get_patient(request.user, patient_id, Action.EDIT_PATIENT)
        serializer = PatientSerializer(patient, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {k: v for k, v in serializer.validated_data.items() if k != "centre"}
        patient = update_patient(context=context, patient=patient, changes=changes)
        return Response(PatientSerializer(patient).data)
    patient = access.get_patient(request.user, patient_id)
    record_event(context=context, action="patient.view", patient=patient)
    return Response(PatientSerializer(patient).data)
