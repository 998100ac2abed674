"""Reminders and messages: planned into rows, claimed by the dispatcher, sent once.

The database is the source of truth (style rules 8-10):

* **Planning** (`plan_reminders`) turns the pure schedule of `recovery/clinical/reminders.py` into
  `Notification` rows for the next `REMINDER_PLAN_AHEAD_DAYS` days: one per slot and channel, and for
  each check-in the steps that follow if it is missed. Each row's `dedupe_key` is unique, so planning
  twice changes nothing; a moved date cancels the rows that no longer apply and adds the new ones. A
  patient who is withdrawn, deceased or on hold gets no reminders (all pending ones are cancelled).
  Planning runs whenever something it depends on changes and every `REMINDER_PLAN_INTERVAL_SECONDS`.
* **Dispatching** (`dispatch_due`) claims due rows atomically (`select_for_update(skip_locked=True)` on
  PostgreSQL, a conditional UPDATE elsewhere) for `NOTIFY_LEASE_SECONDS`, checks that each still applies,
  sends it and records the outcome with an UPDATE conditional on its claim. A claim not completed within
  its lease can be claimed again; a failing row is retried with exponential backoff and finally `failed`
  with its reason. Two dispatchers at once claim different rows.
* **Steps** (rows for the care team, without a recipient): a missed check-in's task and an unacknowledged
  alert's escalation. When due and still applicable they become messages to the staff concerned.

In-app delivery is the row itself (the inbox lists sent in-app rows), so it is exactly once. Email and
SMS carry the row's UUID (`Message-ID`, `Idempotency-Key`) so that the far side can drop a repeat in the
one case a repeat can happen: a worker that dies after the provider accepted a message and before the
database recorded it.
"""

import logging
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from accounts.models import Role, User
from recovery.clinical.reminders import (
    SAFETY_CRITICAL_KINDS,
    ReminderKind,
    Step,
    alert_escalation_steps,
    apply_quiet_hours,
    appointment_slots,
    checkin_slots,
    high_risk_window,
    missed_checkin_steps,
)
from recovery.clinical.timeline import EventStatus
from recovery.models import (
    CHECKIN_KINDS,
    Alert,
    AlertStatus,
    Audience,
    CareTask,
    CareTaskStatus,
    Channel,
    Notification,
    NotificationKind,
    NotificationStatus,
    Patient,
    PatientStatus,
    ReminderSettings,
    SymptomReport,
)
from recovery.queries.configuration import ActiveConfig, active_config
from recovery.queries.timeline import episode_dates, episode_of
from recovery.services.audit import AuditContext, record_event
from recovery.services.care_reminders import planned as care_planned
from recovery.services.care_reminders import why_not as care_why_not
from recovery.sms import get_backend as sms_backend

logger = logging.getLogger(__name__)

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
# Labs, prophylaxis and vaccination (planned by recovery.services.care_reminders).
CARE_KINDS = frozenset(
    {
        NotificationKind.VACCINATION_DUE,
        NotificationKind.LAB_DUE,
        NotificationKind.PROPHYLAXIS_REMINDER,
        NotificationKind.PROPHYLAXIS_REVIEW,
        NotificationKind.MISSED_LAB_TASK,
    }
)
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


# --- the patient's settings -------------------------------------------------------------------------


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
    if patient.status != PatientStatus.ACTIVE:
        return f"The patient is {patient.get_status_display().lower()}."
    if prefs.on_hold:
        return "Reminders are on hold" + (f": {prefs.hold_reason}" if prefs.hold_reason else ".")
    return ""


# --- planning ------------------------------------------------------------------------------------------


@dataclass
class PlanResult:
    created: int = 0
    updated: int = 0
    cancelled: int = 0
    restored: int = 0


@dataclass(frozen=True)
class _Planned:
    kind: str
    channel: str
    audience: str
    key: str
    due_at: datetime
    local_date: date | None
    safety_critical: bool
    about_at: datetime | None = None
    event_id: int | None = None
    detail: dict | None = None


def dedupe_key(patient_id: int, key: str, channel: str, recipient: str) -> str:
    return f"p{patient_id}|{key}|{channel}|{recipient}"


