"""Reminders for labs, prophylaxis and vaccination, planned with the check-ins (recovery.services.reminders.planning).

`planned` returns the rows to plan for a patient's local dates [`first`, `last`]; `why_not` says, when a
row is due, whether it still applies. Every row's key is stable and unique per patient:

* `vaccination_due:<vaccine>:<dose>:<due date>` - to the patient, the morning of the due date, for a dose
  that can be given (the dose it follows is recorded). Cancelled once the dose is recorded.
* `prophylaxis_reminder:<medication>:start:<date>` and `...:stop:<date>` - to the patient, the morning a
  course starts ("keep taking it until your team says stop") and the morning of its planned stop ("ask
  before stopping"). Cancelled once a clinician records the stop.
* `prophylaxis_review:<medication>:<planned stop>` - a care-team step for the clinicians, the morning of
  the planned stop of a CD4-gated course while CD4 is not recovered. Cancelled if CD4 recovers or the
  course is stopped first.
* `missed_lab_task:surveillance:<due date>` - a care-team step for the coordinators (a `missed_lab` task)
  when a surveillance draw (TSH and platelets, `recovery.clinical.surveillance`) has no results by its due
  date + the grace period. Cancelled if the results arrive first.

Messages go at the configured morning appointment time in the patient's zone, after quiet hours.
"""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from django.utils import translation
from django.utils.translation import gettext

from recovery.clinical.config import ReminderConfig
from recovery.clinical.reminders import apply_quiet_hours, to_utc
from recovery.clinical.surveillance import surveillance_schedule
from recovery.clinical.vaccination import DoseStatus, vaccine_name
from recovery.models import (
    Audience,
    Channel,
    LabResult,
    Notification,
    NotificationKind,
    NotificationStatus,
    Patient,
    ProphylaxisStop,
    TransplantEpisode,
    VaccinationDose,
)
from recovery.queries.configuration import ActiveConfig, active_config
from recovery.queries.prophylaxis import cd4_results, courses_from, medication_name, medication_purpose
from recovery.queries.vaccinations import plan_from

LAB_NAMES = {"tsh": "thyroid function (TSH)", "platelets": "platelet count"}


def _morning(day: date, tz: str, reminders: ReminderConfig) -> datetime:
    hour, minute = reminders.appointment_morning_time
    return to_utc(day, time(hour, minute), tz)


def _to_patient(kind: str, key: str, day: date, channels: list[str], tz: str, reminders: ReminderConfig, detail):
    due_at = apply_quiet_hours(_morning(day, tz, reminders), tz, False, reminders)
    return [
        {
            "kind": kind,
            "channel": channel,
            "audience": Audience.PATIENT,
            "key": key,
            "due_at": due_at,
            "local_date": day,
            "safety_critical": False,
            "detail": detail,
        }
        for channel in channels
    ]


def _step(kind: str, key: str, day: date, about: date, tz: str, reminders: ReminderConfig, detail) -> dict:
    return {
        "kind": kind,
        "channel": Channel.IN_APP,
        "audience": Audience.CARE_TEAM,
        "key": key,
        "due_at": _morning(day, tz, reminders),
        "local_date": day,
        "safety_critical": False,
        "about_at": _morning(about, tz, reminders),
        "detail": detail,
    }


def lab_dates(patient: Patient, tests) -> dict[str, list[date]]:
    """The local dates on which each of `tests` has a result."""
    zone = ZoneInfo(patient.timezone)
    dates: dict[str, list[date]] = {test: [] for test in tests}
    for test, at in LabResult.objects.filter(patient=patient, test__in=list(tests)).values_list("test", "collected_at"):
        dates[test].append(at.astimezone(zone).date())
    return dates


