"""Who has not reported: every patient in the high-risk window, with or without a login, their last temperature
and check-in, and whether a reading is overdue now. Reads only.

A patient is listed when, on their own local today, they are at high infection risk as the dashboard counts it
(conditioning or aplasia, `queries.dashboard.high_risk_patients`) or inside the reminders' high-risk window
(`clinical.reminders.high_risk_window`: twice-daily temperatures). Whether a reading is due or missed is worked
out from the reminders' own schedule and rules (`checkin_slots`, `missed_checkins`, `answers_reminder`:
a temperature reminder is answered only by a reading), for
every patient: the planned reminder rows exist only for those who get reminders, and a patient without a login
gets no missed-check-in chain and so never a task. Withdrawn and deceased patients are not listed.

`reporting_rows` runs a fixed number of queries however many patients there are: the centres and their
configuration, then one query for the candidates (a superset in SQL, decided exactly by the pure rules).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, When
from django.utils import timezone

from recovery.clinical.config import ReminderConfig
from recovery.clinical.follow_up import follow_up_end
from recovery.clinical.phases import HIGH_RISK_PHASES, InfectionRisk, PhaseState, local_date, phase_on
from recovery.clinical.reminders import (
    ReminderKind,
    Slot,
    Window,
    answers_reminder,
    checkin_slots,
    high_risk_window,
    missed_checkins,
)
from recovery.models import Patient, PatientStatus, ReportVia, SymptomReport
from recovery.queries.configuration import ActiveConfig, active_configs
from recovery.queries.dashboard import may_be_high_risk
from recovery.queries.phases import dates_from
from recovery.queries.reminders import (
    effective_reminder_config,
    no_login_channels,
    patient_channels,
    receives_reminders,
    reminder_settings,
)

# A patient's local date is at most this far from UTC's, so a date filter widened by it never misses anyone.
_TZ_SLACK = timedelta(days=1)


class Reporting(StrEnum):
    """Where a listed patient stands with their readings now."""

    OVERDUE = "overdue"  # a reading is missed by the reminders' rule (its grace has run out)
    DUE = "due"  # a reading is due and its grace is still running
    REPORTED = "reported"  # every reading due so far is answered
    NONE_DUE = "none_due"  # no reading due yet (before Day 0, or before the first one)


@dataclass(frozen=True)
class ReportingRow:
    patient: Patient
    state: PhaseState
    status: Reporting
    has_login: bool
    missed: list[Slot]  # the readings missed (yesterday's and today's, local dates), oldest first
    due_since: datetime | None  # the oldest reading due and not answered, grace still running
    next_due: datetime | None
    temperature_c: Decimal | None
    temperature_at: datetime | None
    temperature_by_phone: bool
    fever: bool
    checkin_at: datetime | None  # the last report with symptoms graded (a full check-in)
    reminder_channels: list[str]  # where reminders go ("in_app", "sms", "email"); empty: none
    reminders_stopped: str  # why the patient gets no reminders at all (a hold, a status); empty otherwise

    @property
    def overdue_since(self) -> datetime | None:
        return self.missed[0].due_at if self.missed else None


def _latest(reports: QuerySet[SymptomReport], field_name: str, order: str = "-recorded_at") -> Subquery:
    return Subquery(reports.filter(patient=OuterRef("pk")).order_by(order, "-id").values(field_name)[:1])


def _received(reports: QuerySet[SymptomReport]) -> QuerySet[SymptomReport]:
    """`received_at`: when a report counts as an answer to a reminder. The patient's own: when it came in
    (`created_at`, as the dispatcher counts it). One staff entered from a phone call (`entered_via` phone): when
    the reading was taken (`recorded_at`), not when it was typed in. Hazard H-40."""
    return reports.annotate(
        received_at=Case(When(entered_via=ReportVia.PHONE, then=F("recorded_at")), default=F("created_at"))
    )


def may_be_in_window(patients: QuerySet[Patient], now: datetime, days_after_day0: int, days_after_engraftment: int):
    """A superset, in SQL, of the patients inside the reminders' high-risk window on their own today: a Day 0 on
    or before the latest local today, and a window end (`high_risk_window`) not before the earliest one."""
    earliest, latest = (now - _TZ_SLACK).date(), (now + _TZ_SLACK).date()
    longest = max(days_after_day0, days_after_engraftment)  # engraftment before Day 0 counts as Day 0
    return patients.filter(
        Q(episode__reinfusion_date__lte=latest),
        Q(episode__neutrophil_engraftment_date__isnull=True)
        | Q(episode__neutrophil_engraftment_date__gte=earliest - timedelta(days=days_after_engraftment))
        | Q(episode__reinfusion_date__gte=earliest - timedelta(days=longest)),
    )


def _slots(patient: Patient, dates, today: date, config: ActiveConfig, reminders: ReminderConfig) -> list[Slot]:
    """The check-ins asked of the patient from yesterday to tomorrow (local dates), one per moment, as planned
    (`services.reminders.planning`): none after the end of follow-up, and temperatures only without a login."""
    last = today + timedelta(days=1)
    if dates.reinfusion is not None:
        last = min(
            last,
            follow_up_end(
                dates.reinfusion,
                reminders,
                config.surveillance,
                config.vaccination,
                config.prophylaxis,
                dates.neutrophil_engraftment,
            ),
        )
    slots = checkin_slots(dates, today - timedelta(days=1), last, patient.timezone, reminders)
    if not patient.user_id:
        slots = [slot for slot in slots if slot.kind == ReminderKind.TEMPERATURE_CHECKIN]
    moments: dict[datetime, Slot] = {}
    for slot in slots:
        # the temperature and red-flag check-ins at 08:00 are one row, answered only with a temperature
        # (`answers_reminder`): the temperature's slot stands for the moment
        if slot.due_at not in moments or slot.kind == ReminderKind.TEMPERATURE_CHECKIN:
            moments[slot.due_at] = slot
    return list(moments.values())


def reporting_rows(patients: QuerySet[Patient], now: datetime | None = None) -> list[ReportingRow]:
    """The patients of `patients` in the high-risk window today (see the module docstring), overdue first, then
    by name. Three queries (four with more than one centre's configuration), however many patients."""
    now = now or timezone.now()
    patients = patients.filter(status=PatientStatus.ACTIVE)
    centre_ids = list(patients.order_by().values_list("centre_id", flat=True).distinct())
    if not centre_ids:
        return []
    configs = active_configs(centre_ids)
    in_window = may_be_in_window(
        patients,
        now,
        max(c.reminders.high_risk_days_after_day0 for c in configs.values()),
        max(c.reminders.high_risk_days_after_engraftment for c in configs.values()),
    )
    temperatures = SymptomReport.objects.filter(temperature_c__isnull=False)
    checkins = SymptomReport.objects.exclude(symptoms={})
    candidates = (
        (may_be_high_risk(patients, now) | in_window)
        .select_related("centre", "episode", "reminder_settings")
        .annotate(
            latest_temperature_c=_latest(temperatures, "temperature_c"),
            latest_temperature_at=_latest(temperatures, "recorded_at"),
            latest_temperature_via=_latest(temperatures, "entered_via"),
            latest_checkin_at=_latest(checkins, "recorded_at"),
            # the dispatcher's "latest report" is when it came in (`services.reminders.dispatch`); a reading staff
            # entered from a phone call counts when it was taken (entered now, it may be from last night)
            latest_received_at=_latest(_received(SymptomReport.objects.all()), "received_at", "-received_at"),
            latest_temperature_received_at=_latest(_received(temperatures), "received_at", "-received_at"),
        )
    )
    rows = []
    for patient in candidates:
        row = _row(patient, now, configs[patient.centre_id])
        if row is not None:
            rows.append(row)
    rows.sort(key=lambda r: (r.status != Reporting.OVERDUE, r.patient.last_name, r.patient.first_name, r.patient.pk))
    return rows


def _row(patient: Patient, now: datetime, config: ActiveConfig) -> ReportingRow | None:
    episode = getattr(patient, "episode", None)  # a missing one-to-one raises an AttributeError subclass
    dates = dates_from(
        getattr(episode, name, None)
        for name in (
            "mobilisation_date",
            "apheresis_date",
            "conditioning_start_date",
            "reinfusion_date",
            "neutrophil_engraftment_date",
        )
    )
    today = local_date(now, patient.timezone)
    prefs = reminder_settings(patient)
    reminders = effective_reminder_config(config, prefs)
    state = phase_on(dates, today, config.phase)
    window: Window | None = high_risk_window(dates.reinfusion, dates.neutrophil_engraftment, reminders)
    high_phase = state.phase in HIGH_RISK_PHASES and state.infection_risk == InfectionRisk.HIGH
    if not (high_phase or (window is not None and today in window)):
        return None
    received = patient.latest_received_at
    slots = _slots(patient, dates, today, config, reminders)
    due = [s for s in slots if s.due_at <= now]
    received_temperature = patient.latest_temperature_received_at
    missed = missed_checkins(due, window, received, received_temperature, now, reminders)
    lead = reminders.answer_lead_minutes
    waiting = [
        s
        for s in due
        if s not in missed and not answers_reminder(s.kind, received, received_temperature, s.due_at, lead)
    ]
    if missed:
        status = Reporting.OVERDUE
    elif waiting:
        status = Reporting.DUE
    elif due:
        status = Reporting.REPORTED
    else:
        status = Reporting.NONE_DUE
    stopped = receives_reminders(patient, prefs)
    if stopped:
        channels = []
    elif patient.user_id:
        channels = patient_channels(patient, prefs)
    else:
        channels = no_login_channels(patient) if reminders.no_login_temperature_reminders else []
    temperature = patient.latest_temperature_c
    if temperature is not None:
        temperature = Decimal(str(temperature)).quantize(Decimal("0.1"))
    return ReportingRow(
        patient=patient,
        state=state,
        status=status,
        has_login=bool(patient.user_id),
        missed=missed,
        due_since=waiting[0].due_at if waiting else None,
        next_due=next((s.due_at for s in slots if s.due_at > now), None),
        temperature_c=temperature,
        temperature_at=patient.latest_temperature_at,
        temperature_by_phone=bool(patient.latest_temperature_via),
        fever=temperature is not None and float(temperature) >= config.triage.fever_c,
        checkin_at=patient.latest_checkin_at,
        reminder_channels=channels,
        reminders_stopped=stopped,
    )
