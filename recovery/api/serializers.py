from datetime import UTC, datetime
from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from accounts.models import Centre, User
from recovery.clinical.phases import Flag, InfectionRisk, Phase
from recovery.clinical.timeline import DisplayStatus, EventKind
from recovery.clinical.triage import SYMPTOM_CODES, AlertKind, Severity
from recovery.models import AlertSeverity, AlertStatus, Patient, ProtocolTemplate, ResolutionAction
from recovery.queries.labs import ENGRAFTMENT_STATES
from recovery.services.patients import EDITABLE_FIELDS


class MeSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    patient = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "role", "patient"]

    def get_patient(self, user: User) -> str | None:
        record = getattr(user, "patient_record", None)
        return str(record.uuid) if record else None


class PatientSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    centre = serializers.SlugRelatedField(
        slug_field="uuid",
        queryset=Centre.objects.none(),
        required=False,
        help_text="The centre's id; needed only when the coordinator belongs to several centres.",
    )

    class Meta:
        model = Patient
        fields = ["id", "centre", *EDITABLE_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators = []  # the service checks the record as a whole, including the per-centre hospital number

    def __init__(self, *args, centres=None, **kwargs):
        super().__init__(*args, **kwargs)
        if centres is not None:
            self.fields["centre"].queryset = Centre.objects.filter(pk__in=[c.pk for c in centres])
        if self.instance is not None and not isinstance(self.instance, list | tuple) and hasattr(self.instance, "pk"):
            self.fields["centre"].read_only = True

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["centre"] = str(instance.centre.uuid)
        return data


# Transplant and timeline (api.md: /patients/{id}/transplant/ and /patients/{id}/timeline/) ---------------

PHASE_CHOICES = [phase.value for phase in Phase]


class TransplantSerializer(serializers.Serializer):
    """The transplant's regimen and dates (writable) and where the patient stands today (read-only)."""

    # Checks the shape of each value; save_episode checks the dates against each other and against today.
    # validated_data["regimen"] is the ProtocolTemplate (or None), ready for save_episode's "protocol".

    regimen = serializers.CharField(
        max_length=32,
        required=False,
        allow_null=True,
        help_text="The protocol code, e.g. cy_atg, beam_atg or bu_cy_atg (the centre's active protocols).",
    )
    mobilisation_date = serializers.DateField(required=False, allow_null=True, help_text="Mobilisation dose.")
    gcsf_start_date = serializers.DateField(required=False, allow_null=True, help_text="G-CSF injections start.")
    apheresis_date = serializers.DateField(
        required=False, allow_null=True, help_text="First stem cell collection (apheresis)."
    )
    cd34_dose = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        allow_null=True,
        help_text="Collected CD34+ cells, 10^6/kg. Below the centre's minimum is a warning, not an error.",
    )
    cryostorage_date = serializers.DateField(required=False, allow_null=True, help_text="Cells frozen.")
    admission_date = serializers.DateField(required=False, allow_null=True, help_text="Admission for transplant.")
    conditioning_start_date = serializers.DateField(required=False, allow_null=True)
    reinfusion_date = serializers.DateField(required=False, allow_null=True, help_text="Day 0.")
    neutrophil_engraftment_date = serializers.DateField(required=False, allow_null=True)
    platelet_engraftment_date = serializers.DateField(required=False, allow_null=True)
    discharge_date = serializers.DateField(required=False, allow_null=True)

    confirm = serializers.BooleanField(
        required=False,
        write_only=True,
        help_text="true to go ahead with a destructive change (a phase date cleared or moved on or after Day 0, or "
        "timeline events deleted); without it such a change is answered 409 with what it would remove.",
    )

    phase = serializers.ChoiceField(choices=PHASE_CHOICES, read_only=True, help_text="The pathway phase today.")
    day = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Days since Day 0 in the patient's time zone; null without Day 0."
    )
    infection_risk = serializers.ChoiceField(choices=[risk.value for risk in InfectionRisk], read_only=True)
    flags = serializers.ListField(
        child=serializers.ChoiceField(choices=[flag.value for flag in Flag]),
        read_only=True,
        help_text="Engraftment warnings, e.g. delayed_engraftment.",
    )
    proposed_neutrophil_engraftment_date = serializers.DateField(
        read_only=True, allow_null=True, help_text="Computed from labs; null until the rule is met."
    )
    proposed_platelet_engraftment_date = serializers.DateField(
        read_only=True, allow_null=True, help_text="Computed from labs; null until the rule is met."
    )
    neutrophil_engraftment_state = serializers.ChoiceField(
        choices=ENGRAFTMENT_STATES,
        read_only=True,
        allow_null=True,
        help_text="recorded (a date is on the episode), proposed (the counts give a date to confirm), never_below "
        "(the ANC never fell below 0.5 x10^9/L after Day 0: no aplasia, no date, no engraftment alerts) or not_yet; "
        "null without Day 0.",
    )
    platelet_engraftment_state = serializers.ChoiceField(
        choices=ENGRAFTMENT_STATES,
        read_only=True,
        allow_null=True,
        help_text="As neutrophil_engraftment_state; never_below: platelets never below 20 x10^9/L after Day 0 and "
        "no platelet transfusion.",
    )
    config_version = serializers.IntegerField(
        read_only=True, help_text="The centre configuration version used (0: the shipped defaults)."
    )
    warnings = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="Things to check that do not stop the save."
    )

    def __init__(self, *args, current_protocol: ProtocolTemplate | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._current_protocol = current_protocol

    def validate_regimen(self, value: str | None) -> ProtocolTemplate | None:
        if value is None:
            return None
        templates = {template.code: template for template in ProtocolTemplate.objects.filter(is_active=True)}
        if self._current_protocol is not None:
            # A protocol retired after this episode began stays valid for this episode.
            templates.setdefault(self._current_protocol.code, self._current_protocol)
        template = templates.get(value)
        if template is None:
            valid = ", ".join(sorted(templates)) or "none (no protocol is active)"
            raise serializers.ValidationError(f"Unknown regimen “{value}”. Valid regimens are: {valid}.")
        return template


class TransplantConfirmSerializer(serializers.Serializer):
    """The 409 answer to a destructive transplant change sent without `confirm: true`: what it would change."""

    detail = serializers.CharField()
    confirm_required = serializers.BooleanField()
    phase_before = serializers.ChoiceField(choices=PHASE_CHOICES)
    phase_after = serializers.ChoiceField(choices=PHASE_CHOICES)
    dates_cleared = serializers.ListField(child=serializers.CharField(), help_text="Phase dates that would be empty.")
    dates_moved = serializers.ListField(child=serializers.CharField(), help_text="Phase dates that would change.")
    timeline_events_removed = serializers.IntegerField()
    timeline_events_moved = serializers.IntegerField()
    timeline_events_created = serializers.IntegerField()
    reminders_cancelled = serializers.IntegerField(help_text="Pending reminders that would no longer be sent.")
    reminders_moved = serializers.IntegerField(help_text="Pending reminders that would be sent at another time.")


class TimelineEventSerializer(serializers.Serializer):
    """One event, from an `EventView` of recovery.services.timeline."""

    id = serializers.UUIDField(source="event.uuid")
    kind = serializers.ChoiceField(source="event.kind", choices=[kind.value for kind in EventKind])
    title = serializers.CharField(source="event.title")
    planned_date = serializers.DateField(source="event.planned_date")
    actual_date = serializers.DateField(source="event.actual_date", allow_null=True)
    status = serializers.ChoiceField(
        choices=[status.value for status in DisplayStatus],
        help_text=(
            "planned; due (within the centre's due window); overdue (planned date passed, still to be done);"
            " not_recorded (planned date passed, no longer to be chased); done; cancelled."
        ),
    )
    day = serializers.IntegerField(allow_null=True, help_text="The planned date's Day number; null without Day 0.")


class TimelineSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=PHASE_CHOICES, help_text="The pathway phase today.")
    day = serializers.IntegerField(allow_null=True, help_text="Days since Day 0 today; null without Day 0.")
    events = TimelineEventSerializer(many=True, help_text="Ordered by planned date.")


