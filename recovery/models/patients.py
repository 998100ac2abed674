import re
import uuid
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy

from accounts.models import Centre, timezone_choices
from recovery.clinical.phases import Phase
from recovery.validators import (
    validate_edss,
    validate_not_future,
    validate_phone,
    validate_plausible_birth_date,
    validate_timezone,
)


class Sex(models.TextChoices):
    FEMALE = "female", gettext_lazy("Female")
    MALE = "male", gettext_lazy("Male")
    OTHER = "other", gettext_lazy("Other")
    UNKNOWN = "unknown", gettext_lazy("Unknown")


class MSType(models.TextChoices):
    RRMS = "RRMS", gettext_lazy("Relapsing-remitting (RRMS)")
    SPMS = "SPMS", gettext_lazy("Secondary progressive (SPMS)")
    PPMS = "PPMS", gettext_lazy("Primary progressive (PPMS)")
    CIS = "CIS", gettext_lazy("Clinically isolated syndrome (CIS)")


class PatientStatus(models.TextChoices):
    ACTIVE = "active", gettext_lazy("Active")
    WITHDRAWN = "withdrawn", gettext_lazy("Withdrawn")
    DECEASED = "deceased", gettext_lazy("Deceased")


class PatientQuerySet(models.QuerySet):
    def search(self, text: str) -> "PatientQuerySet":
        text = (text or "").strip()
        if not text:
            return self
        query = models.Q(hospital_number__iexact=text)
        for word in text.split():
            # Not icontains: SQLite's LIKE ignores the case of ASCII letters only, so "öberg" would find "Öberg"
            # on PostgreSQL but not on SQLite. A case-insensitive regex of the escaped word runs in Python's re on
            # SQLite and as ~* on PostgreSQL: both fold every letter.
            pattern = re.escape(word)
            query |= models.Q(first_name__iregex=pattern) | models.Q(last_name__iregex=pattern)
        return self.filter(query)

    def active(self) -> "PatientQuerySet":
        """Patients in the centre's care: every list, worklist and reminder run starts here. A deactivated
        patient (and an erased one, which is deactivated too) is left out; their record is kept."""
        return self.filter(deactivated_at__isnull=True)


# Written only by their own UPDATEs (the marks, the planner and its dispatcher, the outcome refresh, the stored
# phase), never by save().
PLANNER_FIELDS = frozenset(
    {
        "reminders_stale_since",
        "reminders_planned_until",
        "reminders_plan_claimed_until",
        "outcomes_stale_since",
        "vaccinations_stale_since",
        "phase",
        "phase_flagged",
        "phase_as_of",
        "phase_changes_on",
        "phase_config_version",
    }
)

PHASE_CHOICES = [(phase.value, phase.value.replace("_", " ").capitalize()) for phase in Phase]


