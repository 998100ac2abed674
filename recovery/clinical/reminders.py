"""Reminder slots, quiet hours and escalation steps (domain.md section 8 items 11-15 and 25-27).

Pure rules: dates, times and zone names in, plain values out. There is no clock (the caller says which
dates to plan) and no database; every threshold comes from a `ReminderConfig` (see `config.py`).

Check-in reminders, by the patient's local date (Day numbers count from Day 0, all bounds inclusive):

=================================  ==============================================================
local date                         reminders
=================================  ==============================================================
before Day 0                       none
in the high-infection-risk window  temperature at each of `temperature_times` (08:00 and 20:00) and a
                                   red-flag check-in at `red_flag_time` (08:00), every day
after it, through D+100            a check-in at `checkin_time` on `early_recovery_weekdays` (Mon, Wed, Fri)
after that, through D+180          a check-in at `checkin_time` on `weekly_weekday` (Monday)
later                              none
=================================  ==============================================================

* The window runs from Day 0 through Day 0 + `high_risk_days_after_day0` (D+30), or through neutrophil
  engraftment + `high_risk_days_after_engraftment` (14 days) when that is later. While engraftment is not
  recorded the window stays open (`Window.end` is `date.max`): a patient who has not engrafted is still
  neutropenic, so the twice-daily reminders go on, however long that takes (as `phases.py` keeps such a
  patient in aplasia). Engraftment dated before Day 0 counts as engraftment on Day 0, and engraftment
  without a Day 0 is ignored (as in `phases.py`).
* The D+90 to D+100 overlap in the issue (early recovery "to D+100", the three-to-six-month recovery
  "D+90 to D+180") is resolved in favour of the more frequent schedule: three a week through D+100
  (`early_recovery_end_day`), weekly from D+101 through D+180 (`recovery_end_day`), as in domain.md
  section 8 item 12 ("3x/week D+31-D+100; weekly to M6"). A window that outlasts D+100 (late engraftment)
  wins over both; the days after it follow the table.

Appointments: for each visit, lab, scan (any kind in `appointment_kinds`) a reminder on the evening before
at `appointment_eve_time` and one on the morning of the planned date at `appointment_morning_time`.

Keys: a slot's key is unique and stable for one patient and becomes the database's unique key, so planning
the same dates twice, or overlapping ranges, can never create a second reminder.

* Check-ins: ``"<kind>:<local date>T<HH:MM>"`` with the configured local wall time, e.g.
  ``"temperature_checkin:2026-11-20T08:00"``. The key names the wall time as configured, not the instant:
  it stays the same when a spring-gap time is moved forward, when quiet hours delay the message, and when
  the patient's time zone changes (then the stored row's `due_at` is updated, not duplicated). Changing a
  configured time gives new keys; cancelling the old slots is the scheduler's job.
* Appointments: ``"<kind>:<event key>:<planned date>"`` (the event's planned date, for both reminders), so
  moving an event gives new keys and the scheduler cancels the old ones.

Time: every slot is computed in the patient's zone and returned as an aware UTC datetime (`to_utc`), so a
08:00 reminder is at 08:00 local on the days the clocks change too. A wall time that does not exist (the
spring gap) moves forward to the first valid minute (02:30 on the spring-forward night in Stockholm is
03:00 CEST). An ambiguous one (the autumn hour that happens twice) uses the first occurrence, the one still
in summer time (02:30 on the autumn night in Stockholm is 02:30 CEST, 00:30 UTC): a reminder is never
later than its wall time says.

Quiet hours (`quiet_start` to `quiet_end`, local, may cross midnight; start inclusive, end exclusive)
delay routine messages to the end of quiet hours. Safety-critical ones (`SAFETY_CRITICAL_KINDS`: the
high-risk window's temperature and red-flag check-ins; escalations of missed high-risk check-ins and of
alerts) are never delayed. `checkin_slots` and `appointment_slots` already apply them: a slot's `due_at`
is when to send it.

Missed check-ins and unacknowledged alerts: see `missed_checkin_steps` and `alert_escalation_steps`.
Graces and escalation delays are elapsed time (computed in UTC), so "24 hours later" is 24 real hours
even across a clock change.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from recovery.clinical.alerts import response_due
from recovery.clinical.config import DEFAULT_ALERT_CONFIG, DEFAULT_REMINDER_CONFIG, AlertConfig, ReminderConfig
from recovery.clinical.phases import EpisodeDates
from recovery.clinical.triage import Severity

# `Window.end` while engraftment is not recorded: the window has no known end yet.
OPEN_END = date.max

# The longest clock jump searched for the first valid minute after a gap (the largest on record is a whole
# day, Samoa on 30 Dec 2011). A technical bound, not a clinical threshold.
_MAX_GAP = timedelta(hours=48)
_MINUTE = timedelta(minutes=1)


class ReminderKind(StrEnum):
    """What a reminder asks the patient to do (stored on the reminder row)."""

    TEMPERATURE_CHECKIN = "temperature_checkin"
    RED_FLAG_CHECKIN = "red_flag_checkin"
    CHECKIN = "checkin"
    APPOINTMENT_EVE = "appointment_eve"
    APPOINTMENT_MORNING = "appointment_morning"


# Reminders that quiet hours never delay.
SAFETY_CRITICAL_KINDS: frozenset[ReminderKind] = frozenset(
    {ReminderKind.TEMPERATURE_CHECKIN, ReminderKind.RED_FLAG_CHECKIN}
)


class Step(StrEnum):
    """Escalation steps of a missed check-in or an unacknowledged alert (equal to their plain strings)."""

    REMIND_PATIENT = "remind_patient"
    TASK_COORDINATOR = "task_coordinator"
    NOTIFY_CLINICIAN = "notify_clinician"
    RESEND_CARE_TEAM = "resend_care_team"
    ON_CALL_CLINICIAN = "on_call_clinician"
    ESCALATE_END_OF_DAY = "escalate_end_of_day"


@dataclass(frozen=True)
class Slot:
    """One reminder to send: `key` is unique and stable per patient (see the module docstring)."""

    kind: ReminderKind
    due_at: datetime  # aware, UTC: when to send it (quiet hours already applied)
    local_date: date  # the patient's local date the reminder belongs to
    key: str


@dataclass(frozen=True)
class Window:
    """A span of local dates, both ends inclusive; `end` is `OPEN_END` when not yet known."""

    start: date
    end: date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def is_open(self) -> bool:
        return self.end == OPEN_END


def _zone(tz_name: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"Unknown time zone: {tz_name!r}.") from exc


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (with a time zone), not a naive one.")


def _as_time(hour_minute: Sequence[int]) -> time:
    """A configured (hour, minute) as a time (a list, as read back from JSON, works too)."""
    hour, minute = hour_minute
    return time(hour, minute)


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    """Whether the naive local `wall` time happens in `zone` (False inside a spring gap)."""
    round_trip = wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone)
    return round_trip.replace(tzinfo=None) == wall


def high_risk_window(
    day0: date | None, engraftment: date | None, config: ReminderConfig = DEFAULT_REMINDER_CONFIG
) -> Window | None:
    """The high-infection-risk window (local dates, inclusive); None without a Day 0.

    Day 0 through the later of Day 0 + `high_risk_days_after_day0` and engraftment +
    `high_risk_days_after_engraftment`; open (`end` is `OPEN_END`) while engraftment is not recorded.
    """
    if day0 is None:
        return None
    if engraftment is None:
        return Window(day0, OPEN_END)
    engrafted = max(engraftment, day0)  # engraftment before Day 0 is a data error: count it as Day 0
    end = max(
        day0 + timedelta(days=config.high_risk_days_after_day0),
        engrafted + timedelta(days=config.high_risk_days_after_engraftment),
    )
    return Window(day0, end)


def to_utc(local_day: date, local_time: time, tz_name: str) -> datetime:
    """The aware UTC instant of a local wall time in the IANA zone `tz_name`.

    A wall time in a spring gap moves forward to the first valid minute; an ambiguous one (autumn) is the
    first occurrence. Raises ValueError for an unknown zone.
    """
    zone = _zone(tz_name)
    wall = datetime.combine(local_day, local_time.replace(tzinfo=None, fold=0))
    if not _exists(wall, zone):
        wall = wall.replace(second=0, microsecond=0)
        limit = wall + _MAX_GAP
        while not _exists(wall, zone):
            wall += _MINUTE
            if wall > limit:
                raise ValueError(f"No valid local time after {local_day} {local_time} in {tz_name!r}.")
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def apply_quiet_hours(
    due_at: datetime, tz_name: str, safety_critical: bool, config: ReminderConfig = DEFAULT_REMINDER_CONFIG
) -> datetime:
    """When to send a message due at `due_at` (aware; returned in UTC), given quiet hours in `tz_name`.

    A routine message due inside quiet hours (`quiet_start` inclusive to `quiet_end` exclusive, local time,
    possibly across midnight) moves to the end of quiet hours; outside them, or when `safety_critical`, it is
    not moved. Equal start and end mean no quiet hours.
    """
    _require_aware(due_at, "due_at")
    zone = _zone(tz_name)
    sent = due_at.astimezone(UTC)
    start, end = _as_time(config.quiet_start), _as_time(config.quiet_end)
    if safety_critical or start == end:
        return sent
    local = due_at.astimezone(zone)
    now, day = local.time(), local.date()
    if start < end:
        release = day if start <= now < end else None
    elif now >= start:
        release = day + timedelta(days=1)  # evening: quiet until tomorrow's end
    elif now < end:
        release = day  # small hours: quiet until this morning's end
    else:
        release = None
    return sent if release is None else to_utc(release, end, tz_name)


def _slot(kind: ReminderKind, day: date, at: Sequence[int], key: str, tz_name: str, config: ReminderConfig) -> Slot:
    due = to_utc(day, _as_time(at), tz_name)
    return Slot(
        kind=kind,
        due_at=apply_quiet_hours(due, tz_name, kind in SAFETY_CRITICAL_KINDS, config),
        local_date=day,
        key=key,
    )


def _checkins_on(
    day: date, day0: date, window: Window, config: ReminderConfig
) -> Iterable[tuple[ReminderKind, Sequence[int]]]:
    """The check-in reminders (kind, configured time) of one local date, per the module docstring's table."""
    if day < day0:
        return []
    if day in window:
        temperatures = [(ReminderKind.TEMPERATURE_CHECKIN, at) for at in config.temperature_times]
        return [*temperatures, (ReminderKind.RED_FLAG_CHECKIN, config.red_flag_time)]
    number = (day - day0).days
    if number <= config.early_recovery_end_day:
        due = day.weekday() in config.early_recovery_weekdays
    elif number <= config.recovery_end_day:
        due = day.weekday() == config.weekly_weekday
    else:
        due = False
    return [(ReminderKind.CHECKIN, config.checkin_time)] if due else []