# Symptom reports and alerts (api.md: /patients/{id}/symptom-reports/, /alerts/) ----------------------------
#
# The request fields check only the JSON type of each value. What a value means (a plausible temperature, a
# known symptom code, a grade 0-4, a time that is not in the future, a report that says something) is checked
# by recovery.services.symptoms, the one place whose messages the check-in page and the API both show.

SEVERITY_CHOICES = [severity.value for severity in Severity]
# What each level means for the patient (the 201 response's triage.level).
TRIAGE_LEVEL_CHOICES = [
    (Severity.URGENT.value, "Call the unit now"),
    (Severity.SAME_DAY.value, "The team looks at it today"),
    (Severity.ROUTINE.value, "For the team's weekly review"),
    (Severity.NONE.value, "Nothing needs action"),
]
ALERT_KIND_CHOICES = [kind.value for kind in AlertKind]
EARLIEST_REPORT = datetime(1900, 1, 1, tzinfo=UTC)


def _is_text(value: object) -> bool:
    """A str that can be stored and sent back: no NUL characters and no lone surrogates."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _ServiceNamesWhatIsMissing:
    """A required field whose missing or null value is passed on as None, for the service's own message."""

    def validate_empty_values(self, data):
        if data is empty or data is None:
            return (True, None)
        return super().validate_empty_values(data)


class ReportTimeField(_ServiceNamesWhatIsMissing, serializers.DateTimeField):
    """ISO 8601 with an offset. A time without one stays naive, for the service to refuse with its message."""

    default_error_messages = {
        "invalid": "Enter the date and time in ISO 8601 with its time zone, for example 2025-03-10T08:15:00+01:00.",
        "date": "Enter a date and a time, with its time zone, for example 2025-03-10T08:15:00+01:00.",
        "overflow": "This date and time is out of range.",
        "range": "This date and time is out of range.",
    }

    def enforce_timezone(self, value: datetime) -> datetime:
        if timezone.is_naive(value):
            return value
        value = super().enforce_timezone(value)  # to UTC; an offset that leaves the calendar is a 400
        if value < EARLIEST_REPORT:
            self.fail("range")
        return value