class Patient(models.Model):
    """A person followed through aHSCT. Belongs to one centre; may be linked to one login."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    centre = models.ForeignKey(Centre, on_delete=models.PROTECT, related_name="patients")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="patient_record",
        help_text="The patient's own login, once they have one.",
    )
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    date_of_birth = models.DateField(validators=[validate_plausible_birth_date])
    sex = models.CharField(max_length=8, choices=Sex.choices, default=Sex.UNKNOWN)
    hospital_number = models.CharField(max_length=32, help_text="Unique within the centre.")
    email = models.EmailField(blank=True)
    phone = models.CharField(
        max_length=20, blank=True, validators=[validate_phone], help_text="International format, e.g. +46701234567."
    )
    timezone = models.CharField(
        max_length=64,
        choices=timezone_choices,
        validators=[validate_timezone],
        help_text="Reminders and the day number follow this time zone.",
    )
    ms_type = models.CharField("MS type", max_length=4, choices=MSType.choices, blank=True)
    ms_onset_date = models.DateField("MS onset date", null=True, blank=True, validators=[validate_not_future])
    baseline_edss = models.DecimalField(
        "baseline EDSS", max_digits=3, decimal_places=1, null=True, blank=True, validators=[validate_edss]
    )
    previous_treatments = models.TextField(
        "previous disease-modifying treatments",
        blank=True,
        help_text="One per line, with years, e.g. Natalizumab 2019-2022.",
    )
    preferred_language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")
    contact_name = models.CharField("next of kin / contact", max_length=200, blank=True)
    contact_phone = models.CharField(
        "contact's phone", max_length=20, blank=True, validators=[validate_phone], help_text="International format."
    )
    status = models.CharField(max_length=16, choices=PatientStatus.choices, default=PatientStatus.ACTIVE)
    calendar_token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    # Set by a write that changes what the reminders depend on; cleared by the planner once it has planned again.
    reminders_stale_since = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    # The planning horizon: reminders are planned up to this moment (set by the planner). The hourly planning
    # dispatcher hands out the patients whose horizon runs out soonest; `reminders_plan_claimed_until` is its
    # lease, so two dispatcher runs never hand out the same patient while a batch task has them.
    reminders_planned_until = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    reminders_plan_claimed_until = models.DateTimeField(null=True, blank=True, editable=False)
    # Set by a write that changes what the stored outcome summary depends on; cleared once it is computed again.
    outcomes_stale_since = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    # Set by a write that changes what the stored vaccination plan depends on; cleared once it is computed again.
    vaccinations_stale_since = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    # The stored current phase (services/phases.py): what `phase_on` gives on `phase_as_of` (the patient's local
    # date) with centre configuration `phase_config_version`, and holds until the day before `phase_changes_on`
    # (None: never changes with these dates). `phase_flagged`: the engraftment flags are raised. The lists filter
    # on it in SQL; a row not valid for the patient's today is computed afresh (queries/phases.py).
    phase = models.CharField(max_length=16, choices=PHASE_CHOICES, default=Phase.EVALUATION.value, editable=False)
    phase_flagged = models.BooleanField(default=False, editable=False)
    phase_as_of = models.DateField(null=True, blank=True, editable=False, db_index=True)
    phase_changes_on = models.DateField(null=True, blank=True, editable=False, db_index=True)
    phase_config_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    # Patients are deactivated, never deleted (their record is kept; see docs/operations.md, retention).
    deactivated_at = models.DateTimeField(null=True, blank=True, editable=False)
    deactivation_reason = models.CharField(max_length=300, blank=True, editable=False)
    # Set when the personal data was erased (services/erasure.py): the row stays as a pseudonymised key
    # for the access log, which is append-only.
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["centre", "hospital_number"], name="patient_unique_hospital_number"),
        ]
        indexes = [
            models.Index(fields=["centre", "last_name", "first_name"], name="patient_centre_name_idx"),
            models.Index(fields=["phase", "centre"], name="patient_phase_centre_idx"),
            # the patient list's order (a page of 25 read in order, not every patient sorted), and the few flagged
            models.Index(
                fields=["last_name", "first_name", "id"],
                name="patient_name_order_idx",
                condition=models.Q(deactivated_at__isnull=True),
            ),
            models.Index(fields=["id"], name="patient_flagged_idx", condition=models.Q(phase_flagged=True)),
            # the time zones and centres among a centre's patients (the lists work out each zone's today)
            models.Index(
                fields=["centre", "timezone"],
                name="patient_centre_zone_idx",
                condition=models.Q(deactivated_at__isnull=True),
            ),
            # the stored phases of another configuration version than their centre's (queries/phases.py)
            models.Index(fields=["centre", "phase_config_version"], name="patient_phase_version_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name

    def save(self, *args, **kwargs):
        """Saving an existing patient never writes the re-planning and outcome marks (`reminders_stale_since`,
        `outcomes_stale_since`) nor the planning horizon and its lease: only the marks, the planner, its
        dispatcher and the outcome refresh change them (an UPDATE of their own), so a patient object read before
        a mark cannot erase it."""
        if not self._state.adding and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in PLANNER_FIELDS
            ]
        super().save(*args, **kwargs)

    @property
    def is_deactivated(self) -> bool:
        return self.deactivated_at is not None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def clean(self) -> None:
        if self.ms_onset_date and self.date_of_birth and self.ms_onset_date < self.date_of_birth:
            raise ValidationError({"ms_onset_date": "MS cannot start before the date of birth."})
