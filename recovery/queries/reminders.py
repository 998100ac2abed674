"""Reminder reads: the kinds of rows, a patient's reminder settings and channels, what is due, and the inbox.
Reads only (the planner and the dispatcher are in services/reminders/)."""

from dataclasses import replace
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from recovery.clinical.reminders import (
    Step,
)
from recovery.models import (
    Channel,
    Notification,
    NotificationKind,
    NotificationStatus,
    Patient,
    PatientStatus,
    ReminderSettings,
)
from recovery.queries.configuration import ActiveConfig

PATIENT_REMINDER_KINDS = frozenset(
    {
        NotificationKind.TEMPERATURE_CHECKIN,
        NotificationKind.RED_FLAG_CHECKIN,
        NotificationKind.CHECKIN,
        NotificationKind.APPOINTMENT_EVE,
        NotificationKind.APPOINTMENT_MORNING,
    }
)


CHAIN_KINDS = frozenset(
    {
        NotificationKind.MISSED_CHECKIN,
        NotificationKind.MISSED_CHECKIN_TASK,
        NotificationKind.MISSED_CHECKIN_CLINICIAN,
    }
)


# Labs, prophylaxis and vaccination (planned by recovery.services.reminders.care).
CARE_KINDS = frozenset(
    {
        NotificationKind.VACCINATION_DUE,
        NotificationKind.LAB_DUE,
        NotificationKind.PROPHYLAXIS_REMINDER,
        NotificationKind.PROPHYLAXIS_REVIEW,
        NotificationKind.MISSED_LAB_TASK,
    }
)


# The kinds of care-team task (CareTask.kind)
TASK_MISSED_CHECKIN = "missed_checkin"
TASK_MISSED_LAB = "missed_lab"
PLANNED_KINDS = PATIENT_REMINDER_KINDS | CHAIN_KINDS | CARE_KINDS


ALERT_STEP_KINDS = {
    Step.RESEND_CARE_TEAM: NotificationKind.ALERT_RESEND,
    Step.ON_CALL_CLINICIAN: NotificationKind.ALERT_ON_CALL,
    Step.ESCALATE_END_OF_DAY: NotificationKind.ALERT_END_OF_DAY,
}


CHAIN_STEP_KINDS = {
    Step.REMIND_PATIENT: NotificationKind.MISSED_CHECKIN,
    Step.TASK_COORDINATOR: NotificationKind.MISSED_CHECKIN_TASK,
    Step.NOTIFY_CLINICIAN: NotificationKind.MISSED_CHECKIN_CLINICIAN,
}


def reminder_settings(patient: Patient) -> ReminderSettings:
    """The patient's settings (unsaved defaults when they never changed them)."""
    try:
        return patient.reminder_settings
    except ReminderSettings.DoesNotExist:
        return ReminderSettings(patient=patient)


def effective_reminder_config(config: ActiveConfig, prefs: ReminderSettings):
    """The centre's reminder configuration with the patient's own quiet hours."""
    reminders = config.reminders
    if prefs.quiet_start is not None and prefs.quiet_end is not None:
        reminders = replace(
            reminders,
            quiet_start=(prefs.quiet_start.hour, prefs.quiet_start.minute),
            quiet_end=(prefs.quiet_end.hour, prefs.quiet_end.minute),
        )
    return reminders


def patient_channels(patient: Patient, prefs: ReminderSettings) -> list[str]:
    """The channels the patient's reminders go to: the app always, email and SMS when chosen."""
    channels = [Channel.IN_APP.value]
    if prefs.email_enabled:
        channels.append(Channel.EMAIL.value)
    if prefs.sms_enabled:
        channels.append(Channel.SMS.value)
    return channels


def no_login_channels(patient: Patient) -> list[str]:
    """Where a patient without a login can be reached: text message and email, when the centre has them."""
    return [
        channel.value for channel, address in ((Channel.SMS, patient.phone), (Channel.EMAIL, patient.email)) if address
    ]


def receives_reminders(patient: Patient, prefs: ReminderSettings) -> str:
    """Empty when the patient gets reminders, else why not (shown to staff)."""
    if patient.deactivated_at is not None:
        return _("The patient is deactivated.")
    if patient.status == PatientStatus.WITHDRAWN:
        return _("The patient is withdrawn.")
    if patient.status == PatientStatus.DECEASED:
        return _("The patient is deceased.")
    if patient.status != PatientStatus.ACTIVE:
        return _("The patient is %(status)s.") % {"status": patient.get_status_display().lower()}
    if prefs.on_hold and prefs.hold_reason:
        return _("Reminders are on hold: %(reason)s") % {"reason": prefs.hold_reason}
    if prefs.on_hold:
        return _("Reminders are on hold.")
    return ""


def dedupe_key(patient_id: int, key: str, channel: str, recipient: str) -> str:
    return f"p{patient_id}|{key}|{channel}|{recipient}"


def due_count(now: datetime | None = None) -> int:
    return due_rows(now or timezone.now()).count()


def stalled_count(now: datetime | None = None) -> int:
    """Rows due more than five minutes ago and still pending (the dispatcher is not keeping up)."""
    now = now or timezone.now()
    return due_rows(now - timedelta(minutes=5)).count()


def inbox(user: User):
    """The user's in-app notifications that have been delivered, newest first."""
    return (
        Notification.objects.filter(recipient=user, channel=Channel.IN_APP, status=NotificationStatus.SENT)
        .select_related("patient__centre", "alert", "event")
        .order_by("-sent_at", "-id")
    )


def unread_count(user: User) -> int:
    return inbox(user).filter(read_at__isnull=True).count()


def due_rows(now: datetime):
    """Pending rows due at `now` whose claim (if any) has lapsed."""
    return Notification.objects.filter(status=NotificationStatus.PENDING, next_attempt_at__lte=now).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )


def temperature_moments(patient_ids) -> set[tuple[int, str]]:
    """(patient id, moment) of every planned temperature reminder: a moment ("2026-11-20T08:00") whose missed
    chain only a report with a temperature answers (`clinical.reminders.answers_reminder`). One query."""
    rows = Notification.objects.filter(
        patient_id__in=patient_ids, kind=NotificationKind.TEMPERATURE_CHECKIN
    ).values_list("patient_id", "key")
    return {(patient_id, key.split(":", 1)[1]) for patient_id, key in rows}