def _wanted(patient: Patient, config: ActiveConfig, prefs: ReminderSettings, today: date) -> list[_Planned]:
    episode = episode_of(patient)
    if episode is None or receives_reminders(patient, prefs):
        return []
    rconfig = effective_reminder_config(config, prefs)
    tz = patient.timezone
    dates = episode_dates(episode)
    first, last = today - timedelta(days=1), today + timedelta(days=settings.REMINDER_PLAN_AHEAD_DAYS)
    window = high_risk_window(dates.reinfusion, dates.neutrophil_engraftment, rconfig)
    channels = patient_channels(patient, prefs)
    planned: list[_Planned] = []
    chained: set[str] = set()
    # Check-ins are answered in the app. A patient without a login gets the high-risk window's temperature
    # reminders by text message and email (when to measure, and to call the unit at once with a fever or when
    # unwell), without a missed-check-in chain, and appointment reminders.
    checkins = checkin_slots(dates, first, last, tz, rconfig) if patient.user_id else []
    if not patient.user_id and rconfig.no_login_temperature_reminders:
        for slot in checkin_slots(dates, first, last, tz, rconfig):
            if slot.kind == ReminderKind.TEMPERATURE_CHECKIN and window is not None and slot.local_date in window:
                for channel in no_login_channels(patient):
                    planned.append(
                        _Planned(slot.kind, channel, Audience.PATIENT, slot.key, slot.due_at, slot.local_date, True)
                    )
    for slot in checkins:
        critical = ReminderKind(slot.kind) in SAFETY_CRITICAL_KINDS
        for channel in channels:
            planned.append(
                _Planned(slot.kind, channel, Audience.PATIENT, slot.key, slot.due_at, slot.local_date, critical)
            )
        # One chain per check-in time: the temperature and red-flag check-ins at 08:00 are one answer.
        moment = slot.key.split(":", 1)[1]
        if moment in chained:
            continue
        chained.add(moment)
        in_window = window is not None and slot.local_date in window
        for step, at in missed_checkin_steps(slot.due_at, in_window, rconfig):
            kind = CHAIN_STEP_KINDS[Step(step)]
            key = f"{kind}:{moment}"
            if kind == NotificationKind.MISSED_CHECKIN:
                sent_at = at if in_window else apply_quiet_hours(at, tz, False, rconfig)
                for channel in channels:
                    planned.append(
                        _Planned(kind, channel, Audience.PATIENT, key, sent_at, slot.local_date, in_window, slot.due_at)
                    )
            else:
                planned.append(
                    _Planned(kind, Channel.IN_APP, Audience.CARE_TEAM, key, at, slot.local_date, in_window, slot.due_at)
                )
    events = [
        (str(event.uuid), event.planned_date, event.kind, event.pk)
        for event in episode.events.filter(
            status=EventStatus.PLANNED, planned_date__gte=first, planned_date__lte=last + timedelta(days=1)
        )
    ]
    ids = {uuid_: pk for uuid_, _, _, pk in events}
    for slot in appointment_slots([(u, d, k) for u, d, k, _ in events], tz, rconfig):
        event_id = ids[slot.key.split(":")[1]]
        for channel in channels:
            planned.append(
                _Planned(
                    slot.kind, channel, Audience.PATIENT, slot.key, slot.due_at, slot.local_date, False, None, event_id
                )
            )
    for item in care_planned(
        patient=patient, episode=episode, first=first, last=last, channels=channels, config=config, reminders=rconfig
    ):
        planned.append(_Planned(**item))
    return planned