@extend_schema_field({"type": "number", "format": "double", "example": 37.8})
class TemperatureField(serializers.Field):
    """A JSON number in °C (or null). The service rounds it to 0.1 and checks that it is plausible."""

    default_error_messages = {"invalid": "Send the temperature as a number in °C, for example 37.8, or null."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float | Decimal):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return float(value)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 4},
        "description": "Symptom code → grade 0 (none) to 4 (very severe). Codes: " + ", ".join(SYMPTOM_CODES) + ".",
        "example": {"chills": 2, "fatigue": 1},
    }
)
class SymptomGradesField(serializers.Field):
    """An object of code → grade, passed to the service as sent (it names unknown codes and bad grades)."""

    default_error_messages = {"invalid": "Symptom names must be plain text."}

    def to_internal_value(self, data):
        # The service quotes an unknown code back in its message: refuse text that cannot be sent back.
        if isinstance(data, dict) and not all(_is_text(code) for code in data):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return dict(value)


class SymptomReportSerializer(serializers.Serializer):
    """One report: what was sent (writable) and what triage made of it (read-only)."""

    id = serializers.UUIDField(source="uuid", read_only=True)
    recorded_at = ReportTimeField(help_text="When the temperature was taken or the symptoms noticed, with offset.")
    temperature_c = TemperatureField(
        required=False,
        allow_null=True,
        help_text="°C, rounded to 0.1; outside 34.0-43.0 °C (the default range) is refused. Null: not taken.",
    )
    symptoms = SymptomGradesField(required=False, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    feels_urgent = serializers.BooleanField(required=False, default=False, help_text="The patient feels it is urgent.")
    triage_level = serializers.ChoiceField(choices=SEVERITY_CHOICES, read_only=True)
    neutropenic_fever = serializers.BooleanField(read_only=True)
    pseudo_relapse = serializers.BooleanField(read_only=True)
    day = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Days since Day 0 on the report's local date; null without Day 0."
    )
    phase = serializers.ChoiceField(
        choices=PHASE_CHOICES, read_only=True, help_text="The pathway phase on the report's local date."
    )


class TriageSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=TRIAGE_LEVEL_CHOICES)
    advice = serializers.CharField(help_text="Plain words for the patient; for urgent: call the unit now, and how.")
    alert = serializers.UUIDField(allow_null=True, help_text="The alert this report opened or updated, if any.")
    neutropenic_fever = serializers.BooleanField()
    pseudo_relapse = serializers.BooleanField()


class SymptomReportCreatedSerializer(SymptomReportSerializer):
    triage = TriageSerializer(read_only=True)


class SymptomReportPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = SymptomReportSerializer(many=True, help_text="Newest first.")


class _PublicIdField(serializers.UUIDField):
    """The public id of a related object (patient, user), or null."""

    def get_attribute(self, instance):
        related = getattr(instance, self.source)
        return None if related is None else related.uuid


class AlertSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    patient = _PublicIdField(read_only=True)
    kind = serializers.ChoiceField(choices=ALERT_KIND_CHOICES, read_only=True)
    severity = serializers.ChoiceField(choices=AlertSeverity.choices, read_only=True)
    status = serializers.ChoiceField(choices=AlertStatus.choices, read_only=True)
    reason = serializers.CharField(read_only=True, help_text="Plain words for staff; one line per report.")
    rule = serializers.CharField(read_only=True, help_text="The rule that raised it (or last raised its severity).")
    neutropenic_fever = serializers.BooleanField(read_only=True)
    pseudo_relapse = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    respond_by = serializers.DateTimeField(read_only=True, allow_null=True)
    acknowledged_at = serializers.DateTimeField(read_only=True, allow_null=True)
    acknowledged_by = _PublicIdField(read_only=True, allow_null=True, help_text="The user's id.")
    resolved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    resolved_by = _PublicIdField(read_only=True, allow_null=True, help_text="The user's id.")
    resolution = serializers.ChoiceField(choices=ResolutionAction.choices, read_only=True, allow_null=True)
    resolution_note = serializers.CharField(read_only=True)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["resolution"] = data["resolution"] or None
        return data


class AlertPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = AlertSerializer(many=True, help_text="Most severe first, then oldest first.")


@extend_schema_field({"type": "string", "enum": ResolutionAction.values})
class ResolutionActionField(_ServiceNamesWhatIsMissing, serializers.CharField):
    """One of ResolutionAction's values; the service checks which (and names them)."""


class ResolveAlertSerializer(serializers.Serializer):
    action = ResolutionActionField(allow_blank=True, help_text="What was done. “other” needs a note.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
