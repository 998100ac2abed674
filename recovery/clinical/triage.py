"""Symptom and temperature triage (domain.md sections 2.2, 6.1-6.3, 7; section 8 items 10 and 24-28).

Pure rules: a report and its context in, a `TriageResult` out. No Django, no clock: the report's own
`recorded_at` is "now". Every threshold comes from a `TriageConfig` (see `config.py`); none is written here
as a literal. The caller stores the configuration's version with each alert, and each `Finding` names the
rule that raised it (a stable id, below), so an alert can be traced to the rule set in force.

The rules (defaults in brackets):

==============================  ===========  =============================================================
rule id                         severity     when
==============================  ===========  =============================================================
fever.high_risk_window          urgent       temperature >= `fever_c` [38.0] in the high-risk window (below)
fever.outside_window            same_day     temperature >= `fever_c` at any other time
temperature.very_low            urgent       temperature below `very_low_temperature_c` [35.5] in the window
temperature.low                 same_day     temperature below `low_temperature_c` [36.0] in the window
red_flag.symptom                urgent       any of `red_flag_symptoms` [shivering, shortness of breath, chest
                                             pain, bleeding or bruising, confusion or drowsiness, fainting,
                                             painful blistering rash, red or painful line site] graded >=
                                             `red_flag_grade_high_risk` [1] in the window, >=
                                             `red_flag_grade` [2] outside it
                                same_day     ... graded >= `red_flag_same_day_grade` [1] outside the window
red_flag.fever_with_chills      urgent       temperature >= `fever_c` in this report and chills present
                                             (graded above 0, "None" on the PRO-CTCAE scale)
symptom.severe                  same_day     any symptom graded >= `severe_grade` [3] that has not already
                                             raised a red flag
symptom.worsening               same_day     a rise of >= `worsening_rise` [2] grades since the symptom's
                                             last graded value, for a symptom that raised neither a red
                                             flag nor a severe finding
patient.feels_urgent            urgent       the patient says the report feels urgent, in the window
                                same_day     ... outside it
ms.pseudo_relapse               same_day     an MS symptom new or worse than in the previous report, with a
                                             fever (this report, or a reading within
                                             `pseudo_relapse_window_days` [7] of it) or a recent infection
symptom.routine                 routine      nothing above, and any symptom graded >= `routine_grade` [1]
==============================  ===========  =============================================================

The high-risk window follows the patient, not only the calendar (`high_risk_window`). A report is in it:

* from mobilisation chemotherapy (phase mobilisation) until the stem cells are collected: the collection
  phase through `high_risk_days_after_first_apheresis` [2] days after the first apheresis (collection
  often takes two or three sessions; a collection phase without its date counts as inside);
* from conditioning start (phase conditioning or later) through Day +`urgent_fever_until_day` [100]; a
  missing Day number (conditioning recorded, no Day 0 yet) counts as inside;
* whenever the patient is known to be neutropenic: after Day 0 and not yet engrafted (phase aplasia),
  whatever the day, or a latest ANC below `neutropenia_anc` [0.5 x10^9/L] taken at most
  `neutropenia_anc_days` [7] days before the report.

Decisions a reader should know:

* Neutropenic fever (the IDSA definition, `neutropenic_fever`) is only assessed while the patient is known to
  be neutropenic (aplasia, or the recent low ANC above) and only marks the result (and the fever finding's
  reason). Known neutropenia is inside the high-risk window, so a neutropenic fever is always urgent.
* Each symptom raises at most one symptom finding, the most specific: red flag, else severe, else worsening
  (a symptom that went from 1 to 3 is "severe", and the reason says what it was before).
* Previous grades: `previous_symptoms` holds each symptom's last graded value (0 included: an "I'm fine"
  check-in with every symptom at 0 is a baseline). Empty means no earlier report graded any symptom, so
  nothing is "worse" for `symptom.worsening`. Otherwise a code never graded before counts as grade 0. For
  the pseudo-relapse rule an MS symptom is "new or worse" when its grade is above the previous one (missing
  counts as 0, so with no previous report any MS symptom graded above 0 is new).
* The pseudo-relapse fever window is symmetric (a reading within the window before or after the report
  counts), as in domain.md section 8 item 20 ("within +/-7 days"); readings are normally earlier anyway.
* Several findings may share a kind (both red-flag rules are `red_flag`). Alerts are one per kind, so the
  caller groups findings by kind: the first finding of a kind (findings are sorted by severity, highest
  first) gives the alert's severity and rule.
* A `pseudo_relapse` finding (and result flag) is for both the transplant and the neurology team.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from recovery.clinical.config import DEFAULT_TRIAGE_CONFIG, TriageConfig
from recovery.clinical.phases import Phase, phase_index
from recovery.clinical.words import Joined, Message, Number, gettext_noop


class Severity(StrEnum):
    """How soon someone must act (the API's `triage.level` and alert `severity` values)."""

    URGENT = "urgent"
    SAME_DAY = "same_day"
    ROUTINE = "routine"
    NONE = "none"


_SEVERITY_RANK: dict[Severity, int] = {
    Severity.URGENT: 3,
    Severity.SAME_DAY: 2,
    Severity.ROUTINE: 1,
    Severity.NONE: 0,
}


def severity_rank(severity: Severity) -> int:
    """3 urgent, 2 same day, 1 routine, 0 none (the alert model's `severity_rank`)."""
    return _SEVERITY_RANK[Severity(severity)]


def max_severity(*levels: Severity) -> Severity:
    """The most pressing of `levels`; NONE when there are none."""
    return max((Severity(level) for level in levels), key=severity_rank, default=Severity.NONE)


# The API's symptom codes (api.md), plus the red flags of domain.md section 6.3 that it lacks: confusion, chest
# pain, fainting, a painful blistering rash and a red or painful line site.
GENERAL_SYMPTOMS: tuple[str, ...] = (
    "chills",
    "nausea",
    "vomiting",
    "diarrhoea",
    "mouth_sores",
    "fatigue",
    "rash",
    "shortness_of_breath",
    "cough",
    "painful_urination",
    "bleeding",
    "appetite_loss",
    "pain",
    "confusion",
    "chest_pain",
    "fainting",
    "blistering_rash",
    "line_site",
)
# MS domains (EDSS functional systems, domain.md section 6.2).
MS_SYMPTOMS: tuple[str, ...] = ("vision", "weakness", "numbness", "balance", "bladder", "cognition")
SYMPTOM_CODES: tuple[str, ...] = GENERAL_SYMPTOMS + MS_SYMPTOMS

# The PRO-CTCAE severity scale (domain.md section 6.1).
GRADE_LABELS: dict[int, str] = {
    0: gettext_noop("None"),
    1: gettext_noop("Mild"),
    2: gettext_noop("Moderate"),
    3: gettext_noop("Severe"),
    4: gettext_noop("Very severe"),
}
_ABSENT = 0  # the scale's "None" grade: a symptom graded above it is present

# Plain words for a patient (also used in the staff reasons), translated where they are shown.
SYMPTOM_LABELS: dict[str, str] = {
    "chills": gettext_noop("Shivering or shaking chills"),
    "nausea": gettext_noop("Feeling sick (nausea)"),
    "vomiting": gettext_noop("Being sick (vomiting)"),
    "diarrhoea": gettext_noop("Loose or watery stools (diarrhoea)"),
    "mouth_sores": gettext_noop("Mouth or throat sores"),
    "fatigue": gettext_noop("Tiredness (fatigue)"),
    "rash": gettext_noop("Rash"),
    "shortness_of_breath": gettext_noop("Shortness of breath"),
    "cough": gettext_noop("Cough"),
    "painful_urination": gettext_noop("Pain or burning when passing urine"),
    "bleeding": gettext_noop("Bleeding or new bruising"),
    "appetite_loss": gettext_noop("Not wanting to eat (loss of appetite)"),
    "pain": gettext_noop("Pain"),
    "confusion": gettext_noop("Confusion or unusual drowsiness"),
    "chest_pain": gettext_noop("Chest pain"),
    "fainting": gettext_noop("Fainting or feeling faint"),
    "blistering_rash": gettext_noop("Painful blistering rash"),
    "line_site": gettext_noop("Redness, pain or swelling where your line goes in"),
    "vision": gettext_noop("Eyesight (blurred or lost vision)"),
    "weakness": gettext_noop("Weakness or stiffness in arms or legs"),
    "numbness": gettext_noop("Numbness or tingling"),
    "balance": gettext_noop("Balance or coordination"),
    "bladder": gettext_noop("Bladder or bowel control"),
    "cognition": gettext_noop("Thinking, memory or concentration"),
}


class AlertKind(StrEnum):
    """What an alert is about; at most one open alert per patient and kind."""

    FEVER = "fever"
    RED_FLAG = "red_flag"
    SEVERE_SYMPTOM = "severe_symptom"
    WORSENING = "worsening"
    FEELS_URGENT = "feels_urgent"
    LOW_TEMPERATURE = "low_temperature"
    PSEUDO_RELAPSE = "pseudo_relapse"
    ROUTINE_REVIEW = "routine_review"
    # raised from lab results and the engraftment check (recovery/services/labs.py), not from reports
    DELAYED_ENGRAFTMENT = "delayed_engraftment"
    POSSIBLE_GRAFT_FAILURE = "possible_graft_failure"
    EBV_VIRAEMIA = "ebv_viraemia"


# Stable rule ids (stored with each alert).
RULE_FEVER_HIGH_RISK = "fever.high_risk_window"
RULE_FEVER_OUTSIDE = "fever.outside_window"
RULE_TEMPERATURE_VERY_LOW = "temperature.very_low"
RULE_TEMPERATURE_LOW = "temperature.low"
RULE_RED_FLAG_SYMPTOM = "red_flag.symptom"
RULE_RED_FLAG_FEVER_CHILLS = "red_flag.fever_with_chills"
RULE_SEVERE = "symptom.severe"
RULE_WORSENING = "symptom.worsening"
RULE_FEELS_URGENT = "patient.feels_urgent"
RULE_PSEUDO_RELAPSE = "ms.pseudo_relapse"
RULE_ROUTINE = "symptom.routine"

_CHILLS = "chills"


@dataclass(frozen=True)
class Reading:
    """One temperature reading."""

    recorded_at: datetime  # aware
    temperature_c: float


@dataclass(frozen=True)
class CountReading:
    """One laboratory count (for triage: the absolute neutrophil count, x10^9/L)."""

    collected_at: datetime  # aware
    value: float


@dataclass(frozen=True)
class ReportInput:
    """The report being triaged."""

    recorded_at: datetime  # aware
    temperature_c: float | None
    symptoms: Mapping[str, int]  # code -> grade 0..4 (validated elsewhere)
    feels_urgent: bool = False


@dataclass(frozen=True)
class TriageContext:
    """What the rules need to know about the patient besides the report."""

    phase: Phase
    day: int | None  # days since Day 0 on the report's local date; None without Day 0
    previous_symptoms: Mapping[str, int]  # each symptom's last graded value (empty if none was ever graded)
    recent_readings: Sequence[Reading]  # earlier temperature readings, any order
    recent_infection: bool = False  # an infection recorded by staff within the pseudo-relapse window
    days_since_first_apheresis: int | None = None  # on the report's local date; None without an apheresis date
    latest_anc: CountReading | None = None  # the latest ANC taken at or before the report


@dataclass(frozen=True)
class Finding:
    """One rule that fired."""

    rule: str  # stable rule id (RULE_* above)
    kind: AlertKind
    severity: Severity
    reason: str  # plain words for staff, in English (the stored alert reason, the API)
    message: Message | None = field(default=None, compare=False)  # `reason` as a msgid and values (words.py)


@dataclass(frozen=True)
class TriageResult:
    """What triage decided for one report."""

    level: Severity  # the highest finding; NONE without findings
    findings: tuple[Finding, ...]  # highest severity first, then in the rule order of the module docstring
    neutropenic_fever: bool  # meets the configured (IDSA) definition while known to be neutropenic
    pseudo_relapse: bool
    call_unit_now: bool  # level is URGENT: tell the patient to call the unit now
    high_risk: str | None = None  # why the report is in the high-risk window (None outside it)

    @property
    def kinds(self) -> frozenset[AlertKind]:
        return frozenset(finding.kind for finding in self.findings)


# --- formatting helpers --------------------------------------------------------------------------------------
#
# Each reason is a `Message` (words.py): the English msgid and its values, so that it can be stored as a code
# plus values and shown in the reader's language; `Finding.reason` is its English rendering.

# The grade and phase words inside a staff reason (lower case: they sit inside a sentence).
_GRADE_WORDS: dict[int, str] = {
    0: gettext_noop("none"),
    1: gettext_noop("mild"),
    2: gettext_noop("moderate"),
    3: gettext_noop("severe"),
    4: gettext_noop("very severe"),
}
# A symptom's name inside a sentence (only chills is named so: "with shivering or shaking chills graded 2").
_LOWER_LABELS: dict[str, str] = {_CHILLS: gettext_noop("shivering or shaking chills")}
_PHASE_WORDS: dict[Phase, str] = {
    Phase.EVALUATION: gettext_noop("evaluation"),
    Phase.MOBILISATION: gettext_noop("mobilisation"),
    Phase.COLLECTION: gettext_noop("collection"),
    Phase.CONDITIONING: gettext_noop("conditioning"),
    Phase.APLASIA: gettext_noop("aplasia"),
    Phase.EARLY_RECOVERY: gettext_noop("early recovery"),
    Phase.RECOVERY: gettext_noop("recovery"),
    Phase.RECONSTITUTION: gettext_noop("reconstitution"),
    Phase.FOLLOW_UP: gettext_noop("follow up"),
}
_AGO: dict[tuple[str, bool, bool], str] = {  # (unit, one, before)
    ("hour", True, True): gettext_noop("%(count)s hour before this report"),
    ("hour", False, True): gettext_noop("%(count)s hours before this report"),
    ("hour", True, False): gettext_noop("%(count)s hour after this report"),
    ("hour", False, False): gettext_noop("%(count)s hours after this report"),
    ("day", True, True): gettext_noop("%(count)s day before this report"),
    ("day", False, True): gettext_noop("%(count)s days before this report"),
    ("day", True, False): gettext_noop("%(count)s day after this report"),
    ("day", False, False): gettext_noop("%(count)s days after this report"),
}


def _temp(value: float) -> str:
    """38.0, 38.3, 38.25: one decimal, or two when the value has them (so 38.25 never shows as 38.3)."""
    text = f"{value:.2f}"
    return text[:-1] if text.endswith("0") else text


def _number(value: float) -> Number:
    return Number(_temp(value))


def _phase(phase: Phase) -> Message:
    phase = Phase(phase)
    return Message(_PHASE_WORDS.get(phase, phase.value.replace("_", " ")))


def _where(temperature_c: float, context: TriageContext) -> Message:
    """ "Temperature 38.4 °C on Day +5 (aplasia)"."""
    values = {"temperature": _number(temperature_c), "phase": _phase(context.phase)}
    if context.day is None:
        return Message(gettext_noop("Temperature %(temperature)s °C (%(phase)s)"), values)
    day = "0" if context.day == 0 else f"{context.day:+d}"
    return Message(gettext_noop("Temperature %(temperature)s °C on Day %(day)s (%(phase)s)"), {**values, "day": day})


def _label(code: str) -> Message | str:
    label = SYMPTOM_LABELS.get(code)
    return code if label is None else Message(label)


def _grade_label(grade: int) -> Message | str:
    return Message(GRADE_LABELS[grade]) if grade in GRADE_LABELS else str(grade)


def _graded(code: str, grade: int, *, lower: bool = False) -> Message:
    """ "Rash graded 2 (Moderate)"; `lower`: "rash graded 2 (moderate)"."""
    if lower:
        symptom = Message(_LOWER_LABELS[code]) if code in _LOWER_LABELS else _label(code)
        name = Message(_GRADE_WORDS[grade]) if grade in _GRADE_WORDS else str(grade)
    else:
        symptom, name = _label(code), _grade_label(grade)
    return Message(
        gettext_noop("%(symptom)s graded %(grade)s (%(grade_name)s)"),
        {"symptom": symptom, "grade": str(grade), "grade_name": name},
    )


def _symptom_order(code: str) -> tuple[int, str]:
    return (SYMPTOM_CODES.index(code), "") if code in SYMPTOM_CODES else (len(SYMPTOM_CODES), code)


def _ago(delta: timedelta) -> Message:
    hours = int(abs(delta).total_seconds() // 3600)
    if hours < 24:
        amount, unit = hours, "hour"
    else:
        amount, unit = hours // 24, "day"
    return Message(_AGO[unit, amount == 1, delta >= timedelta(0)], {"count": amount})


def _finding(rule: str, kind: AlertKind, severity: Severity, message: Message) -> Finding:
    return Finding(rule, kind, severity, message.english(), message)


# --- the rules ---------------------------------------------------------------------------------------------


def is_fever(temperature_c: float | None, config: TriageConfig = DEFAULT_TRIAGE_CONFIG) -> bool:
    """A reading at or above `fever_c`."""
    return temperature_c is not None and temperature_c >= config.fever_c


def _neutropenia(context: TriageContext, at: datetime, config: TriageConfig) -> Message | None:
    if context.phase == Phase.APLASIA:
        return Message(gettext_noop("not yet engrafted"))
    anc = context.latest_anc
    if (
        anc is not None
        and anc.value < config.neutropenia_anc
        and timedelta(0) <= at - anc.collected_at <= timedelta(days=config.neutropenia_anc_days)
    ):
        return Message(
            gettext_noop("neutropenic: ANC %(anc)s x10^9/L, %(ago)s"),
            {"anc": Number(f"{anc.value:g}"), "ago": _ago(at - anc.collected_at)},
        )
    return None


def known_neutropenia(context: TriageContext, at: datetime, config: TriageConfig = DEFAULT_TRIAGE_CONFIG) -> str | None:
    """Why the patient is known to be neutropenic at `at`, in plain words, or None.

    Not yet engrafted after Day 0 (phase aplasia), whatever the day; or the latest ANC below
    `neutropenia_anc`, taken at most `neutropenia_anc_days` before `at` (both ends inclusive).
    """
    why = _neutropenia(context, at, config)
    return None if why is None else why.english()


def _window(context: TriageContext, at: datetime, config: TriageConfig) -> Message | None:
    neutropenia = _neutropenia(context, at, config)
    if neutropenia is not None:
        return neutropenia
    phase, day = context.phase, context.day
    if phase == Phase.MOBILISATION:
        return Message(gettext_noop("mobilisation"))
    if phase == Phase.COLLECTION and (
        context.days_since_first_apheresis is None
        or context.days_since_first_apheresis <= config.high_risk_days_after_first_apheresis
    ):
        return Message(gettext_noop("stem cell collection"))
    if phase_index(phase) >= phase_index(Phase.CONDITIONING) and (day is None or day <= config.urgent_fever_until_day):
        return Message(gettext_noop("conditioning to Day +%(day)s"), {"day": config.urgent_fever_until_day})
    return None


def high_risk_window(context: TriageContext, at: datetime, config: TriageConfig = DEFAULT_TRIAGE_CONFIG) -> str | None:
    """Why a report at `at` is in the high-risk window (module docstring), in plain words, or None outside it."""
    window = _window(context, at, config)
    return None if window is None else window.english()


def _sustained_partner(current: Reading, earlier: Sequence[Reading], config: TriageConfig) -> Reading | None:
    """The latest earlier reading that makes `current` a sustained fever, if any."""
    if current.temperature_c < config.neutropenic_sustained_c:
        return None
    lookback = timedelta(hours=config.neutropenic_lookback_hours)
    apart = timedelta(minutes=config.neutropenic_sustained_minutes)
    partners = [
        reading
        for reading in earlier
        if reading.temperature_c >= config.neutropenic_sustained_c
        and apart <= current.recorded_at - reading.recorded_at <= lookback
    ]
    return max(partners, key=lambda reading: reading.recorded_at, default=None)


def neutropenic_fever(
    current: Reading, earlier: Sequence[Reading], config: TriageConfig = DEFAULT_TRIAGE_CONFIG
) -> bool:
    """The IDSA fever definition, as configured, for the reading `current`.

    True when `current` is at or above `neutropenic_single_c`, or when `current` and an earlier reading are
    both at or above `neutropenic_sustained_c` and the earlier one was taken at least
    `neutropenic_sustained_minutes` and at most `neutropenic_lookback_hours` before `current` (both bounds
    inclusive). Readings taken after `current` are ignored; readings in between are not looked at. Whether
    the patient is in aplasia is the caller's question (`triage` asks it).
    """
    if current.temperature_c >= config.neutropenic_single_c:
        return True
    return _sustained_partner(current, earlier, config) is not None


def _neutropenic_detail(current: Reading, earlier: Sequence[Reading], config: TriageConfig) -> Message:
    if current.temperature_c >= config.neutropenic_single_c:
        return Message(
            gettext_noop("one reading at or above %(threshold)s °C"),
            {"threshold": _number(config.neutropenic_single_c)},
        )
    partner = _sustained_partner(current, earlier, config)
    if partner is None:  # not reached: only called when neutropenic_fever() is True
        return Message(gettext_noop("not met"))
    minutes = int((current.recorded_at - partner.recorded_at).total_seconds() // 60)
    return Message(
        gettext_noop("two readings at or above %(threshold)s °C, %(temperature)s °C %(minutes)s minutes earlier"),
        {
            "threshold": _number(config.neutropenic_sustained_c),
            "temperature": _number(partner.temperature_c),
            "minutes": minutes,
        },
    )


def _fever_findings(
    report: ReportInput, context: TriageContext, config: TriageConfig, neutropenic: bool, window: Message | None
) -> list[Finding]:
    if report.temperature_c is None or not is_fever(report.temperature_c, config):
        return []
    where = _where(report.temperature_c, context)
    findings = []
    if window is not None:
        if neutropenic:
            current = Reading(report.recorded_at, report.temperature_c)
            detail = _neutropenic_detail(current, context.recent_readings, config)
            reason = Message(
                gettext_noop(
                    "%(where)s, in the high-risk window (%(window)s); meets the neutropenic-fever definition "
                    "(%(detail)s)"
                ),
                {"where": where, "window": window, "detail": detail},
            )
        else:
            reason = Message(
                gettext_noop("%(where)s, in the high-risk window (%(window)s)"), {"where": where, "window": window}
            )
        findings.append(_finding(RULE_FEVER_HIGH_RISK, AlertKind.FEVER, Severity.URGENT, reason))
    else:
        reason = Message(gettext_noop("%(where)s, outside the high-risk window"), {"where": where})
        findings.append(_finding(RULE_FEVER_OUTSIDE, AlertKind.FEVER, Severity.SAME_DAY, reason))
    chills = report.symptoms.get(_CHILLS, _ABSENT)
    if chills > _ABSENT:
        reason = Message(
            gettext_noop("Red flag: temperature %(temperature)s °C with %(symptom)s"),
            {"temperature": _number(report.temperature_c), "symptom": _graded(_CHILLS, chills, lower=True)},
        )
        findings.append(_finding(RULE_RED_FLAG_FEVER_CHILLS, AlertKind.RED_FLAG, Severity.URGENT, reason))
    return findings


def _low_temperature_finding(
    report: ReportInput, context: TriageContext, config: TriageConfig, window: Message | None
) -> Finding | None:
    """A low reading in the high-risk window (sepsis can bring the temperature down instead of up)."""
    if report.temperature_c is None or window is None or report.temperature_c >= config.low_temperature_c:
        return None
    very_low = report.temperature_c < config.very_low_temperature_c
    threshold = config.very_low_temperature_c if very_low else config.low_temperature_c
    reason = Message(
        gettext_noop("%(where)s: below %(threshold)s °C in the high-risk window (%(window)s)"),
        {"where": _where(report.temperature_c, context), "threshold": _number(threshold), "window": window},
    )
    if very_low:
        return _finding(RULE_TEMPERATURE_VERY_LOW, AlertKind.LOW_TEMPERATURE, Severity.URGENT, reason)
    return _finding(RULE_TEMPERATURE_LOW, AlertKind.LOW_TEMPERATURE, Severity.SAME_DAY, reason)


def _symptom_findings(
    report: ReportInput, context: TriageContext, config: TriageConfig, window: Message | None
) -> list[Finding]:
    """Red-flag, severe and worsening findings: at most one per symptom, the most specific."""
    urgent_grade = config.red_flag_grade_high_risk if window is not None else config.red_flag_grade
    same_day_grade = urgent_grade if window is not None else config.red_flag_same_day_grade
    red_flags, mild_red_flags, severe, worse = [], [], [], []
    has_previous = bool(context.previous_symptoms)
    for code in sorted(report.symptoms, key=_symptom_order):
        grade = report.symptoms[code]
        previous = context.previous_symptoms.get(code, _ABSENT)
        if code in config.red_flag_symptoms and grade >= urgent_grade:
            red_flags.append(_graded(code, grade))
        elif code in config.red_flag_symptoms and grade >= same_day_grade:
            mild_red_flags.append(_graded(code, grade))
        elif grade >= config.severe_grade:
            if has_previous and previous != grade:
                severe.append(
                    Message(
                        gettext_noop("%(symptom)s, previously %(previous)s"),
                        {"symptom": _graded(code, grade), "previous": str(previous)},
                    )
                )
            else:
                severe.append(_graded(code, grade))
        elif has_previous and grade - previous >= config.worsening_rise:
            worse.append(
                Message(
                    gettext_noop("%(symptom)s from %(before)s to %(after)s (%(grade_name)s)"),
                    {
                        "symptom": _label(code),
                        "before": str(previous),
                        "after": str(grade),
                        "grade_name": _grade_label(grade),
                    },
                )
            )
    findings = []
    if red_flags:
        symptoms = Joined(tuple(red_flags))
        if window is not None:
            reason = Message(
                gettext_noop("Red flag in the high-risk window (%(window)s): %(symptoms)s"),
                {"window": window, "symptoms": symptoms},
            )
        else:
            reason = Message(gettext_noop("Red flag: %(symptoms)s"), {"symptoms": symptoms})
        findings.append(_finding(RULE_RED_FLAG_SYMPTOM, AlertKind.RED_FLAG, Severity.URGENT, reason))
    if mild_red_flags:
        reason = Message(
            gettext_noop("Red flag, mild, outside the high-risk window: %(symptoms)s"),
            {"symptoms": Joined(tuple(mild_red_flags))},
        )
        findings.append(_finding(RULE_RED_FLAG_SYMPTOM, AlertKind.RED_FLAG, Severity.SAME_DAY, reason))
    if severe:
        reason = Message(gettext_noop("Severe: %(symptoms)s"), {"symptoms": Joined(tuple(severe))})
        findings.append(_finding(RULE_SEVERE, AlertKind.SEVERE_SYMPTOM, Severity.SAME_DAY, reason))
    if worse:
        reason = Message(
            gettext_noop("Worse since the previous report: %(symptoms)s"), {"symptoms": Joined(tuple(worse))}
        )
        findings.append(_finding(RULE_WORSENING, AlertKind.WORSENING, Severity.SAME_DAY, reason))
    return findings


def _pseudo_relapse_finding(report: ReportInput, context: TriageContext, config: TriageConfig) -> Finding | None:
    changed = [
        (code, context.previous_symptoms.get(code, _ABSENT), report.symptoms[code])
        for code in MS_SYMPTOMS
        if report.symptoms.get(code, _ABSENT) > context.previous_symptoms.get(code, _ABSENT)
    ]
    if not changed:
        return None
    causes = []
    if report.temperature_c is not None and is_fever(report.temperature_c, config):
        causes.append(
            Message(
                gettext_noop("a fever (%(temperature)s °C in this report)"),
                {"temperature": _number(report.temperature_c)},
            )
        )
    else:
        window = timedelta(days=config.pseudo_relapse_window_days)
        fevers = [
            reading
            for reading in context.recent_readings
            if is_fever(reading.temperature_c, config) and abs(report.recorded_at - reading.recorded_at) <= window
        ]
        if fevers:
            latest = max(fevers, key=lambda reading: reading.recorded_at)
            causes.append(
                Message(
                    gettext_noop("a fever (%(temperature)s °C, %(ago)s)"),
                    {
                        "temperature": _number(latest.temperature_c),
                        "ago": _ago(report.recorded_at - latest.recorded_at),
                    },
                )
            )
    if context.recent_infection:
        causes.append(
            Message(
                gettext_noop("an infection recorded in the last %(days)s days"),
                {"days": config.pseudo_relapse_window_days},
            )
        )
    if not causes:
        return None
    symptoms = Joined(
        tuple(
            Message(
                gettext_noop("%(symptom)s from %(before)s to %(after)s"),
                {"symptom": _label(code), "before": str(was), "after": str(now)},
            )
            for code, was, now in changed
        )
    )
    cause = (
        causes[0]
        if len(causes) == 1
        else Message(gettext_noop("%(first)s and %(second)s"), {"first": causes[0], "second": causes[1]})
    )
    reason = Message(
        gettext_noop(
            "Possible pseudo-relapse: new or worse MS symptoms (%(symptoms)s) with %(causes)s. "
            "For the transplant and the neurology team."
        ),
        {"symptoms": symptoms, "causes": cause},
    )
    return _finding(RULE_PSEUDO_RELAPSE, AlertKind.PSEUDO_RELAPSE, Severity.SAME_DAY, reason)


def _routine_finding(report: ReportInput, config: TriageConfig) -> Finding | None:
    graded = [
        _graded(code, grade)
        for code in sorted(report.symptoms, key=_symptom_order)
        if (grade := report.symptoms[code]) >= config.routine_grade
    ]
    if not graded:
        return None
    reason = Message(gettext_noop("For the weekly review: %(symptoms)s"), {"symptoms": Joined(tuple(graded))})
    return _finding(RULE_ROUTINE, AlertKind.ROUTINE_REVIEW, Severity.ROUTINE, reason)


def triage(report: ReportInput, context: TriageContext, config: TriageConfig = DEFAULT_TRIAGE_CONFIG) -> TriageResult:
    """Apply the rules of the module docstring to one report."""
    window = _window(context, report.recorded_at, config)
    neutropenic = (
        _neutropenia(context, report.recorded_at, config) is not None
        and report.temperature_c is not None
        and neutropenic_fever(Reading(report.recorded_at, report.temperature_c), context.recent_readings, config)
    )
    findings = _fever_findings(report, context, config, neutropenic, window)
    low = _low_temperature_finding(report, context, config, window)
    if low is not None:
        findings.append(low)
    findings += _symptom_findings(report, context, config, window)
    if report.feels_urgent:
        if window is not None:
            reason = Message(
                gettext_noop("The patient says this feels urgent, in the high-risk window (%(window)s)"),
                {"window": window},
            )
            findings.append(_finding(RULE_FEELS_URGENT, AlertKind.FEELS_URGENT, Severity.URGENT, reason))
        else:
            reason = Message(gettext_noop("The patient says this feels urgent"))
            findings.append(_finding(RULE_FEELS_URGENT, AlertKind.FEELS_URGENT, Severity.SAME_DAY, reason))
    pseudo = _pseudo_relapse_finding(report, context, config)
    if pseudo is not None:
        findings.append(pseudo)
    if not findings:
        routine = _routine_finding(report, config)
        if routine is not None:
            findings.append(routine)
    ordered = tuple(sorted(findings, key=lambda finding: -severity_rank(finding.severity)))  # stable
    level = max_severity(*(finding.severity for finding in ordered))
    return TriageResult(
        level=level,
        findings=ordered,
        neutropenic_fever=neutropenic,
        pseudo_relapse=pseudo is not None,
        call_unit_now=level == Severity.URGENT,
        high_risk=None if window is None else window.english(),
    )


# --- what the patient is told ------------------------------------------------------------------------------

PHONE_PLACEHOLDER = "{phone}"
DAY_PLACEHOLDER = "{day}"


_ADVICE: dict[Severity, str] = {
    Severity.URGENT: gettext_noop(
        "Call the unit now on {phone}, day or night. Do not wait for the team to contact you."
    ),
    Severity.SAME_DAY: gettext_noop(
        "Your team will look at this report today and contact you. "
        "If you feel worse before they do, call the unit on {phone}, day or night."
    ),
    Severity.ROUTINE: gettext_noop(
        "Thank you. Your team will look at this report in their weekly review. "
        "If anything gets worse, send a new report or call the unit on {phone}."
    ),
    Severity.NONE: gettext_noop(
        "Thank you. Nothing in this report needs action. Keep taking your temperature as planned."
    ),
}

# A same-day report outside the team's working hours (working_hours.py): never promise "today" then.
_SAME_DAY_LATER_ADVICE = gettext_noop(
    "Your team is not at work now. They will look at this report and contact you by {day}. "
    "If you feel worse before then, call the unit on {phone}, day or night, or your emergency number."
)

_PSEUDO_RELAPSE_ADVICE = gettext_noop(
    "A fever or an infection can bring back or worsen MS symptoms for a while; "
    "both your transplant team and your neurology team will see this report."
)


def _same(text: str) -> str:
    return text


def patient_advice(result: TriageResult) -> str:
    """Plain words for the patient about `result` (see `advice`)."""
    return advice(result.level, result.pseudo_relapse)


def advice(level: Severity, pseudo_relapse: bool = False, *, contact_today: bool = True, translate=_same) -> str:
    """Plain words for the patient about a report triaged `level`: the one wording, for the page and the API.

    The text may contain the placeholders `{phone}` (PHONE_PLACEHOLDER) and, when `contact_today` is false
    (the team's working day is over: `working_hours.contact_promise`), `{day}` (DAY_PLACEHOLDER), and no other
    braces: the caller fills them with the centre's 24-hour number and the day the team will contact the
    patient by. For an URGENT report the text starts "Call the unit now on {phone}". `translate` (gettext in
    the caller's layer) turns each whole sentence group into the patient's language before it is joined.
    """
    level = Severity(level)
    if level == Severity.SAME_DAY and not contact_today:
        text = translate(_SAME_DAY_LATER_ADVICE)
    else:
        text = translate(_ADVICE[level])
    if pseudo_relapse:
        text += " " + translate(_PSEUDO_RELAPSE_ADVICE)
    return text