@transaction.atomic
def plan_reminders(patient: Patient, *, now: datetime | None = None) -> PlanResult:
    """Bring the patient's planned rows in line with their timeline, settings and status (idempotent)."""
    now = now or timezone.now()
    Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one planner at a time per patient
    config = active_config(patient.centre_id)
    prefs = reminder_settings(patient)
    today = now.astimezone(ZoneInfo(patient.timezone)).date()
    wanted = {
        dedupe_key(patient.pk, p.key, p.channel, "patient" if p.audience == Audience.PATIENT else "team"): p
        for p in _wanted(patient, config, prefs, today)
    }
    result = PlanResult()
    stopped = receives_reminders(patient, prefs)
    existing = Notification.objects.filter(patient=patient, kind__in=PLANNED_KINDS, step__isnull=True)
    # Rows that no longer apply: everything pending when reminders stopped, else pending rows of the
    # planned dates that the plan no longer has (a moved date, an engraftment that ended the window).
    stale = existing.filter(status=NotificationStatus.PENDING)
    if not stopped:
        stale = stale.filter(local_date__gte=today - timedelta(days=1)).exclude(dedupe_key__in=list(wanted))
    result.cancelled = stale.update(
        status=NotificationStatus.CANCELLED,
        status_reason=stopped or "No longer applies: the timeline or the settings changed.",
        lease_until=None,
        claim_token=None,
    )
    if stopped:
        return result
    current = {
        row.dedupe_key: row
        for row in existing.filter(dedupe_key__in=list(wanted)).only(
            "id", "dedupe_key", "due_at", "status", "safety_critical"
        )
    }
    recipient = patient.user_id
    new_rows = []
    for key, planned in wanted.items():
        row = current.get(key)
        if row is None:
            late = now - planned.due_at
            if late > timedelta(minutes=1) and not (
                planned.kind in CARE_KINDS and late <= timedelta(minutes=config.reminders.stale_after_minutes)
            ):
                # Planned after its time (a new patient, a moved date): a check-in's moment has passed; a
                # reminder of today's medicine, vaccination or lab (engraftment confirmed at noon) still goes.
                continue
            new_rows.append(
                Notification(
                    patient=patient,
                    recipient_id=recipient if planned.audience == Audience.PATIENT else None,
                    audience=planned.audience,
                    kind=planned.kind,
                    channel=planned.channel,
                    key=planned.key,
                    dedupe_key=key,
                    due_at=planned.due_at,
                    next_attempt_at=planned.due_at,
                    local_date=planned.local_date,
                    safety_critical=planned.safety_critical,
                    about_at=planned.about_at,
                    event_id=planned.event_id,
                    detail=planned.detail or {},
                    config_version=config.version,
                )
            )
        elif row.status == NotificationStatus.PENDING and row.due_at != planned.due_at:
            # Same reminder, new time (the patient moved to another time zone or changed quiet hours).
            result.updated += Notification.objects.filter(pk=row.pk, status=NotificationStatus.PENDING).update(
                due_at=planned.due_at, next_attempt_at=planned.due_at
            )
        elif row.status == NotificationStatus.CANCELLED and planned.due_at >= now:
            # Cancelled earlier (a hold, a date moved and back) and wanted again: never sent, so send it.
            result.restored += Notification.objects.filter(pk=row.pk, status=NotificationStatus.CANCELLED).update(
                status=NotificationStatus.PENDING,
                status_reason="",
                due_at=planned.due_at,
                next_attempt_at=planned.due_at,
                attempts=0,
            )
    created = Notification.objects.bulk_create(new_rows, ignore_conflicts=True, batch_size=500)
    result.created = len(created)
    return result


def patients_to_plan(now: datetime | None = None):
    """Active patients with a Day 0 or a planned event ahead: everyone whose reminders may still be due.

    Without an upper bound on Day 0's age: vaccinations run to month 30 and surveillance labs for years.
    """
    now = now or timezone.now()
    return (
        Patient.objects.filter(status=PatientStatus.ACTIVE, episode__isnull=False)
        .filter(
            Q(episode__reinfusion_date__isnull=False)
            | Q(
                episode__events__status=EventStatus.PLANNED,
                episode__events__planned_date__gte=now.date() - timedelta(days=1),
                episode__events__planned_date__lte=now.date() + timedelta(days=settings.REMINDER_PLAN_AHEAD_DAYS + 1),
            )
        )
        .distinct()
        .select_related("centre")
    )


def plan_all_reminders(*, now: datetime | None = None) -> PlanResult:
    total = PlanResult()
    for patient in patients_to_plan(now):
        result = plan_reminders(patient, now=now)
        total.created += result.created
        total.updated += result.updated
        total.cancelled += result.cancelled
        total.restored += result.restored
    return total


# --- alerts -------------------------------------------------------------------------------------------


