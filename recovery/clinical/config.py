"""Clinical defaults from shared/domain.md, as configuration.

Each rule takes one of these frozen dataclasses as an argument; nothing in `recovery/clinical/` writes a
threshold as a literal. A centre may override any field (stored with a version number, so every alert
and computed flag can say which configuration produced it). The defaults are research defaults that the
centre's clinical leads must review (domain.md: "This is not clinical guidance").
"""

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Self


@dataclass(frozen=True)
class Config:
    """Base for configuration blocks: plain values, comparable, serialisable to JSON."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_overrides(self, overrides: dict[str, Any] | None) -> Self:
        """A copy with the known keys of `overrides` applied; unknown keys are ignored."""
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in overrides.items() if k in known})


@dataclass(frozen=True)
class PhaseConfig(Config):
    """Phase boundaries and flags (domain.md sections 1.1, 2.1, 2.4; section 8 items 2, 8, 11)."""

    # aplasia ends when neutrophil engraftment is recorded; until then, these flags (days after Day 0)
    delayed_engraftment_day: int = 21
    possible_graft_failure_day: int = 30
    # early_recovery: neutrophil engraftment until this day
    early_recovery_end_day: int = 90
    # recovery (the three-to-six-month recovery): until this day
    recovery_end_day: int = 180
    # reconstitution: until this many months after Day 0; follow_up after
    reconstitution_end_months: int = 24
    # infection risk: high from conditioning start through aplasia, moderate until this day after Day 0,
    # low until `low_risk_end_months`, then baseline
    moderate_risk_end_day: int = 100
    low_risk_end_months: int = 24


@dataclass(frozen=True)
class TransplantConfig(Config):
    """Collection and eligibility defaults (domain.md section 8 items 3 and 4)."""

    min_cd34_dose: float = 2.0  # x 10^6 CD34+ cells/kg; warn below
    eligibility_max_age: int = 50  # years, exclusive ("under 50")
    eligibility_max_disease_years: int = 10  # exclusive ("under 10 years")
    eligibility_max_edss: float = 5.5  # inclusive; centres set 5.5 to 6.0
    apheresis_window_start_day: int = 9  # days after mobilisation (M+9 to M+14)
    apheresis_window_end_day: int = 14
    max_conditioning_days: int = 14  # conditioning starts at most this many days before Day 0 (Bu-based ~D-9)
    earliest_plausible_year: int = 1995  # the first aHSCT for MS were in the mid-1990s
    max_days_ahead: int = 730  # a planned date further ahead than this is a typing error
    due_window_days: int = 7  # a planned event is "due" from this many days before its date
    # A planned event whose date has passed unrecorded is "overdue" (red, counted on the worklists) only while
    # someone can still do it: of these kinds (`clinical.timeline.EventKind`; a visit, a blood test, a scan, a
    # medicine to start or review, a vaccination) and at most this many days late. The others (conditioning
    # chemotherapy, the reinfusion, the start of a check-in period, or anything older) show as "not recorded".
    overdue_window_days: int = 90
    overdue_kinds: tuple[str, ...] = (
        "visit",
        "lab",
        "medication_start",
        "medication_stop",
        "vaccination",
        "mri",
        "edss_review",
    )


@dataclass(frozen=True)
class TriageConfig(Config):
    """Symptom and temperature triage (domain.md sections 2.2, 6.3, 7; section 8 items 10 and 24-27)."""

    min_temperature_c: float = 34.0  # a reading outside 34-43 C is refused as implausible
    max_temperature_c: float = 43.0
    fever_c: float = 38.0  # any reading at or above: a fever
    # The high-risk window (a fever in it is urgent; domain.md sections 2.2, 2.4, 6.3): from mobilisation
    # chemotherapy until this many days after the first apheresis (stem cells collected), from conditioning
    # start through Day +`urgent_fever_until_day`, and whenever the patient is known to be neutropenic: not
    # engrafted after Day 0 (whatever the day), or a latest ANC below `neutropenia_anc` taken at most
    # `neutropenia_anc_days` before the report.
    high_risk_days_after_first_apheresis: int = 2
    urgent_fever_until_day: int = 100
    neutropenia_anc: float = 0.5  # x10^9/L
    neutropenia_anc_days: int = 7
    low_temperature_c: float = 36.0  # below this in the high-risk window: same day
    very_low_temperature_c: float = 35.5  # below this in the high-risk window: urgent
    neutropenic_single_c: float = 38.3  # IDSA: one reading at or above, while known to be neutropenic
    neutropenic_sustained_c: float = 38.0  # IDSA: or two readings at or above, at least this far apart
    neutropenic_sustained_minutes: int = 60
    neutropenic_lookback_hours: int = 24  # the earlier of the two readings is at most this long before the later
    # domain.md section 6.3; "chills" is shivering or rigors, a red flag with or without a temperature
    red_flag_symptoms: tuple[str, ...] = (
        "chills",
        "shortness_of_breath",
        "chest_pain",
        "bleeding",
        "confusion",
        "fainting",
        "blistering_rash",
        "line_site",
    )
    red_flag_grade_high_risk: int = 1  # in the high-risk window: urgent at or above this grade
    red_flag_grade: int = 2  # outside it: urgent at or above this grade ...
    red_flag_same_day_grade: int = 1  # ... and same day at or above this one
    severe_grade: int = 3  # any symptom at or above: same day
    worsening_rise: int = 2  # a rise of this many grades since the previous report: same day
    pseudo_relapse_window_days: int = 7  # new or worse MS symptoms with a fever or infection within this window
    routine_grade: int = 1  # any symptom at or above (and nothing worse): routine review


@dataclass(frozen=True)
class AlertConfig(Config):
    """Response targets (domain.md section 8 item 26)."""

    urgent_ack_minutes: int = 60  # an urgent alert is acknowledged within the hour
    working_days: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday to Friday
    routine_ack_hours: int = 48
    # The care team's working hours (centre time), the one notion of the working day: what a patient is promised
    # after a same-day report (working_hours.py: "today" on a working day before `working_hours_end`, else by the
    # next working day) and the team's same-day target, the end of that day (alerts.py::response_due).
    # (Configurations stored before this may hold `working_day_end_hour`: an unknown key now, ignored.)
    working_hours_start: tuple[int, int] = (8, 0)
    working_hours_end: tuple[int, int] = (16, 30)
    holidays: tuple[str, ...] = ()  # days off besides the weekend, as ISO dates ("2026-12-24"): public holidays
    # a resolved urgent or same-day alert stays on the patient's home, with what was done, for this many days
    resolved_shown_days: int = 2


@dataclass(frozen=True)
class OutcomeConfig(Config):
    """MS outcome definitions (domain.md sections 4-5; section 8 items 18-23)."""

    progression_step_low: float = 1.0  # confirmed increase from a baseline at or below `progression_baseline_cut`
    progression_step_high: float = 0.5  # ... and from a baseline above it
    progression_baseline_cut: float = 5.5
    progression_step_from_zero: float | None = None  # optional larger step from a baseline of 0 (e.g. 1.5)
    confirmation_months: int = 6  # 3, 6 or 12
    relapse_exclusion_days: int = 30  # assessments this close after a relapse onset are not used
    pseudo_relapse_window_days: int = 7  # a fever or infection this close to a relapse onset
    roving_reference: bool = False  # off: progression is measured from the fixed baseline (see outcomes.py)
    # Febrile neutropenia for the cohort rate (CTCAE v5, domain.md 2.3 and section 8 items 22-23; see
    # febrile_neutropenia.py): ANC below `fn_anc_below` with one reading at or above `fn_single_c`, or readings at
    # or above `fn_sustained_c` for more than `fn_sustained_minutes`
    fn_anc_below: float = 1.0  # x10^9/L
    fn_single_c: float = 38.3
    fn_sustained_c: float = 38.0
    fn_sustained_minutes: int = 60  # strictly more than this between the first and the last reading
    fn_sustained_max_gap_hours: int = 24  # readings further apart than this are not one sustained fever
    fn_anc_window_hours: int = 24  # the ANC nearest the fever counts if taken at most this long before or after it
    fn_window_end_day: int = 100  # counted from conditioning start (or Day 0) through this day after Day 0


DEFAULT_PHASE_CONFIG = PhaseConfig()
DEFAULT_TRIAGE_CONFIG = TriageConfig()
DEFAULT_TRANSPLANT_CONFIG = TransplantConfig()
DEFAULT_ALERT_CONFIG = AlertConfig()
DEFAULT_OUTCOME_CONFIG = OutcomeConfig()


@dataclass(frozen=True)
class ReminderConfig(Config):
    """Reminder schedule and escalation (domain.md section 8 items 11, 12, 15, 25-27); see `reminders.py`.

    Times are (hour, minute) in the patient's time zone (the centre's for alert escalation). Day numbers
    count from Day 0 and are inclusive. These boundaries are for reminders only: `PhaseConfig` has its own.
    """

    # high-infection-risk window: Day 0 through Day 0 + `high_risk_days_after_day0`, or through engraftment +
    # `high_risk_days_after_engraftment` if later (open while engraftment is not recorded)
    temperature_times: tuple[tuple[int, int], ...] = ((8, 0), (20, 0))
    red_flag_time: tuple[int, int] = (8, 0)  # with the morning temperature, so the patient answers both at once
    high_risk_days_after_day0: int = 30
    high_risk_days_after_engraftment: int = 14
    # after the window: check-ins on these weekdays (Monday is 0) through this day after Day 0
    early_recovery_end_day: int = 100
    early_recovery_weekdays: tuple[int, ...] = (0, 2, 4)
    checkin_time: tuple[int, int] = (9, 0)
    # then weekly, on `weekly_weekday`, through this day after Day 0; no check-in reminders after it
    recovery_end_day: int = 180
    weekly_weekday: int = 0
    # visits, labs and scans: the evening before and the morning of the planned date
    appointment_eve_time: tuple[int, int] = (18, 0)
    appointment_morning_time: tuple[int, int] = (7, 30)
    appointment_kinds: tuple[str, ...] = ("visit", "lab", "mri", "edss_review", "vaccination")
    # a check-in is missed this long after it was due (in the high-risk window, later)
    grace_high_risk_minutes: int = 120
    grace_later_minutes: int = 1440
    # routine messages wait until the end of quiet hours (local time); safety-critical ones never wait
    quiet_start: tuple[int, int] = (21, 30)
    quiet_end: tuple[int, int] = (7, 30)
    # an unacknowledged urgent alert: sent again to the care team, then to the centre's on-call clinician
    urgent_resend_minutes: int = 15
    urgent_on_call_minutes: int = 60
    # a report from this long before a check-in was due answers it (the patient took the temperature early)
    answer_lead_minutes: int = 120
    # a routine reminder to the patient this late (the system was down) is no use any more: suppressed
    stale_after_minutes: int = 360
    # a patient without a login gets the window's temperature reminders by text message and email
    no_login_temperature_reminders: bool = True


DEFAULT_REMINDER_CONFIG = ReminderConfig()
