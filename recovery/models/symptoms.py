import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy, pgettext_lazy


class ReportVia(models.TextChoices):
    """How staff received a reading they entered for the patient (blank: the patient entered it themself)."""

    PHONE = "phone", gettext_lazy("By phone")


class SymptomReport(models.Model):
    """One check-in: a temperature and/or symptom grades, as the patient (or staff for them) reported it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="symptom_reports")
    recorded_at = models.DateTimeField(help_text="When the temperature was taken or the symptoms noticed.")
    temperature_c = models.DecimalField(max_digits=3, decimal_places=1, null=True, blank=True)
    symptoms = models.JSONField(default=dict, blank=True, help_text="Symptom code -> grade 0-4.")
    notes = models.TextField(blank=True)
    feels_urgent = models.BooleanField(default=False)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    entered_via = models.CharField(max_length=16, choices=ReportVia.choices, blank=True, default="")
    # what triage said, as it was said
    phase = models.CharField(max_length=32, blank=True)
    day = models.IntegerField(null=True, blank=True)
    triage_level = models.CharField(max_length=16, default="none")
    findings = models.JSONField(default=list, blank=True)
    neutropenic_fever = models.BooleanField(default=False)
    pseudo_relapse = models.BooleanField(default=False)
    config_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["patient", "-recorded_at"], name="report_patient_time_idx")]

    def __str__(self) -> str:
        return f"Report of {self.patient} at {self.recorded_at:%Y-%m-%d %H:%M}"


class AlertStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("alert status", "Open")
    ACKNOWLEDGED = "acknowledged", pgettext_lazy("alert status", "Acknowledged")
    RESOLVED = "resolved", pgettext_lazy("alert status", "Resolved")


class AlertSeverity(models.TextChoices):
    URGENT = "urgent", gettext_lazy("Urgent")
    SAME_DAY = "same_day", gettext_lazy("Same day")
    ROUTINE = "routine", gettext_lazy("Routine")


class ResolutionAction(models.TextChoices):
    ADVICE = "advice", gettext_lazy("Advice given by phone")
    SEEN = "seen", gettext_lazy("Seen in clinic or day unit")
    ADMITTED = "admitted", gettext_lazy("Admitted")
    EMERGENCY = "emergency", gettext_lazy("Sent to the emergency department")
    MEDICATION = "medication", gettext_lazy("Medication started or changed")
    NO_ACTION = "no_action", gettext_lazy("No action needed")
    OTHER = "other", gettext_lazy("Other (see note)")


OPEN_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class Alert(models.Model):
    """Something a report raised that staff must look at, followed from report to resolution."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=32)
    severity = models.CharField(max_length=16, choices=AlertSeverity.choices)
    severity_rank = models.PositiveSmallIntegerField(default=0, help_text="3 urgent, 2 same day, 1 routine.")
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    reason = models.TextField(help_text="In English: the audit's and the API's words (old rows have only this).")
    reason_code = models.CharField(
        max_length=255, blank=True, default="", help_text="The msgid of the sentence that opened the alert."
    )
    reason_values = models.JSONField(
        default=list,
        blank=True,
        help_text="The reason line by line as stored messages (clinical/words.py), translated when shown.",
    )
    rule = models.CharField(max_length=64, help_text="The rule that raised it (or last raised its severity).")
    config_version = models.PositiveIntegerField(default=0)
    neutropenic_fever = models.BooleanField(default=False)
    pseudo_relapse = models.BooleanField(default=False, help_text="Shown to the neurology team too.")
    reports = models.ManyToManyField(SymptomReport, related_name="alerts", blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    respond_by = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(max_length=16, choices=ResolutionAction.choices, blank=True)
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-severity_rank", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind"],
                condition=models.Q(status__in=["open", "acknowledged"]),
                name="alert_one_open_per_kind",
            )
        ]
        indexes = [
            models.Index(fields=["status", "-severity_rank", "created_at"], name="alert_queue_idx"),
            models.Index(fields=["patient", "status"], name="alert_patient_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_severity_display()} {self.kind} alert for {self.patient}"


class AlertEvent(models.Model):
    """The history of an alert: who did what when."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=32)  # raised, updated, escalated, acknowledged, resolved, reopened
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} at {self.at:%Y-%m-%d %H:%M}"