def plan_alert_escalation(alert: Alert, *, since: datetime) -> int:
    """Escalation steps for an open alert at its current severity, counted from `since` (when it was raised
    or its severity went up); idempotent per severity. Returns the rows created."""
    patient = alert.patient
    config = active_config(patient.centre_id)
    start = since
    rows = []
    for step, at in alert_escalation_steps(
        start, alert.severity, patient.centre.timezone, config.reminders, config.alerts
    ):
        kind = ALERT_STEP_KINDS[Step(step)]
        key = f"{kind}:alert:{alert.uuid}:{alert.severity}"
        rows.append(
            Notification(
                patient=patient,
                audience=Audience.CARE_TEAM,
                kind=kind,
                channel=Channel.IN_APP,
                key=key,
                dedupe_key=dedupe_key(patient.pk, key, Channel.IN_APP, "team"),
                due_at=at,
                next_attempt_at=at,
                safety_critical=True,
                alert=alert,
                about_at=start,
                config_version=config.version,
            )
        )
    return len(Notification.objects.bulk_create(rows, ignore_conflicts=True))


# --- answers ---------------------------------------------------------------------------------------------


def record_answer(patient: Patient, at: datetime) -> int:
    """A report at `at` answers the check-ins due up to `answer_lead_minutes` later and closes missed chains.

    Returns how many pending chain rows it cancelled. Open missed-check-in tasks it answers are closed.
    """
    config = active_config(patient.centre_id).reminders
    horizon = at + timedelta(minutes=config.answer_lead_minutes)
    since = at - timedelta(minutes=2 * max(config.grace_high_risk_minutes, config.grace_later_minutes))
    Notification.objects.filter(
        patient=patient, kind__in=CHECKIN_KINDS, answered_at__isnull=True, due_at__lte=horizon, due_at__gte=since
    ).update(answered_at=at)
    cancelled = Notification.objects.filter(
        patient=patient, kind__in=CHAIN_KINDS, status=NotificationStatus.PENDING, about_at__lte=horizon
    ).update(
        status=NotificationStatus.CANCELLED,
        status_reason=f"Answered: the patient reported at {at:%Y-%m-%d %H:%M} UTC.",
        lease_until=None,
        claim_token=None,
    )
    CareTask.objects.filter(patient=patient, status=CareTaskStatus.OPEN, checkin_due_at__lte=horizon).update(
        status=CareTaskStatus.DONE, closed_at=at, closed_reason="The patient reported."
    )
    return cancelled


# --- dispatching -------------------------------------------------------------------------------------------


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


def _due(now: datetime):
    return Notification.objects.filter(status=NotificationStatus.PENDING, next_attempt_at__lte=now).filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    )


