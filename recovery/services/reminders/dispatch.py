"""Sending what is due: dispatchers claim due rows for a lease, check that each still applies, send it on its
channel and record the outcome (see README "Reminders and messages"). Every row is sent at most once."""

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import F, Max
from django.utils import timezone, translation

from accounts.models import Role, User
from recovery.clinical.reminders import ReminderKind, answers_reminder
from recovery.clinical.timeline import EventStatus
from recovery.models import (
    CHECKIN_KINDS,
    AlertStatus,
    Audience,
    CareTask,
    Channel,
    Notification,
    NotificationKind,
    NotificationStatus,
    SymptomReport,
)
from recovery.queries.configuration import ActiveConfig, active_config
from recovery.queries.reminders import (
    ALERT_STEP_KINDS,
    CARE_KINDS,
    CHAIN_KINDS,
    TASK_MISSED_CHECKIN,
    TASK_MISSED_LAB,
    dedupe_key,
    due_rows,
    receives_reminders,
    reminder_settings,
    temperature_moments,
)
from recovery.services.reminders.care import why_not as care_why_not
from recovery.sms import get_backend as sms_backend
from recovery.sms import sms_enabled

logger = logging.getLogger(__name__)


@dataclass
class DispatchResult:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    suppressed: int = 0
    fanned_out: int = 0
    reasons: list[str] = field(default_factory=list)

    def add(self, other: "DispatchResult") -> None:
        for name in ("claimed", "sent", "retried", "failed", "cancelled", "suppressed", "fanned_out"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def claim_due(*, now: datetime, limit: int) -> tuple[uuid.UUID, list[int]]:
    """Claim up to `limit` due rows for a lease; no other dispatcher gets them until it ends."""
    token = uuid.uuid4()
    lease = now + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    claim = {"lease_until": lease, "claim_token": token, "attempts": F("attempts") + 1}
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            ids = list(
                due_rows(now)
                .order_by("next_attempt_at", "id")
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)[:limit]
            )
            Notification.objects.filter(id__in=ids).update(**claim)
        else:
            candidates = list(due_rows(now).order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
            # The conditions again, in the UPDATE itself: a row claimed meanwhile no longer matches.
            due_rows(now).filter(id__in=candidates).update(**claim)
            ids = list(Notification.objects.filter(claim_token=token).values_list("id", flat=True))
    return token, ids


def _finish(notification: Notification, token: uuid.UUID, status: str, reason: str = "", **extra) -> bool:
    """Record an outcome, if the claim is still ours (a lease that ran out may have been claimed again)."""
    done = Notification.objects.filter(pk=notification.pk, claim_token=token, status=NotificationStatus.PENDING).update(
        status=status, status_reason=reason[:300], lease_until=None, claim_token=None, **extra
    )
    return bool(done)


def _retry_or_fail(notification: Notification, token: uuid.UUID, reason: str, now: datetime) -> str:
    if notification.attempts >= settings.NOTIFY_MAX_ATTEMPTS:
        _finish(
            notification, token, NotificationStatus.FAILED, f"{reason} (gave up after {notification.attempts} attempts)"
        )
        return "failed"
    backoff = settings.NOTIFY_BACKOFF_SECONDS * 2 ** (notification.attempts - 1)
    Notification.objects.filter(pk=notification.pk, claim_token=token, status=NotificationStatus.PENDING).update(
        status_reason=reason[:300], lease_until=None, claim_token=None, next_attempt_at=now + timedelta(seconds=backoff)
    )
    return "retried"


@dataclass(frozen=True)
class Latest:
    """What the patients of a batch have sent, up to now: when each last reported, when each last reported a
    temperature, and the moments that ask for a temperature (`temperature_moments`)."""

    reports: dict[int, datetime] = field(default_factory=dict)
    temperatures: dict[int, datetime] = field(default_factory=dict)
    temperature_moments: frozenset[tuple[int, str]] = frozenset()


def _answered(notification: Notification, lead_minutes: int, latest: Latest) -> bool:
    """Whether the patient's reports answer the check-in this row is about (`answers_reminder`): a temperature
    reminder, and the missed chain of a moment that asks for a temperature, only a report with a temperature."""
    patient_id = notification.patient_id
    kind = notification.kind
    if kind in CHAIN_KINDS and (patient_id, notification.key.split(":", 1)[1]) in latest.temperature_moments:
        kind = ReminderKind.TEMPERATURE_CHECKIN
    return answers_reminder(
        kind,
        latest.reports.get(patient_id),
        latest.temperatures.get(patient_id),
        notification.about_at or notification.due_at,
        lead_minutes,
    )


def _why_not(notification: Notification, now: datetime, config: ActiveConfig, latest: Latest) -> tuple[str, str] | None:
    """(status, reason) when the row no longer applies or cannot be delivered; None to send it.

    `latest`: what the batch's patients have sent, up to `now`."""
    patient = notification.patient
    kind = notification.kind
    if kind in ALERT_STEP_KINDS.values():
        alert = notification.alert
        if alert is None or alert.status != AlertStatus.OPEN or alert.acknowledged_at is not None:
            return NotificationStatus.CANCELLED, "The alert was acknowledged."
        return None
    stopped = receives_reminders(patient, reminder_settings(patient))
    if stopped and notification.audience != Audience.STAFF:
        return NotificationStatus.CANCELLED, stopped
    reminders = config.reminders
    answerable = kind in CHECKIN_KINDS | CHAIN_KINDS and notification.audience != Audience.STAFF
    if answerable and _answered(notification, reminders.answer_lead_minutes, latest):
        return NotificationStatus.CANCELLED, "Answered: the patient has reported."
    if kind in CARE_KINDS:
        refusal = care_why_not(notification, now)
        if refusal is not None:
            return refusal
    if kind in (NotificationKind.APPOINTMENT_EVE, NotificationKind.APPOINTMENT_MORNING):
        event = notification.event
        if event is None or event.status != EventStatus.PLANNED:
            return NotificationStatus.CANCELLED, "The event is done or cancelled."
    if (
        notification.audience == Audience.PATIENT
        and not notification.safety_critical
        and now - notification.due_at > timedelta(minutes=reminders.stale_after_minutes)
    ):
        return NotificationStatus.SUPPRESSED, f"More than {reminders.stale_after_minutes} minutes late: not sent."
    unconfigured = _unconfigured(notification.channel)
    if unconfigured:
        return NotificationStatus.FAILED, unconfigured
    if notification.channel == Channel.EMAIL and not _email_address(notification):
        return NotificationStatus.SUPPRESSED, "No email address on record."
    if notification.channel == Channel.SMS and not _phone(notification):
        return NotificationStatus.SUPPRESSED, "No mobile number on record."
    if (
        notification.audience == Audience.PATIENT
        and notification.channel == Channel.IN_APP
        and not notification.recipient_id
    ):
        return NotificationStatus.SUPPRESSED, "The patient has no login for in-app messages."
    return None


def _unconfigured(channel: str) -> str:
    """Why a channel cannot send on this service (empty when it can): a message on it is failed, never sent."""
    if channel == Channel.SMS and not sms_enabled():
        return "Not sent: text messages are switched off on this service (SMS_BACKEND=disabled)."
    if channel == Channel.EMAIL and settings.EMAIL_BACKEND == settings.EMAIL_DISABLED_BACKEND:
        return "Not sent: email is switched off on this service (EMAIL_BACKEND=disabled)."
    return ""


def _email_address(notification: Notification) -> str:
    if notification.audience == Audience.PATIENT:
        return notification.patient.email or (notification.recipient.email if notification.recipient else "")
    return notification.recipient.email if notification.recipient else ""


def _phone(notification: Notification) -> str:
    return notification.patient.phone if notification.audience == Audience.PATIENT else ""


def _send_external(notification: Notification) -> None:
    from recovery.services.reminders.messages import render

    message = render(notification)
    if notification.channel == Channel.EMAIL:
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text,
            to=[_email_address(notification)],
            headers={"Message-ID": f"<{notification.uuid}@recovery-tracker>"},
        )
        email.attach_alternative(message.html, "text/html")
        email.send(fail_silently=False)
    elif notification.channel == Channel.SMS:
        sms_backend().send(to=_phone(notification), text=message.text, reference=str(notification.uuid))


