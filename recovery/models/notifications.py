"""Reminders, messages and care-team tasks: every one a row, the database the source of truth.

A `Notification` is one message to one recipient on one channel. Its `dedupe_key` is unique, so planning
the same reminder twice, two beats or a restarted worker can never create or send a second one. Rows
whose `recipient` is empty and whose `audience` is the care team are *steps* (a missed check-in, an
unacknowledged alert): when due, the dispatcher checks that they still apply and fans them out to the
staff concerned as ordinary rows.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy


class Channel(models.TextChoices):
    IN_APP = "in_app", gettext_lazy("In the app")
    EMAIL = "email", gettext_lazy("Email")
    SMS = "sms", gettext_lazy("Text message (SMS)")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", gettext_lazy("Pending")
    SENT = "sent", gettext_lazy("Sent")
    FAILED = "failed", gettext_lazy("Failed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")
    SUPPRESSED = "suppressed", gettext_lazy("Suppressed")


class Audience(models.TextChoices):
    PATIENT = "patient", gettext_lazy("Patient")
    STAFF = "staff", gettext_lazy("Member of staff")
    CARE_TEAM = "care_team", gettext_lazy("Care team (a step, fanned out when due)")


class NotificationKind(models.TextChoices):
    # to the patient (planned from the timeline)
    TEMPERATURE_CHECKIN = "temperature_checkin", gettext_lazy("Temperature check-in")
    RED_FLAG_CHECKIN = "red_flag_checkin", gettext_lazy("Red-flag check-in")
    CHECKIN = "checkin", gettext_lazy("Check-in")
    APPOINTMENT_EVE = "appointment_eve", gettext_lazy("Appointment tomorrow")
    APPOINTMENT_MORNING = "appointment_morning", gettext_lazy("Appointment today")
    MISSED_CHECKIN = "missed_checkin", gettext_lazy("Missed check-in")
    # care-team steps and the staff messages they become
    MISSED_CHECKIN_TASK = "missed_checkin_task", gettext_lazy("Missed check-in: task for the coordinator")
    MISSED_CHECKIN_CLINICIAN = "missed_checkin_clinician", gettext_lazy("Missed check-in in the high-risk window")
    ALERT_RESEND = "alert_resend", gettext_lazy("Urgent alert not acknowledged")
    ALERT_ON_CALL = "alert_on_call", gettext_lazy("Urgent alert: on-call clinician")
    ALERT_END_OF_DAY = "alert_end_of_day", gettext_lazy("Same-day alert not acknowledged by the end of the day")
    # labs, prophylaxis and vaccination (issue 6)
    VACCINATION_DUE = "vaccination_due", gettext_lazy("Vaccination due")
    LAB_DUE = "lab_due", gettext_lazy("Scheduled blood test due")
    PROPHYLAXIS_REMINDER = "prophylaxis_reminder", gettext_lazy("Prophylaxis reminder")
    PROPHYLAXIS_REVIEW = "prophylaxis_review", gettext_lazy("Prophylaxis: stop date reached, CD4 not recovered")
    MISSED_LAB_TASK = "missed_lab_task", gettext_lazy("Scheduled lab not done: task for the coordinator")


# Check-in reminders: a report from the patient answers them.
CHECKIN_KINDS = frozenset(
    {NotificationKind.TEMPERATURE_CHECKIN, NotificationKind.RED_FLAG_CHECKIN, NotificationKind.CHECKIN}
)


class Notification(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="notifications")
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        help_text="Empty for a patient without a login (email and SMS go to the record's address) and for steps.",
    )
    audience = models.CharField(max_length=16, choices=Audience.choices)
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    key = models.CharField(max_length=200, help_text="What this is about, stable per patient (the slot's key).")
    dedupe_key = models.CharField(max_length=300, unique=True, editable=False)
    due_at = models.DateTimeField(help_text="When to send it (quiet hours already applied).")
    local_date = models.DateField(null=True, blank=True, help_text="The patient's local date it belongs to.")
    safety_critical = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    status_reason = models.CharField(max_length=300, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(help_text="Due rows are claimed from this time (later after a failure).")
    lease_until = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    about_at = models.DateTimeField(
        null=True, blank=True, help_text="Missed check-in steps: when the check-in they follow up was due."
    )
    answered_at = models.DateTimeField(null=True, blank=True, help_text="Check-ins: when a report answered it.")
    alert = models.ForeignKey(
        "recovery.Alert", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    event = models.ForeignKey(
        "recovery.TimelineEvent", on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications"
    )
    step = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        help_text="The care-team step this message was fanned out from.",
    )
    detail = models.JSONField(
        default=dict, blank=True, help_text="What the message is about, for its text (e.g. the vaccine and dose)."
    )
    config_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="notification_due_idx",
            ),
            models.Index(fields=["patient", "due_at"], name="notification_patient_idx"),
            models.Index(fields=["recipient", "channel", "status", "read_at"], name="notification_inbox_idx"),
            models.Index(fields=["patient", "key"], name="notification_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.channel}) due {self.due_at:%Y-%m-%d %H:%M} UTC"


class CareTaskStatus(models.TextChoices):
    OPEN = "open", gettext_lazy("Open")
    DONE = "done", gettext_lazy("Done")


class CareTask(models.Model):
    """Work for the care team: today, a check-in the patient missed (one task per missed check-in)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey("recovery.Patient", on_delete=models.CASCADE, related_name="care_tasks")
    kind = models.CharField(max_length=32, default="missed_checkin")
    key = models.CharField(max_length=200, help_text="The missed check-in's key.")
    checkin_due_at = models.DateTimeField()
    high_risk = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=CareTaskStatus.choices, default=CareTaskStatus.OPEN)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-high_risk", "checkin_due_at", "id"]
        constraints = [models.UniqueConstraint(fields=["patient", "kind", "key"], name="care_task_unique_key")]
        indexes = [models.Index(fields=["status", "checkin_due_at"], name="care_task_open_idx")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.patient} ({self.status})"


class ReminderSettings(models.Model):
    """A patient's own choices (channels, quiet hours) and the coordinator's hold."""

    patient = models.OneToOneField("recovery.Patient", on_delete=models.CASCADE, related_name="reminder_settings")
    email_enabled = models.BooleanField("email", default=True)
    sms_enabled = models.BooleanField("text message (SMS)", default=True)
    quiet_start = models.TimeField(null=True, blank=True, help_text="Empty: the centre's default.")
    quiet_end = models.TimeField(null=True, blank=True, help_text="Empty: the centre's default.")
    on_hold = models.BooleanField(
        default=False, help_text="Readmitted or otherwise cared for: no reminders until the hold is lifted."
    )
    hold_reason = models.CharField(max_length=300, blank=True)
    hold_changed_at = models.DateTimeField(null=True, blank=True)
    hold_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Reminder settings of {self.patient}"