def claim_due(*, now: datetime, limit: int) -> tuple[uuid.UUID, list[int]]:
    """Claim up to `limit` due rows for a lease; no other dispatcher gets them until it ends."""
    token = uuid.uuid4()
    lease = now + timedelta(seconds=settings.NOTIFY_LEASE_SECONDS)
    claim = {"lease_until": lease, "claim_token": token, "attempts": F("attempts") + 1}
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            ids = list(
                _due(now)
                .order_by("next_attempt_at", "id")
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)[:limit]
            )
            Notification.objects.filter(id__in=ids).update(**claim)
        else:
            candidates = list(_due(now).order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
            # The conditions again, in the UPDATE itself: a row claimed meanwhile no longer matches.
            _due(now).filter(id__in=candidates).update(**claim)
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


def _answered(notification: Notification, lead_minutes: int, latest_report: datetime | None) -> bool:
    """Whether a report (the patient's latest up to now) answers the check-in this row is about."""
    due = notification.about_at or notification.due_at
    return latest_report is not None and latest_report >= due - timedelta(minutes=lead_minutes)


def _why_not(
    notification: Notification, now: datetime, config: ActiveConfig, latest_report: datetime | None
) -> tuple[str, str] | None:
    """(status, reason) when the row no longer applies or cannot be delivered; None to send it.

    `latest_report`: when the patient last reported, up to `now` (None if never)."""
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
    if answerable and _answered(notification, reminders.answer_lead_minutes, latest_report):
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


def _email_address(notification: Notification) -> str:
    if notification.audience == Audience.PATIENT:
        return notification.patient.email or (notification.recipient.email if notification.recipient else "")
    return notification.recipient.email if notification.recipient else ""


def _phone(notification: Notification) -> str:
    return notification.patient.phone if notification.audience == Audience.PATIENT else ""


def _send_external(notification: Notification) -> None:
    from recovery.services.messages import render

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
            kind="missed_checkin",
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
            kind="missed_lab",
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
    latest_reports = dict(
        SymptomReport.objects.filter(patient_id__in={row.patient_id for row in rows}, created_at__lte=now)
        .values("patient_id")
        .annotate(latest=Max("created_at"))
        .values_list("patient_id", "latest")
    )
    delivered_in_app: list[int] = []
    for notification in rows:
        centre_id = notification.patient.centre_id
        config = configs.get(centre_id) or configs.setdefault(centre_id, active_config(centre_id))
        try:
            refusal = _why_not(notification, now, config, latest_reports.get(notification.patient_id))
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


def due_count(now: datetime | None = None) -> int:
    return _due(now or timezone.now()).count()


def stalled_count(now: datetime | None = None) -> int:
    """Rows due more than five minutes ago and still pending (the dispatcher is not keeping up)."""
    now = now or timezone.now()
    return _due(now - timedelta(minutes=5)).count()


# --- people's actions ------------------------------------------------------------------------------------


@transaction.atomic
def update_reminder_settings(*, context: AuditContext, patient: Patient, changes: dict) -> ReminderSettings:
    """The patient's channels and quiet hours (both quiet-hour ends, or neither: the centre's default)."""
    prefs = reminder_settings(patient)
    for name in ("email_enabled", "sms_enabled", "quiet_start", "quiet_end"):
        if name in changes:
            setattr(prefs, name, changes[name])
    if (prefs.quiet_start is None) != (prefs.quiet_end is None):
        raise ValidationError({"quiet_end": "Give both the start and the end of quiet hours, or neither."})
    prefs.save()
    record_event(
        context=context,
        action="reminders.settings",
        patient=patient,
        detail={k: str(v) for k, v in changes.items()},
    )
    plan_reminders(patient)
    return prefs


@transaction.atomic
def set_reminder_hold(*, context: AuditContext, patient: Patient, on_hold: bool, reason: str = "") -> ReminderSettings:
    """A coordinator's hold (e.g. readmitted): no reminders until lifted; planning never lifts it."""
    reason = (reason or "").strip()
    if on_hold and not reason:
        raise ValidationError({"hold_reason": "Say why reminders are on hold (e.g. readmitted to the ward)."})
    prefs = reminder_settings(patient)
    prefs.on_hold, prefs.hold_reason = on_hold, reason if on_hold else ""
    prefs.hold_changed_at, prefs.hold_changed_by = timezone.now(), context.actor
    prefs.save()
    record_event(
        context=context,
        action="reminders.hold" if on_hold else "reminders.release",
        patient=patient,
        detail={"reason": reason},
    )
    plan_reminders(patient)
    return prefs


def mark_read(*, user: User, ids=None) -> int:
    """Mark the user's in-app notifications read (all of them, or those with the given UUIDs)."""
    rows = inbox(user).filter(read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(uuid__in=ids)
    return rows.update(read_at=timezone.now())


def inbox(user: User):
    """The user's in-app notifications that have been delivered, newest first."""
    return (
        Notification.objects.filter(recipient=user, channel=Channel.IN_APP, status=NotificationStatus.SENT)
        .select_related("patient__centre", "alert", "event")
        .order_by("-sent_at", "-id")
    )


def unread_count(user: User) -> int:
    return inbox(user).filter(read_at__isnull=True).count()


@transaction.atomic
def close_care_task(*, context: AuditContext, task: CareTask, reason: str = "") -> CareTask:
    """Done: the coordinator reached the patient (or decided nothing is needed). Closing twice changes nothing."""
    task = CareTask.objects.select_for_update().get(pk=task.pk)
    if task.status == CareTaskStatus.DONE:
        return task
    task.status, task.closed_at, task.closed_by = CareTaskStatus.DONE, timezone.now(), context.actor
    task.closed_reason = (reason or "").strip() or "Done."
    task.save()
    record_event(context=context, action="task.close", patient=task.patient, detail={"task": str(task.uuid)})
    return task