def _staff_for(notification: Notification) -> list[User]:
    centre = notification.patient.centre
    staff = User.objects.filter(memberships__centre=centre, is_active=True).distinct().order_by("id")
    kind = notification.kind
    if kind == NotificationKind.MISSED_CHECKIN_TASK:
        return list(staff.filter(role=Role.COORDINATOR))
    if kind == NotificationKind.MISSED_LAB_TASK:
        return list(staff.filter(role=Role.COORDINATOR))
    if kind in (NotificationKind.MISSED_CHECKIN_CLINICIAN, NotificationKind.PROPHYLAXIS_REVIEW):
        return list(staff.filter(role=Role.CLINICIAN))
    if kind == NotificationKind.ALERT_ON_CALL:
        on_call = centre.on_call_clinician
        if on_call is not None and on_call.is_active:
            return [on_call]
        return list(staff.filter(role=Role.CLINICIAN))
    return list(staff.filter(role__in=[Role.COORDINATOR, Role.CLINICIAN]))


def _fan_out(step: Notification, now: datetime) -> int:
    """Turn a care-team step into a task (missed check-in) and messages to each member of staff concerned."""
    if step.kind == NotificationKind.MISSED_CHECKIN_TASK:
        CareTask.objects.get_or_create(
            patient=step.patient,
            kind=TASK_MISSED_CHECKIN,
            key=step.key.split(":", 1)[1],
            defaults={
                "checkin_due_at": step.about_at or step.due_at,
                "high_risk": step.safety_critical,
                "created_at": now,
            },
        )
    if step.kind == NotificationKind.MISSED_LAB_TASK:
        CareTask.objects.get_or_create(
            patient=step.patient,
            kind=TASK_MISSED_LAB,
            key=step.key.split(":", 1)[1],
            defaults={"checkin_due_at": step.about_at or step.due_at, "high_risk": False, "created_at": now},
        )
    rows = []
    for user in _staff_for(step):
        channels = [Channel.IN_APP] + ([Channel.EMAIL] if user.email else [])
        for channel in channels:
            rows.append(
                Notification(
                    patient=step.patient,
                    recipient=user,
                    audience=Audience.STAFF,
                    kind=step.kind,
                    channel=channel,
                    key=step.key,
                    dedupe_key=dedupe_key(step.patient_id, step.key, channel, f"u{user.pk}"),
                    due_at=now,
                    next_attempt_at=now,
                    local_date=step.local_date,
                    safety_critical=step.safety_critical,
                    about_at=step.about_at,
                    alert_id=step.alert_id,
                    detail=step.detail,
                    step=step,
                    config_version=step.config_version,
                )
            )
    return len(Notification.objects.bulk_create(rows, ignore_conflicts=True))