def checkin_slots(
    dates: EpisodeDates,
    from_date: date,
    to_date: date,
    tz_name: str,
    config: ReminderConfig = DEFAULT_REMINDER_CONFIG,
) -> list[Slot]:
    """Every check-in reminder whose local date is in [`from_date`, `to_date`], ordered by `due_at` then key.

    Empty without a Day 0. Keys are as in the module docstring, so overlapping ranges give equal slots for
    the dates they share.
    """
    _zone(tz_name)
    day0 = dates.reinfusion
    window = high_risk_window(day0, dates.neutrophil_engraftment, config)
    if day0 is None or window is None:
        return []
    last_planned = max(window.end, day0 + timedelta(days=config.recovery_end_day))
    first, last = max(from_date, day0), min(to_date, last_planned)
    slots: dict[str, Slot] = {}
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        for kind, at in _checkins_on(day, day0, window, config):
            key = f"{kind}:{day.isoformat()}T{_as_time(at):%H:%M}"
            slots[key] = _slot(kind, day, at, key, tz_name, config)
    return sorted(slots.values(), key=lambda slot: (slot.due_at, slot.key))


def appointment_slots(
    events: Sequence[tuple[str, date, str]], tz_name: str, config: ReminderConfig = DEFAULT_REMINDER_CONFIG
) -> list[Slot]:
    """Reminders for planned events (event key or id, planned date, kind), ordered by `due_at` then key.

    Only kinds in `appointment_kinds` get reminders: one the evening before, one the morning of the planned
    date. The same event listed twice gives its reminders once.
    """
    _zone(tz_name)
    kinds = {str(kind) for kind in config.appointment_kinds}
    slots: dict[str, Slot] = {}
    for event_key, planned, kind in events:
        if str(kind) not in kinds:
            continue
        for reminder, day, at in (
            (ReminderKind.APPOINTMENT_EVE, planned - timedelta(days=1), config.appointment_eve_time),
            (ReminderKind.APPOINTMENT_MORNING, planned, config.appointment_morning_time),
        ):
            key = f"{reminder}:{event_key}:{planned.isoformat()}"
            slots[key] = _slot(reminder, day, at, key, tz_name, config)
    return sorted(slots.values(), key=lambda slot: (slot.due_at, slot.key))


