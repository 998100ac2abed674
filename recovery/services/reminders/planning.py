"""Reminders and messages: planned into rows, claimed by the dispatcher, sent once.

The database is the source of truth (style rules 8-10):

* **Planning** (`plan_reminders`) turns the pure schedule of `recovery/clinical/reminders.py` into
  `Notification` rows for the next `REMINDER_PLAN_AHEAD_DAYS` days: one per slot and channel, and for
  each check-in the steps that follow if it is missed. Each row's `dedupe_key` is unique, so planning
  twice changes nothing; a moved date cancels the rows that no longer apply and adds the new ones. A
  patient who is withdrawn, deceased or on hold gets no reminders (all pending ones are cancelled).
  Planning runs whenever something it depends on changes, and again when the patient's planning horizon
  (`Patient.reminders_planned_until`) needs extending: the hourly planning dispatcher (`horizon.py`) hands
  those patients out in batch tasks, soonest horizon first. Nothing is planned from Day 0 after the end of
  follow-up (`recovery/clinical/follow_up.py`).
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

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from accounts.models import Centre, User
from recovery.clinical.follow_up import follow_up_end
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
    TimelineEvent,
)
from recovery.queries.configuration import ActiveConfig, active_config, active_configs
from recovery.queries.follow_up import in_follow_up
from recovery.queries.reminders import (
    ALERT_STEP_KINDS,
    CARE_KINDS,
    CHAIN_KINDS,
    CHAIN_STEP_KINDS,
    PLANNED_KINDS,
    TASK_MISSED_CHECKIN,
    dedupe_key,
    effective_reminder_config,
    inbox,
    no_login_channels,
    patient_channels,
    receives_reminders,
    reminder_settings,
    temperature_moments,
)
from recovery.queries.timeline import episode_dates, episode_of
from recovery.services.audit import AuditContext, record_event, snapshot
from recovery.services.audit import changes as audit_changes
from recovery.services.reminders.care import planned as care_planned
from recovery.services.reminders.replan import request_replan

# --- the patient's settings -------------------------------------------------------------------------


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


def _follow_up_end(dates, config: ActiveConfig) -> date:
    return follow_up_end(
        dates.reinfusion,
        config.reminders,
        config.surveillance,
        config.vaccination,
        config.prophylaxis,
        dates.neutrophil_engraftment,
    )


def _wanted(patient: Patient, config: ActiveConfig, prefs: ReminderSettings, today: date) -> list[_Planned]:
    episode = episode_of(patient)
    if episode is None or receives_reminders(patient, prefs):
        return []
    rconfig = effective_reminder_config(config, prefs)
    tz = patient.timezone
    dates = episode_dates(episode)
    first, ahead = today - timedelta(days=1), today + timedelta(days=settings.REMINDER_PLAN_AHEAD_DAYS)
    # What follows from Day 0 (check-ins, medicines, vaccinations, labs) stops at the end of follow-up
    # (`recovery/clinical/follow_up.py`); planned appointments are reminded of whenever they are ahead.
    last = min(ahead, _follow_up_end(dates, config)) if dates.reinfusion else ahead
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
            status=EventStatus.PLANNED, planned_date__gte=first, planned_date__lte=ahead + timedelta(days=1)
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
    """Bring the patient's planned rows in line with their timeline, settings and status (idempotent), and
    clear the patient's "needs re-planning" mark (`services/reminders/replan.py`)."""
    now = now or timezone.now()
    # one planner at a time per patient; what it reads below is read after the lock, not from caches
    locked = Patient.objects.select_for_update().filter(pk=patient.pk).values_list("reminders_stale_since", flat=True)
    stale_since = next(iter(locked), None)
    if stale_since is not None:
        Patient.objects.filter(pk=patient.pk, reminders_stale_since=stale_since).update(reminders_stale_since=None)
    # the new planning horizon, and the planning dispatcher's lease ends (`horizon.py`)
    Patient.objects.filter(pk=patient.pk).update(
        reminders_planned_until=now + timedelta(days=settings.REMINDER_PLAN_AHEAD_DAYS),
        reminders_plan_claimed_until=None,
    )
    for cached in ("episode", "reminder_settings"):
        patient._state.fields_cache.pop(cached, None)
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


def plan_stale_reminders(*, limit: int = 200) -> int:
    """Plan the patients whose reminders a write marked as needing it (the sweep behind the after-commit
    wake-ups: a wake-up lost with Redis or a worker is made good here). Returns how many were planned."""
    ids = list(
        Patient.objects.filter(reminders_stale_since__isnull=False)
        .order_by("reminders_stale_since")
        .values_list("pk", flat=True)[:limit]
    )
    for patient in Patient.objects.filter(pk__in=ids).select_related("centre"):
        plan_reminders(patient)
    return len(ids)


def _in_follow_up(today: date) -> Q:
    """Patients with a Day 0 whose follow-up has not ended by `today`, per their centre's configuration: two
    queries, however many patients."""
    return in_follow_up(today, active_configs(list(Centre.objects.values_list("pk", flat=True))))


def patients_to_plan(now: datetime | None = None):
    """Active patients who may still have reminders to plan: in follow-up (a Day 0 whose follow-up has not
    ended), or with a planned event within the planning window. Patients past follow-up are left out."""
    now = now or timezone.now()
    # a day of slack either side: a patient's own date may be a day behind or ahead of UTC's
    appointment_ahead = TimelineEvent.objects.filter(
        episode__patient=OuterRef("pk"),
        status=EventStatus.PLANNED,
        planned_date__gte=now.date() - timedelta(days=2),
        planned_date__lte=now.date() + timedelta(days=settings.REMINDER_PLAN_AHEAD_DAYS + 2),
    )
    return (
        Patient.objects.active()
        .filter(status=PatientStatus.ACTIVE, episode__isnull=False)
        .filter(_in_follow_up(now.date() - timedelta(days=1)) | Q(Exists(appointment_ahead)))
        .select_related("centre")
    )