def _deliver(ids: list[int], token: uuid.UUID, now: datetime, result: DispatchResult) -> None:
    rows = (
        Notification.objects.filter(id__in=ids, claim_token=token)
        .select_related("patient__centre", "patient__user", "recipient", "alert", "event", "patient__reminder_settings")
        .order_by("next_attempt_at", "id")
    )
    rows = list(rows)
    configs: dict[int, ActiveConfig] = {}
    patient_ids = {row.patient_id for row in rows}
    reports = SymptomReport.objects.filter(patient_id__in=patient_ids, created_at__lte=now)
    latest = Latest(
        *(
            dict(chosen.values("patient_id").annotate(latest=Max("created_at")).values_list("patient_id", "latest"))
            for chosen in (reports, reports.filter(temperature_c__isnull=False))
        ),
        frozenset(temperature_moments(patient_ids)),
    )
    delivered_in_app: list[int] = []
    for notification in rows:
        centre_id = notification.patient.centre_id
        config = configs.get(centre_id) or configs.setdefault(centre_id, active_config(centre_id))
        try:
            # the reason is stored (status_reason) in English, whatever language the caller runs in
            with translation.override("en"):
                refusal = _why_not(notification, now, config, latest)
            if refusal is not None:
                status, reason = refusal
                if _finish(notification, token, status, reason):
                    setattr(result, str(status), getattr(result, str(status)) + 1)
                continue
            if notification.audience == Audience.CARE_TEAM:
                with transaction.atomic():
                    result.fanned_out += _fan_out(notification, now)
                    if _finish(notification, token, NotificationStatus.SENT, sent_at=timezone.now()):
                        result.sent += 1
                continue
            if notification.channel == Channel.IN_APP:
                delivered_in_app.append(notification.pk)
                continue
            # The claim must still be ours (a slow batch can outlive its lease and another dispatcher may
            # have claimed the row since): renew it just before sending, or leave the row to the other one.
            renewed = Notification.objects.filter(
                pk=notification.pk, claim_token=token, status=NotificationStatus.PENDING
            ).update(lease_until=timezone.now() + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS))
            if not renewed:
                continue
            _send_external(notification)
            if _finish(notification, token, NotificationStatus.SENT, sent_at=timezone.now()):
                result.sent += 1
        except Exception as exc:  # any sender error: recorded on the row, and the others still go
            logger.warning("Notification %s failed: %s", notification.uuid, exc)
            outcome = _retry_or_fail(notification, token, f"{type(exc).__name__}: {exc}", now)
            setattr(result, outcome, getattr(result, outcome) + 1)
            result.reasons.append(str(exc))
    if delivered_in_app:
        # In-app delivery is this UPDATE: the inbox shows sent rows.
        result.sent += Notification.objects.filter(
            id__in=delivered_in_app, claim_token=token, status=NotificationStatus.PENDING
        ).update(status=NotificationStatus.SENT, sent_at=timezone.now(), lease_until=None, claim_token=None)


def dispatch_due(
    *, now: datetime | None = None, budget_seconds: float | None = None, limit: int | None = None
) -> DispatchResult:
    """Send what is due, batch by batch, until nothing is due or the time budget is spent."""
    budget = settings.NOTIFY_TASK_BUDGET_SECONDS if budget_seconds is None else budget_seconds
    batch = limit or settings.NOTIFY_BATCH_SIZE
    started = time.monotonic()
    result = DispatchResult()
    fixed_now = now
    while True:
        moment = fixed_now or timezone.now()
        token, ids = claim_due(now=moment, limit=batch)
        if not ids:
            break
        result.claimed += len(ids)
        _deliver(ids, token, moment, result)
        if time.monotonic() - started > budget:
            break
    return result