def missed_checkin_steps(
    due_at: datetime, in_high_risk: bool, config: ReminderConfig = DEFAULT_REMINDER_CONFIG
) -> list[tuple[str, datetime]]:
    """What to do, and when (UTC), if a check-in due at `due_at` is not answered.

    With the grace `grace_high_risk_minutes` in the high-risk window (else `grace_later_minutes`): remind
    the patient at due + grace; if still missed at due + 2 x grace, a task for the coordinator and, in the
    high-risk window, a notification to the clinician. In the high-risk window these are safety-critical
    (quiet hours never delay them); later, the caller may pass them through `apply_quiet_hours`.
    """
    _require_aware(due_at, "due_at")
    due = due_at.astimezone(UTC)
    minutes = config.grace_high_risk_minutes if in_high_risk else config.grace_later_minutes
    grace = timedelta(minutes=minutes)
    steps: list[tuple[str, datetime]] = [
        (Step.REMIND_PATIENT, due + grace),
        (Step.TASK_COORDINATOR, due + 2 * grace),
    ]
    if in_high_risk:
        steps.append((Step.NOTIFY_CLINICIAN, due + 2 * grace))
    return steps


def answers_checkin(report_at: datetime | None, due_at: datetime, lead_minutes: int) -> bool:
    """Whether a report received at `report_at` (None: never) answers the check-in due at `due_at`: it came at
    most `lead_minutes` (`answer_lead_minutes`) before it (the temperature taken early), or any time after."""
    return report_at is not None and report_at >= due_at - timedelta(minutes=lead_minutes)


