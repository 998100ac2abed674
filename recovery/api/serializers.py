from rest_framework import serializers

from accounts.models import Centre, User
from recovery.models import Patient
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