def planned(
    *,
    patient: Patient,
    episode: TransplantEpisode,
    first: date,
    last: date,
    channels: list[str],
    config: ActiveConfig,
    reminders: ReminderConfig,
) -> list[dict]:
    """Rows to plan, each a dict of `notifications._Planned` fields: kind, channel, audience, key, due_at
    (aware UTC), local_date, safety_critical, and optionally about_at, event_id, detail (the message's facts)."""
    day0 = episode.reinfusion_date
    if day0 is None:
        return []
    tz = patient.timezone
    rows: list[dict] = []

    def within(day: date | None) -> bool:
        return day is not None and first <= day <= last

    # Vaccinations: a dose that can be given, on its due date (a later dose waits for the one it follows).
    # The names in a message's facts are in the patient's language, whoever's request planned it.
    given = list(patient.vaccinations.values_list("vaccine", "dose", "given_date"))
    for dose in plan_from(day0, given, last, config.vaccination):
        if dose.status in (DoseStatus.DUE, DoseStatus.OVERDUE) and within(dose.due_date):
            with translation.override(patient.preferred_language):
                name = gettext(vaccine_name(dose.vaccine))
            detail = {
                "vaccine": dose.vaccine,
                "vaccine_name": name,
                "dose": dose.dose,
                "due_date": dose.due_date.isoformat(),
                "live": dose.vaccine in config.vaccination.live_vaccines,
            }
            key = f"{NotificationKind.VACCINATION_DUE}:{dose.vaccine}:{dose.dose}:{dose.due_date.isoformat()}"
            rows += _to_patient(NotificationKind.VACCINATION_DUE, key, dose.due_date, channels, tz, reminders, detail)

    # Prophylaxis: the start and planned stop of each course still taken; the clinicians' review.
    stops = list(patient.prophylaxis_stops.all())
    for course in courses_from(episode, cd4_results(patient, day0, config.labs), stops, last, config.prophylaxis):
        if course.stop is not None:
            continue
        plan = course.plan
        with translation.override(patient.preferred_language):
            base = {
                "medication": plan.medication,
                "name": medication_name(plan.medication),
                "purpose": medication_purpose(plan.medication),
                "until_cd4": plan.until_cd4,
            }
        kind = NotificationKind.PROPHYLAXIS_REMINDER
        if within(plan.start):
            key = f"{kind}:{plan.medication}:start:{plan.start.isoformat()}"
            detail = {**base, "event": "start", "date": plan.start.isoformat()}
            rows += _to_patient(kind, key, plan.start, channels, tz, reminders, detail)
        if within(plan.planned_stop) and (plan.start is None or plan.planned_stop > plan.start):
            stop_day = plan.planned_stop
            key = f"{kind}:{plan.medication}:stop:{stop_day.isoformat()}"
            detail = {**base, "event": "stop", "date": stop_day.isoformat()}
            rows += _to_patient(kind, key, stop_day, channels, tz, reminders, detail)
            if plan.until_cd4 and not plan.cd4_recovered:
                review = NotificationKind.PROPHYLAXIS_REVIEW
                detail = {
                    **base,
                    "planned_stop": stop_day.isoformat(),
                    "cd4_threshold": config.prophylaxis.cd4_threshold,
                }
                rows.append(
                    _step(
                        review,
                        f"{review}:{plan.medication}:{stop_day.isoformat()}",
                        stop_day,
                        stop_day,
                        tz,
                        reminders,
                        detail,
                    )
                )

    # Surveillance labs: a draw without results by its due date + the grace period is a coordinator's task.
    surveillance = config.surveillance
    results = lab_dates(patient, surveillance.tests)
    for draw in surveillance_schedule(day0, results, last, surveillance):
        if not draw.missing:
            continue
        detail = {
            "tests": list(draw.tests),
            "missing": list(draw.missing),
            "test_names": [LAB_NAMES.get(test, test) for test in draw.missing],
            "due_date": draw.due_date.isoformat(),
            "month": draw.month,
        }
        if within(draw.due_date):
            kind = NotificationKind.LAB_DUE
            rows += _to_patient(kind, f"{kind}:{draw.key}", draw.due_date, channels, tz, reminders, detail)
        if within(draw.missed_on):
            task = NotificationKind.MISSED_LAB_TASK
            rows.append(_step(task, f"{task}:{draw.key}", draw.missed_on, draw.due_date, tz, reminders, dict(detail)))
    return rows


def _local_date(moment: datetime, patient: Patient) -> date:
    return moment.astimezone(ZoneInfo(patient.timezone)).date()


def why_not(notification: Notification, now: datetime) -> tuple[str, str] | None:
    """(status, reason) when a due row no longer applies (the dose was given, the lab was done); else None."""
    detail = notification.detail or {}
    patient = notification.patient
    kind = notification.kind
    cancelled = NotificationStatus.CANCELLED
    try:
        if kind == NotificationKind.VACCINATION_DUE:
            given = (
                VaccinationDose.objects.filter(patient=patient, vaccine=detail["vaccine"], dose=detail["dose"])
                .values_list("given_date", flat=True)
                .first()
            )
            if given is not None:
                return cancelled, f"The dose was given on {given.isoformat()}."
        elif kind in (NotificationKind.PROPHYLAXIS_REMINDER, NotificationKind.PROPHYLAXIS_REVIEW):
            stop = ProphylaxisStop.objects.filter(patient=patient, medication=detail["medication"]).first()
            if stop is not None:
                return cancelled, f"{medication_name(stop.medication)} was stopped on {stop.stopped_on.isoformat()}."
            if kind == NotificationKind.PROPHYLAXIS_REVIEW and _cd4_recovered(patient, now):
                return cancelled, "CD4 has recovered: the course may stop as planned."
        elif kind in (NotificationKind.MISSED_LAB_TASK, NotificationKind.LAB_DUE) and _draw_done(patient, detail, now):
            return cancelled, "The surveillance labs were done."
    except (KeyError, TypeError, ValueError):
        return None  # a row without the facts it needs: send it rather than drop it silently
    return None


def _cd4_recovered(patient: Patient, now: datetime) -> bool:
    from recovery.queries.timeline import episode_of

    episode = episode_of(patient)
    if episode is None or episode.reinfusion_date is None:
        return False
    config = active_config(patient.centre_id)
    threshold = config.prophylaxis.cd4_threshold
    today = _local_date(now, patient)
    results = [(on, v) for on, v in cd4_results(patient, episode.reinfusion_date, config.labs) if on <= today]
    if not results:
        return False
    latest = results[-1][0]
    return min(float(v) for on, v in results if on == latest) >= threshold


def _draw_done(patient: Patient, detail: dict, now: datetime) -> bool:
    config = active_config(patient.centre_id).surveillance
    due = date.fromisoformat(detail["due_date"])
    tests = detail.get("missing") or detail["tests"]
    counts_from = due.toordinal() - config.done_window_days
    today = _local_date(now, patient)
    found = lab_dates(patient, tests)
    return all(any(counts_from <= on.toordinal() and on <= today for on in found[test]) for test in tests)