def answers_reminder(
    kind: str,
    latest_report: datetime | None,
    latest_temperature: datetime | None,
    due_at: datetime,
    lead_minutes: int,
) -> bool:
    """Whether the patient's reports answer the reminder of `kind` due at `due_at` (`answers_checkin`).

    A temperature reminder (`ReminderKind.TEMPERATURE_CHECKIN`) asks for a reading: only a report that carries a
    temperature answers it (`latest_temperature`: when the latest such report came in). "I feel fine", or
    symptoms without a temperature, leave it unanswered. Any other check-in (red flags, the routine check-in) is
    answered by any report (`latest_report`). Hazard H-40.
    """
    report_at = latest_temperature if kind == ReminderKind.TEMPERATURE_CHECKIN else latest_report
    return answers_checkin(report_at, due_at, lead_minutes)


def missed_checkins(
    slots: Iterable[Slot],
    window: Window | None,
    latest_report: datetime | None,
    latest_temperature: datetime | None,
    now: datetime,
    config: ReminderConfig = DEFAULT_REMINDER_CONFIG,
) -> list[Slot]:
    """The check-ins of `slots` missed at `now`, in `slots`' order: the first step of `missed_checkin_steps`
    (reminding the patient) is due, and the patient's reports do not answer them (`answers_reminder`: the
    latest report, or for a temperature reminder the latest report with a temperature, `latest_temperature`).
    The same rule the dispatcher applies to each planned reminder row."""
    _require_aware(now, "now")
    missed = []
    for slot in slots:
        in_window = window is not None and slot.local_date in window
        _step, first_step_at = missed_checkin_steps(slot.due_at, in_window, config)[0]
        answered = answers_reminder(
            slot.kind, latest_report, latest_temperature, slot.due_at, config.answer_lead_minutes
        )
        if first_step_at <= now and not answered:
            missed.append(slot)
    return missed


def alert_escalation_steps(
    created_at: datetime,
    severity: str,
    centre_tz: str,
    config: ReminderConfig = DEFAULT_REMINDER_CONFIG,
    alert_config: AlertConfig = DEFAULT_ALERT_CONFIG,
) -> list[tuple[str, datetime]]:
    """When (UTC) to escalate an alert raised at `created_at` that nobody has acknowledged.

    urgent: sent again to the care team after `urgent_resend_minutes`, then to the centre's on-call
    clinician after `urgent_on_call_minutes`; same_day: escalated at the end of the working day in the
    centre's zone (`alerts.response_due` with `alert_config`: the next working day's end when raised after
    it or on a day off); routine and none: no escalation. Raises ValueError for an unknown severity.
    """
    _require_aware(created_at, "created_at")
    _zone(centre_tz)
    level = Severity(severity)
    created = created_at.astimezone(UTC)
    if level is Severity.URGENT:
        return [
            (Step.RESEND_CARE_TEAM, created + timedelta(minutes=config.urgent_resend_minutes)),
            (Step.ON_CALL_CLINICIAN, created + timedelta(minutes=config.urgent_on_call_minutes)),
        ]
    if level is Severity.SAME_DAY:
        end_of_day = response_due(created, Severity.SAME_DAY, centre_tz, alert_config)
        return [] if end_of_day is None else [(Step.ESCALATE_END_OF_DAY, end_of_day)]
    return []