def plan_all_reminders(*, now: datetime | None = None) -> PlanResult:
    """Plan every patient in `patients_to_plan` in this one call (for tests and commands; beat runs the
    planning dispatcher instead, `horizon.py`)."""
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

# What a report answers in the patient's inbox: the check-in prompts and "we have not heard from you".
ANSWERED_BY_A_REPORT = CHECKIN_KINDS | {NotificationKind.MISSED_CHECKIN}


def record_answer(patient: Patient, at: datetime, *, with_temperature: bool) -> int:
    """A report at `at` answers the check-ins due up to `answer_lead_minutes` later and closes missed chains.

    Returns how many pending chain rows it cancelled. Open missed-check-in tasks it answers are closed.
    """
    config = active_config(patient.centre_id).reminders
    horizon = at + timedelta(minutes=config.answer_lead_minutes)
    since = at - timedelta(minutes=2 * max(config.grace_high_risk_minutes, config.grace_later_minutes))
    # Without a temperature ("I feel fine") it answers no temperature reminder, nor the chain and task of a moment
    # that asks for one (`clinical.reminders.answers_reminder`, hazard H-40).
    moments = set() if with_temperature else {moment for _id, moment in temperature_moments([patient.pk])}
    skip = Q(key__in=[f"{kind}:{moment}" for kind in CHAIN_KINDS for moment in moments])
    if not with_temperature:
        skip |= Q(kind=NotificationKind.TEMPERATURE_CHECKIN)
    mine = Notification.objects.filter(patient=patient).exclude(skip)
    mine.filter(kind__in=CHECKIN_KINDS, answered_at__isnull=True, due_at__lte=horizon, due_at__gte=since).update(
        answered_at=at
    )
    # The patient's check-in prompts delivered before the report are answered: no longer unread in their inbox.
    mine.filter(
        audience=Audience.PATIENT,
        channel=Channel.IN_APP,
        kind__in=ANSWERED_BY_A_REPORT,
        status=NotificationStatus.SENT,
        read_at__isnull=True,
        sent_at__lte=at,
    ).update(read_at=at)
    cancelled = mine.filter(kind__in=CHAIN_KINDS, status=NotificationStatus.PENDING, about_at__lte=horizon).update(
        status=NotificationStatus.CANCELLED,
        status_reason=f"Answered: the patient reported at {at:%Y-%m-%d %H:%M} UTC.",
        lease_until=None,
        claim_token=None,
    )
    # only missed check-ins: a report says nothing about a missed lab draw (that task stays for the coordinator)
    CareTask.objects.filter(
        patient=patient, kind=TASK_MISSED_CHECKIN, status=CareTaskStatus.OPEN, checkin_due_at__lte=horizon
    ).exclude(key__in=moments).update(status=CareTaskStatus.DONE, closed_at=at, closed_reason="The patient reported.")
    return cancelled


# --- dispatching -------------------------------------------------------------------------------------------


# --- people's actions ------------------------------------------------------------------------------------


REMINDER_SETTINGS_FIELDS = ("email_enabled", "sms_enabled", "quiet_start", "quiet_end")


@transaction.atomic
def update_reminder_settings(*, context: AuditContext, patient: Patient, changes: dict) -> ReminderSettings:
    """The patient's channels and quiet hours (both quiet-hour ends, or neither: the centre's default)."""
    new_values = changes
    prefs = reminder_settings(patient)
    before = snapshot(prefs, REMINDER_SETTINGS_FIELDS)
    for name in REMINDER_SETTINGS_FIELDS:
        if name in new_values:
            setattr(prefs, name, new_values[name])
    if (prefs.quiet_start is None) != (prefs.quiet_end is None):
        raise ValidationError({"quiet_end": "Give both the start and the end of quiet hours, or neither."})
    prefs.save()
    record_event(
        context=context,
        action="reminders.settings",
        patient=patient,
        detail={"changes": audit_changes(before, prefs, REMINDER_SETTINGS_FIELDS)},
    )
    request_replan(patient)
    return prefs


@transaction.atomic
def set_reminder_hold(*, context: AuditContext, patient: Patient, on_hold: bool, reason: str = "") -> ReminderSettings:
    """A coordinator's hold (e.g. readmitted): no reminders until lifted; planning never lifts it."""
    reason = (reason or "").strip()
    if on_hold and not reason:
        raise ValidationError({"hold_reason": "Say why reminders are on hold (e.g. readmitted to the ward)."})
    prefs = reminder_settings(patient)
    before = snapshot(prefs, ("on_hold", "hold_reason"))
    prefs.on_hold, prefs.hold_reason = on_hold, reason if on_hold else ""
    prefs.hold_changed_at, prefs.hold_changed_by = timezone.now(), context.actor
    prefs.save()
    record_event(
        context=context,
        action="reminders.hold" if on_hold else "reminders.release",
        patient=patient,
        detail={"reason": reason, "changes": audit_changes(before, prefs, ("on_hold", "hold_reason"))},
    )
    request_replan(patient)
    return prefs


def mark_read(*, user: User, ids=None) -> int:
    """Mark the user's in-app notifications read (all of them, or those with the given UUIDs)."""
    rows = inbox(user).filter(read_at__isnull=True)
    if ids is not None:
        rows = rows.filter(uuid__in=ids)
    return rows.update(read_at=timezone.now())


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
