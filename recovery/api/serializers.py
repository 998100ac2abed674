from decimal import Decimal

from rest_framework import serializers

from accounts.models import Centre, User
from recovery.clinical.phases import Flag, InfectionRisk, Phase
from recovery.clinical.timeline import DisplayStatus, EventKind
from recovery.models import Patient, ProtocolTemplate
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


class TimelineEventSerializer(serializers.Serializer):
    """One event, from an `EventView` of recovery.services.timeline."""

    id = serializers.UUIDField(source="event.uuid")
    kind = serializers.ChoiceField(source="event.kind", choices=[kind.value for kind in EventKind])
    title = serializers.CharField(source="event.title")
    planned_date = serializers.DateField(source="event.planned_date")
    actual_date = serializers.DateField(source="event.actual_date", allow_null=True)
    status = serializers.ChoiceField(
        choices=[status.value for status in DisplayStatus],
        help_text="planned; due (within the centre's due window); overdue (planned date passed); done; cancelled.",
    )
    day = serializers.IntegerField(allow_null=True, help_text="The planned date's Day number; null without Day 0.")


class TimelineSerializer(serializers.Serializer):
    phase = serializers.ChoiceField(choices=PHASE_CHOICES, help_text="The pathway phase today.")
    day = serializers.IntegerField(allow_null=True, help_text="Days since Day 0 today; null without Day 0.")
    events = TimelineEventSerializer(many=True, help_text="Ordered by planned date.")
