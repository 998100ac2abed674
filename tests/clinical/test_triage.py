"""Symptom and temperature triage (recovery/clinical/triage.py).

The reference report is taken at noon UTC on 1 Mar 2026. Unless a test says otherwise the patient is in
aplasia on Day +5 with no previous report, no earlier readings and no ANC, and the default configuration
applies (fever 38.0 °C; the high-risk window from mobilisation to 2 days after the first apheresis, from
conditioning through Day +100, and while neutropenic: aplasia or an ANC below 0.5 in the last 7 days; low
temperature below 36.0 °C, very low below 35.5 °C; IDSA 38.3 °C single or 38.0 °C twice 60 minutes apart
within 24 hours; red flags urgent from grade 1 in the window, from grade 2 outside it and same day at grade 1;
severe 3, worsening +2, pseudo-relapse window 7 days, routine from grade 1).
"""

import ast
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recovery.clinical import triage as triage_module
from recovery.clinical.config import DEFAULT_TRIAGE_CONFIG, TriageConfig
from recovery.clinical.phases import Phase
from recovery.clinical.triage import (
    GENERAL_SYMPTOMS,
    GRADE_LABELS,
    MS_SYMPTOMS,
    SYMPTOM_CODES,
    SYMPTOM_LABELS,
    AlertKind,
    CountReading,
    Finding,
    Reading,
    ReportInput,
    Severity,
    TriageContext,
    TriageResult,
    high_risk_window,
    known_neutropenia,
    max_severity,
    neutropenic_fever,
    patient_advice,
    severity_rank,
    triage,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

URGENT = Severity.URGENT
SAME_DAY = Severity.SAME_DAY
ROUTINE = Severity.ROUTINE
NONE = Severity.NONE

E = Phase.EVALUATION
MOB = Phase.MOBILISATION
COL = Phase.COLLECTION
CON = Phase.CONDITIONING
APL = Phase.APLASIA
EAR = Phase.EARLY_RECOVERY
REC = Phase.RECOVERY
RCN = Phase.RECONSTITUTION
FUP = Phase.FOLLOW_UP

API_SYMPTOM_CODES = (
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
    "vision",
    "weakness",
    "numbness",
    "balance",
    "bladder",
    "cognition",
)


def before(minutes: int = 0, *, hours: int = 0, days: int = 0) -> datetime:
    """The moment that long before the reference report."""
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def run(
    temp: float | None = None,
    symptoms: dict[str, int] | None = None,
    *,
    feels_urgent: bool = False,
    phase: Phase = APL,
    day: int | None = 5,
    previous: dict[str, int] | None = None,
    readings: tuple[Reading, ...] = (),
    infection: bool = False,
    since_apheresis: int | None = None,
    anc: CountReading | None = None,
    config: TriageConfig = DEFAULT_TRIAGE_CONFIG,
) -> TriageResult:
    """Triage one report at NOW with the given context."""
    report = ReportInput(recorded_at=NOW, temperature_c=temp, symptoms=symptoms or {}, feels_urgent=feels_urgent)
    context = TriageContext(
        phase=phase,
        day=day,
        previous_symptoms=previous or {},
        recent_readings=readings,
        recent_infection=infection,
        days_since_first_apheresis=since_apheresis,
        latest_anc=anc,
    )
    return triage(report, context, config)


def rules(result: TriageResult) -> list[str]:
    return [finding.rule for finding in result.findings]


# --- the public vocabulary -------------------------------------------------------------------------------


def test_severity_values_match_the_api():
    """Severity values are the API's triage levels."""
    assert [level.value for level in Severity] == ["urgent", "same_day", "routine", "none"]


@pytest.mark.parametrize(
    ("level", "rank"),
    [
        pytest.param(URGENT, 3, id="urgent_3"),
        pytest.param(SAME_DAY, 2, id="same_day_2"),
        pytest.param(ROUTINE, 1, id="routine_1"),
        pytest.param(NONE, 0, id="none_0"),
    ],
)
def test_severity_rank(level, rank):
    """severity_rank orders urgent > same_day > routine > none as 3, 2, 1, 0."""
    assert severity_rank(level) == rank


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        pytest.param((), NONE, id="nothing_is_none"),
        pytest.param((ROUTINE,), ROUTINE, id="single"),
        pytest.param((ROUTINE, URGENT, SAME_DAY), URGENT, id="urgent_wins"),
        pytest.param((NONE, SAME_DAY, ROUTINE), SAME_DAY, id="same_day_beats_routine"),
        pytest.param((NONE, NONE), NONE, id="all_none"),
    ],
)
def test_max_severity(levels, expected):
    """max_severity returns the most pressing level, NONE when given none."""
    assert max_severity(*levels) is expected


def test_alert_kind_values():
    """Alert kinds are the stable strings stored on alerts."""
    assert [kind.value for kind in AlertKind] == [
        "fever",
        "red_flag",
        "severe_symptom",
        "worsening",
        "feels_urgent",
        "low_temperature",
        "pseudo_relapse",
        "routine_review",
        "delayed_engraftment",
        "possible_graft_failure",
        "ebv_viraemia",
    ]


def test_symptom_codes_are_the_api_codes_plus_the_red_flags_it_lacks():
    """SYMPTOM_CODES holds every api.md code plus the section 6.3 red flags, general symptoms first, no duplicates."""
    red_flags = {"confusion", "chest_pain", "fainting", "blistering_rash", "line_site"}
    assert set(SYMPTOM_CODES) == {*API_SYMPTOM_CODES, *red_flags}
    assert len(SYMPTOM_CODES) == len(set(SYMPTOM_CODES))
    assert SYMPTOM_CODES == GENERAL_SYMPTOMS + MS_SYMPTOMS
    assert MS_SYMPTOMS == ("vision", "weakness", "numbness", "balance", "bladder", "cognition")


def test_every_symptom_has_a_plain_label_and_every_grade_a_name():
    """Every code has a non-empty label (and no others), and grades 0-4 have the PRO-CTCAE names."""
    assert set(SYMPTOM_LABELS) == set(SYMPTOM_CODES)
    assert all(label and "_" not in label for label in SYMPTOM_LABELS.values())
    assert SYMPTOM_LABELS["shortness_of_breath"] == "Shortness of breath"
    assert SYMPTOM_LABELS["mouth_sores"] == "Mouth or throat sores"
    assert SYMPTOM_LABELS["vision"] == "Eyesight (blurred or lost vision)"
    assert GRADE_LABELS == {0: "None", 1: "Mild", 2: "Moderate", 3: "Severe", 4: "Very severe"}


def test_default_red_flag_symptoms_are_known_codes():
    """The configured red-flag symptoms are symptom codes the rules know."""
    assert set(DEFAULT_TRIAGE_CONFIG.red_flag_symptoms) <= set(GENERAL_SYMPTOMS)


def test_the_rules_module_is_pure_and_has_no_temperature_literals():
    """triage.py imports nothing from Django, reads no clock, and writes no float literal (thresholds are config)."""
    source = Path(triage_module.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith("django") for name in imported)
    assert not re.search(r"\b(now|today|utcnow)\(", source)
    floats = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and type(node.value) is float]
    assert floats == []


# --- temperature thresholds --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temp", "phase", "day", "level", "fever_rule"),
    [
        pytest.param(None, APL, 5, NONE, None, id="no_reading_aplasia"),
        pytest.param(36.8, APL, 5, NONE, None, id="36.8_aplasia"),
        pytest.param(37.9, APL, 5, NONE, None, id="37.9_aplasia"),
        pytest.param(38.0, APL, 5, URGENT, "fever.high_risk_window", id="38.0_aplasia"),
        pytest.param(38.2, APL, 5, URGENT, "fever.high_risk_window", id="38.2_aplasia"),
        pytest.param(38.3, APL, 5, URGENT, "fever.high_risk_window", id="38.3_aplasia"),
        pytest.param(40.1, APL, 5, URGENT, "fever.high_risk_window", id="40.1_aplasia"),
        pytest.param(37.9, RCN, 200, NONE, None, id="37.9_reconstitution"),
        pytest.param(38.0, RCN, 200, SAME_DAY, "fever.outside_window", id="38.0_reconstitution"),
        pytest.param(38.2, RCN, 200, SAME_DAY, "fever.outside_window", id="38.2_reconstitution"),
        pytest.param(38.3, RCN, 200, SAME_DAY, "fever.outside_window", id="38.3_reconstitution"),
        pytest.param(37.9, COL, -20, NONE, None, id="37.9_collection"),
        pytest.param(38.0, COL, -20, SAME_DAY, "fever.outside_window", id="38.0_collection"),
    ],
)
def test_fever_threshold(temp, phase, day, level, fever_rule):
    """A reading of 38.0 °C or more is a fever (urgent in the high-risk window); 37.9 °C is not."""
    result = run(temp, phase=phase, day=day, since_apheresis=10 if phase is COL else None)
    assert result.level is level
    assert rules(result) == ([] if fever_rule is None else [fever_rule])
    assert result.call_unit_now is (level is URGENT)
    if fever_rule is not None:
        assert result.findings[0].kind is AlertKind.FEVER


@pytest.mark.parametrize(
    ("phase", "day", "since_apheresis", "anc", "window"),
    [
        pytest.param(E, None, None, None, None, id="evaluation"),
        pytest.param(MOB, None, None, None, "mobilisation", id="mobilisation_no_day0"),
        pytest.param(MOB, -33, None, None, "mobilisation", id="mobilisation"),
        pytest.param(COL, -30, 0, None, "stem cell collection", id="first_apheresis_day"),
        pytest.param(COL, -28, 2, None, "stem cell collection", id="two_days_after_first_apheresis"),
        pytest.param(COL, -27, 3, None, None, id="three_days_after_first_apheresis"),
        pytest.param(COL, -6, 24, None, None, id="collection_day_before_conditioning"),
        pytest.param(CON, -5, 25, None, "conditioning to Day +100", id="conditioning_start"),
        pytest.param(CON, None, 25, None, "conditioning to Day +100", id="conditioning_without_day0"),
        pytest.param(CON, -1, 29, None, "conditioning to Day +100", id="conditioning_last_day"),
        pytest.param(APL, 0, 30, None, "not yet engrafted", id="aplasia_day0"),
        pytest.param(APL, 35, 65, None, "not yet engrafted", id="aplasia_late_engraftment"),
        pytest.param(APL, 101, 131, None, "not yet engrafted", id="aplasia_day_101"),
        pytest.param(APL, 400, 430, None, "not yet engrafted", id="never_engrafted_day_400"),
        pytest.param(EAR, 11, 41, None, "conditioning to Day +100", id="early_recovery"),
        pytest.param(REC, 90, 120, None, "conditioning to Day +100", id="recovery_start"),
        pytest.param(REC, 100, 130, None, "conditioning to Day +100", id="recovery_day_100"),
        pytest.param(REC, 101, 131, None, None, id="recovery_day_101"),
        pytest.param(REC, 179, 209, None, None, id="recovery_end"),
        pytest.param(RCN, 180, 210, None, None, id="reconstitution"),
        pytest.param(FUP, 730, 760, None, None, id="follow_up"),
        pytest.param(
            REC,
            120,
            150,
            CountReading(before(days=7), 0.49),
            "neutropenic: ANC 0.49 x10^9/L, 7 days before this report",
            id="anc_0.49_7_days_ago",
        ),
        pytest.param(REC, 120, 150, CountReading(before(1, days=7), 0.49), None, id="anc_0.49_7_days_1_min_ago"),
        pytest.param(REC, 120, 150, CountReading(before(hours=3), 0.5), None, id="anc_0.5_is_not_neutropenic"),
        pytest.param(REC, 120, 150, CountReading(NOW + timedelta(hours=1), 0.1), None, id="anc_after_the_report"),
        pytest.param(
            COL,
            -10,
            20,
            CountReading(before(hours=3), 0.2),
            "neutropenic: ANC 0.2 x10^9/L, 3 hours before this report",
            id="low_anc_after_collection",
        ),
    ],
)
def test_the_high_risk_window_follows_the_patient(phase, day, since_apheresis, anc, window):
    """A fever is urgent from mobilisation until collection, from conditioning to Day +100 and while neutropenic."""
    result = run(38.0, phase=phase, day=day, since_apheresis=since_apheresis, anc=anc)
    context = TriageContext(phase, day, {}, (), days_since_first_apheresis=since_apheresis, latest_anc=anc)
    assert high_risk_window(context, NOW) == window
    assert result.high_risk == window
    assert result.level is (URGENT if window else SAME_DAY)
    assert rules(result) == ["fever.high_risk_window" if window else "fever.outside_window"]
    assert result.findings[0].reason.endswith(
        f", in the high-risk window ({window})" if window else ", outside the high-risk window"
    )


# --- neutropenic fever -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temp", "readings", "expected"),
    [
        pytest.param(38.3, (), True, id="single_38.3"),
        pytest.param(38.2, (), False, id="single_38.2"),
        pytest.param(38.0, (), False, id="single_38.0"),
        pytest.param(38.0, (Reading(before(60), 38.0),), True, id="two_38.0_60_min_apart"),
        pytest.param(38.0, (Reading(before(59), 38.0),), False, id="two_38.0_59_min_apart"),
        pytest.param(38.0, (Reading(before(60), 37.9),), False, id="earlier_37.9"),
        pytest.param(37.9, (Reading(before(60), 38.5),), False, id="current_37.9_after_38.5"),
        pytest.param(38.1, (Reading(before(hours=24), 38.0),), True, id="earlier_exactly_24h"),
        pytest.param(38.1, (Reading(before(1, hours=24), 38.0),), False, id="earlier_24h_1min"),
        pytest.param(38.1, (Reading(NOW + timedelta(minutes=60), 38.0),), False, id="later_reading_ignored"),
        pytest.param(
            38.0,
            (Reading(before(20), 38.4), Reading(before(hours=30), 38.4), Reading(before(90), 38.0)),
            True,
            id="picks_the_qualifying_reading_in_any_order",
        ),
    ],
)
def test_neutropenic_fever_definition(temp, readings, expected):
    """IDSA: one reading >= 38.3 °C, or this and an earlier reading >= 38.0 °C 60 min to 24 h apart."""
    assert neutropenic_fever(Reading(NOW, temp), readings) is expected
    assert run(temp, readings=readings, phase=APL).neutropenic_fever is expected


@pytest.mark.parametrize(
    ("phase", "day"),
    [
        pytest.param(CON, -3, id="conditioning"),
        pytest.param(EAR, 15, id="early_recovery"),
        pytest.param(REC, 95, id="recovery"),
        pytest.param(COL, -20, id="collection"),
        pytest.param(FUP, 800, id="follow_up"),
    ],
)
def test_neutropenic_fever_only_when_known_to_be_neutropenic(phase, day):
    """A fever is marked neutropenic in aplasia or with a recent ANC below 0.5, otherwise never."""
    readings = (Reading(before(120), 38.6),)
    assert run(39.5, phase=phase, day=day, readings=readings).neutropenic_fever is False
    assert run(39.5, phase=APL, day=5, readings=readings).neutropenic_fever is True
    low = CountReading(before(days=2), 0.3)
    assert known_neutropenia(TriageContext(phase, day, {}, (), latest_anc=low), NOW) is not None
    result = run(39.5, phase=phase, day=day, readings=readings, anc=low)
    assert result.neutropenic_fever is True
    assert result.level is URGENT


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("day", [None, -40, -5, 0, 14, 100, 101, 400, 2000])
@pytest.mark.parametrize("anc", [None, 0.1, 0.49])
def test_a_neutropenic_fever_is_never_less_than_urgent(phase, day, anc):
    """Whatever the phase, day or count, a report marked as neutropenic fever is urgent and says call now."""
    count = None if anc is None else CountReading(before(hours=12), anc)
    result = run(38.3, phase=phase, day=day, anc=count, since_apheresis=40)
    if result.neutropenic_fever:
        assert result.level is URGENT
        assert result.call_unit_now is True
    assert result.neutropenic_fever is (phase is APL or anc is not None)


def test_neutropenic_fever_reasons():
    """The fever finding says which part of the neutropenic-fever definition was met."""
    single = run(38.4, phase=APL, day=5)
    assert single.findings[0].reason == (
        "Temperature 38.4 °C on Day +5 (aplasia), in the high-risk window (not yet engrafted); "
        "meets the neutropenic-fever definition (one reading at or above 38.3 °C)"
    )
    sustained = run(38.1, phase=APL, day=5, readings=(Reading(before(75), 38.2),))
    assert sustained.findings[0].reason == (
        "Temperature 38.1 °C on Day +5 (aplasia), in the high-risk window (not yet engrafted); "
        "meets the neutropenic-fever definition (two readings at or above 38.0 °C, 38.2 °C 75 minutes earlier)"
    )
    plain = run(38.1, phase=APL, day=0)
    assert plain.findings[0].reason == (
        "Temperature 38.1 °C on Day 0 (aplasia), in the high-risk window (not yet engrafted)"
    )


# --- red flags ---------------------------------------------------------------------------------------------


RED_FLAGS = ("chills", "shortness_of_breath", "chest_pain", "bleeding", "confusion", "fainting")
RED_FLAGS += ("blistering_rash", "line_site")


def test_the_red_flags_are_those_of_domain_md_6_3():
    """Shivering, breathlessness, chest pain, bleeding, confusion, fainting, blistering rash, line site."""
    assert DEFAULT_TRIAGE_CONFIG.red_flag_symptoms == RED_FLAGS


@pytest.mark.parametrize("symptom", RED_FLAGS)
@pytest.mark.parametrize(
    ("phase", "day", "grade", "level"),
    [
        pytest.param(APL, 5, 0, NONE, id="aplasia_grade_0"),
        pytest.param(APL, 5, 1, URGENT, id="aplasia_grade_1"),
        pytest.param(EAR, 40, 1, URGENT, id="early_recovery_grade_1"),
        pytest.param(MOB, None, 1, URGENT, id="mobilisation_grade_1"),
        pytest.param(REC, 100, 1, URGENT, id="day_100_grade_1"),
        pytest.param(REC, 101, 1, SAME_DAY, id="day_101_grade_1"),
        pytest.param(REC, 101, 2, URGENT, id="day_101_grade_2"),
        pytest.param(E, None, 0, NONE, id="evaluation_grade_0"),
        pytest.param(E, None, 1, SAME_DAY, id="evaluation_grade_1"),
        pytest.param(E, None, 2, URGENT, id="evaluation_grade_2"),
        pytest.param(FUP, 800, 1, SAME_DAY, id="follow_up_grade_1"),
        pytest.param(FUP, 800, 4, URGENT, id="follow_up_grade_4"),
    ],
)
def test_red_flags_are_red_flags_at_every_grade(symptom, phase, day, grade, level):
    """A red flag is urgent from grade 1 in the high-risk window; outside it, same day at 1 and urgent from 2."""
    result = run(symptoms={symptom: grade}, phase=phase, day=day)
    assert result.level is level
    assert rules(result) == ([] if level is NONE else ["red_flag.symptom"])
    assert result.call_unit_now is (level is URGENT)
    if level is not NONE:
        assert result.findings[0].kind is AlertKind.RED_FLAG


def test_shivering_alone_in_early_recovery_is_call_the_unit_now():
    """Shivering without a thermometer reading on Day +20: urgent, and the patient is told to call now."""
    result = run(None, {"chills": 1}, phase=EAR, day=20)
    assert result.level is URGENT
    assert patient_advice(result).startswith("Call the unit now on {phone}")
    assert result.findings[0].reason == (
        "Red flag in the high-risk window (conditioning to Day +100): Shivering or shaking chills graded 1 (Mild)"
    )


@pytest.mark.parametrize(
    ("temp", "chills", "phase", "day", "level", "expected_rules"),
    [
        pytest.param(
            38.0,
            1,
            RCN,
            200,
            URGENT,
            ["red_flag.fever_with_chills", "fever.outside_window", "red_flag.symptom"],
            id="fever_with_chills",
        ),
        pytest.param(
            38.0,
            1,
            APL,
            5,
            URGENT,
            ["fever.high_risk_window", "red_flag.fever_with_chills", "red_flag.symptom"],
            id="in_window_too",
        ),
        pytest.param(37.9, 1, RCN, 200, SAME_DAY, ["red_flag.symptom"], id="chills_with_37.9"),
        pytest.param(None, 2, RCN, 200, URGENT, ["red_flag.symptom"], id="chills_without_reading"),
        pytest.param(38.0, 0, RCN, 200, SAME_DAY, ["fever.outside_window"], id="fever_chills_graded_0"),
        pytest.param(38.0, None, RCN, 200, SAME_DAY, ["fever.outside_window"], id="fever_no_chills"),
    ],
)
def test_fever_with_chills_is_a_red_flag(temp, chills, phase, day, level, expected_rules):
    """A fever together with chills (any grade above 0) is urgent in any phase; chills alone are a red flag."""
    symptoms = {} if chills is None else {"chills": chills}
    result = run(temp, symptoms, phase=phase, day=day)
    assert result.level is level
    assert rules(result) == expected_rules


# --- severe, worsening, feels urgent -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("symptoms", "level", "expected_rules"),
    [
        pytest.param({"nausea": 2}, ROUTINE, ["symptom.routine"], id="nausea_2"),
        pytest.param({"nausea": 3}, SAME_DAY, ["symptom.severe"], id="nausea_3"),
        pytest.param({"diarrhoea": 4}, SAME_DAY, ["symptom.severe"], id="diarrhoea_4"),
        pytest.param({"vision": 3}, SAME_DAY, ["symptom.severe"], id="ms_symptom_3"),
        pytest.param({"bleeding": 3, "pain": 3}, URGENT, ["red_flag.symptom", "symptom.severe"], id="both"),
        pytest.param({"cough": 2, "pain": 1}, ROUTINE, ["symptom.routine"], id="all_below_3"),
    ],
)
def test_severe_symptoms(symptoms, level, expected_rules):
    """Any symptom graded 3-4 is same-day; a red-flag symptom raises the red flag instead of a severe finding."""
    result = run(symptoms=symptoms, phase=RCN, day=200)
    assert result.level is level
    assert rules(result) == expected_rules


@pytest.mark.parametrize(
    ("previous", "symptoms", "level", "expected_rules"),
    [
        pytest.param({"nausea": 1}, {"nausea": 2}, ROUTINE, ["symptom.routine"], id="rise_of_1"),
        pytest.param({"nausea": 0}, {"nausea": 2}, SAME_DAY, ["symptom.worsening"], id="rise_of_2"),
        pytest.param({"fatigue": 1}, {"nausea": 2}, SAME_DAY, ["symptom.worsening"], id="missing_code_counts_as_0"),
        pytest.param({"nausea": 1}, {"nausea": 3}, SAME_DAY, ["symptom.severe"], id="rise_to_severe_is_severe"),
        pytest.param({}, {"nausea": 2}, ROUTINE, ["symptom.routine"], id="no_previous_report"),
        pytest.param({"nausea": 2}, {"nausea": 0}, NONE, [], id="improvement"),
        pytest.param({"nausea": 2}, {"nausea": 2}, ROUTINE, ["symptom.routine"], id="unchanged"),
        pytest.param({"bleeding": 0}, {"bleeding": 2}, URGENT, ["red_flag.symptom"], id="red_flag_rising_to_2"),
        pytest.param({"bleeding": 0}, {"bleeding": 1}, SAME_DAY, ["red_flag.symptom"], id="red_flag_rising_to_1"),
    ],
)
def test_worsening_since_the_previous_report(previous, symptoms, level, expected_rules):
    """A rise of 2 grades since the previous report is same-day; +1, or no previous report, is not."""
    result = run(symptoms=symptoms, previous=previous, phase=RCN, day=200)
    assert result.level is level
    assert rules(result) == expected_rules


@pytest.mark.parametrize(
    ("temp", "symptoms", "phase", "day", "level", "expected_rules"),
    [
        pytest.param(None, {}, APL, 5, URGENT, ["patient.feels_urgent"], id="alone_in_aplasia"),
        pytest.param(None, {}, REC, 100, URGENT, ["patient.feels_urgent"], id="alone_on_day_100"),
        pytest.param(None, {}, REC, 101, SAME_DAY, ["patient.feels_urgent"], id="alone_on_day_101"),
        pytest.param(None, {}, E, None, SAME_DAY, ["patient.feels_urgent"], id="alone_in_evaluation"),
        pytest.param(None, {"fatigue": 1}, FUP, 800, SAME_DAY, ["patient.feels_urgent"], id="with_mild_symptom"),
        pytest.param(
            38.5, {}, RCN, 200, SAME_DAY, ["fever.outside_window", "patient.feels_urgent"], id="with_fever_outside"
        ),
        pytest.param(
            38.5, {}, APL, 5, URGENT, ["fever.high_risk_window", "patient.feels_urgent"], id="with_urgent_fever"
        ),
    ],
)
def test_feels_urgent_is_urgent_in_the_window_and_same_day_outside(temp, symptoms, phase, day, level, expected_rules):
    """When the patient says it feels urgent: urgent in the high-risk window, at least same day outside it."""
    result = run(temp, symptoms, feels_urgent=True, phase=phase, day=day)
    assert result.level is level
    assert rules(result) == expected_rules
    assert AlertKind.FEELS_URGENT in result.kinds


# --- low temperature ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temp", "phase", "day", "level", "expected_rules"),
    [
        pytest.param(36.0, APL, 5, NONE, [], id="36.0_aplasia"),
        pytest.param(35.9, APL, 5, SAME_DAY, ["temperature.low"], id="35.9_aplasia"),
        pytest.param(35.5, APL, 5, SAME_DAY, ["temperature.low"], id="35.5_aplasia"),
        pytest.param(35.4, APL, 5, URGENT, ["temperature.very_low"], id="35.4_aplasia"),
        pytest.param(34.0, MOB, -30, URGENT, ["temperature.very_low"], id="34.0_mobilisation"),
        pytest.param(35.9, REC, 100, SAME_DAY, ["temperature.low"], id="35.9_day_100"),
        pytest.param(35.4, REC, 101, NONE, [], id="35.4_day_101"),
        pytest.param(35.9, FUP, 800, NONE, [], id="35.9_follow_up"),
    ],
)
def test_low_temperature_in_the_window(temp, phase, day, level, expected_rules):
    """Below 36.0 °C in the high-risk window is same day, below 35.5 °C urgent; outside the window nothing."""
    result = run(temp, phase=phase, day=day)
    assert result.level is level
    assert rules(result) == expected_rules
    if expected_rules:
        assert result.findings[0].kind is AlertKind.LOW_TEMPERATURE


# --- pseudo-relapse ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temp", "symptoms", "previous", "readings", "infection", "expected"),
    [
        pytest.param(38.2, {"vision": 2}, {}, (), False, True, id="new_ms_symptom_with_fever_today"),
        pytest.param(None, {"weakness": 1}, {}, (Reading(before(days=6), 38.1),), False, True, id="fever_6_days"),
        pytest.param(None, {"weakness": 1}, {}, (Reading(before(days=7), 38.1),), False, True, id="fever_7_days"),
        pytest.param(
            None, {"weakness": 1}, {}, (Reading(before(1, days=7), 38.1),), False, False, id="fever_7_days_1_min"
        ),
        pytest.param(None, {"weakness": 1}, {}, (Reading(before(days=8), 38.1),), False, False, id="fever_8_days"),
        pytest.param(None, {"weakness": 1}, {}, (Reading(before(days=2), 37.9),), False, False, id="37.9_no_fever"),
        pytest.param(38.2, {"balance": 2}, {"balance": 2}, (), False, False, id="ms_symptom_unchanged"),
        pytest.param(38.2, {"balance": 1}, {"balance": 2}, (), False, False, id="ms_symptom_better"),
        pytest.param(38.2, {"balance": 3}, {"balance": 2}, (), False, True, id="ms_symptom_worse_by_1"),
        pytest.param(38.2, {"nausea": 2}, {}, (), False, False, id="general_symptom_is_not_ms"),
        pytest.param(None, {"numbness": 2}, {}, (), True, True, id="recent_infection"),
        pytest.param(None, {"numbness": 2}, {}, (), False, False, id="no_fever_no_infection"),
        pytest.param(37.0, {"cognition": 1}, {"bladder": 1}, (), False, False, id="normal_temperature"),
    ],
)
def test_pseudo_relapse(temp, symptoms, previous, readings, infection, expected):
    """New or worse MS symptoms with a fever (this report or within 7 days) or an infection: pseudo-relapse."""
    result = run(temp, symptoms, previous=previous, readings=readings, infection=infection, phase=RCN, day=200)
    assert result.pseudo_relapse is expected
    assert (AlertKind.PSEUDO_RELAPSE in result.kinds) is expected
    if expected:
        finding = next(f for f in result.findings if f.kind is AlertKind.PSEUDO_RELAPSE)
        assert finding.rule == "ms.pseudo_relapse"
        assert finding.severity is SAME_DAY
        assert "neurology" in finding.reason


def test_pseudo_relapse_alone_is_same_day_and_replaces_routine():
    """A pseudo-relapse without any other finding makes the report same-day, with no routine finding."""
    result = run(symptoms={"numbness": 1}, previous={"fatigue": 1}, infection=True, phase=RCN, day=200)
    assert result.level is SAME_DAY
    assert rules(result) == ["ms.pseudo_relapse"]
    assert result.findings[0].reason == (
        "Possible pseudo-relapse: new or worse MS symptoms (Numbness or tingling from 0 to 1) with an infection "
        "recorded in the last 7 days. For the transplant and the neurology team."
    )


def test_pseudo_relapse_reason_names_the_earlier_fever():
    """The reason names the most recent qualifying earlier fever and how long before the report it was."""
    readings = (Reading(before(days=6), 38.6), Reading(before(hours=30), 38.1), Reading(before(hours=2), 37.2))
    result = run(symptoms={"vision": 2, "balance": 1}, readings=readings, phase=RCN, day=200)
    assert result.findings[0].reason == (
        "Possible pseudo-relapse: new or worse MS symptoms (Eyesight (blurred or lost vision) from 0 to 2; "
        "Balance or coordination from 0 to 1) with a fever (38.1 °C, 1 day before this report). "
        "For the transplant and the neurology team."
    )


# --- routine and none --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("temp", "symptoms", "level", "expected_rules"),
    [
        pytest.param(None, {}, NONE, [], id="empty_report"),
        pytest.param(36.9, {}, NONE, [], id="normal_temperature_only"),
        pytest.param(None, dict.fromkeys(SYMPTOM_CODES, 0), NONE, [], id="every_symptom_0"),
        pytest.param(None, {"fatigue": 1}, ROUTINE, ["symptom.routine"], id="one_mild_symptom"),
        pytest.param(37.5, {"rash": 2, "cough": 1}, ROUTINE, ["symptom.routine"], id="moderate_symptoms"),
        pytest.param(None, {"nausea": 3, "fatigue": 1}, SAME_DAY, ["symptom.severe"], id="no_routine_beside_other"),
    ],
)
def test_routine_and_none(temp, symptoms, level, expected_rules):
    """Symptoms graded 1 or more with nothing else are routine; an empty or all-zero report is none."""
    result = run(temp, symptoms, phase=RCN, day=200)
    assert result.level is level
    assert rules(result) == expected_rules
    assert result.call_unit_now is False


# --- custom configuration ----------------------------------------------------------------------------------

CUSTOM = TriageConfig(
    fever_c=38.5,
    urgent_fever_until_day=30,
    neutropenic_single_c=39.0,
    neutropenic_sustained_c=38.5,
    neutropenic_sustained_minutes=120,
    neutropenic_lookback_hours=6,
    red_flag_symptoms=("cough",),
    red_flag_grade_high_risk=2,
    red_flag_grade=3,
    red_flag_same_day_grade=2,
    high_risk_days_after_first_apheresis=0,
    neutropenia_anc=1.0,
    neutropenia_anc_days=2,
    low_temperature_c=35.5,
    very_low_temperature_c=35.0,
    severe_grade=4,
    worsening_rise=1,
    pseudo_relapse_window_days=3,
    routine_grade=2,
)


@pytest.mark.parametrize(
    ("kwargs", "default_rules", "custom_rules"),
    [
        pytest.param({"temp": 38.2}, ["fever.high_risk_window"], [], id="fever_c"),
        pytest.param({"temp": 38.5}, ["fever.high_risk_window"], ["fever.high_risk_window"], id="fever_c_met"),
        pytest.param(
            {"temp": 38.6, "phase": EAR, "day": 31},
            ["fever.high_risk_window"],
            ["fever.outside_window"],
            id="urgent_fever_until_day",
        ),
        pytest.param(
            {"symptoms": {"cough": 2}}, ["symptom.routine"], ["red_flag.symptom"], id="red_flag_symptoms_and_grade"
        ),
        pytest.param(
            {"symptoms": {"bleeding": 3}}, ["red_flag.symptom"], ["symptom.routine"], id="bleeding_not_a_red_flag"
        ),
        pytest.param({"symptoms": {"nausea": 3}}, ["symptom.severe"], ["symptom.routine"], id="severe_grade"),
        pytest.param(
            {"symptoms": {"nausea": 2}, "previous": {"nausea": 1}},
            ["symptom.routine"],
            ["symptom.worsening"],
            id="worsening_rise",
        ),
        pytest.param({"symptoms": {"pain": 1}}, ["symptom.routine"], [], id="routine_grade"),
        pytest.param({"symptoms": {"cough": 1}}, ["symptom.routine"], [], id="red_flag_grade_high_risk"),
        pytest.param(
            {"symptoms": {"cough": 2}, "phase": RCN, "day": 200},
            ["symptom.routine"],
            ["red_flag.symptom"],
            id="red_flag_same_day_grade",
        ),
        pytest.param(
            {"temp": 38.6, "phase": COL, "day": -20, "since_apheresis": 1},
            ["fever.high_risk_window"],
            ["fever.outside_window"],
            id="high_risk_days_after_first_apheresis",
        ),
        pytest.param(
            {"temp": 38.6, "phase": RCN, "day": 200, "anc": CountReading(before(days=1), 0.7)},
            ["fever.outside_window"],
            ["fever.high_risk_window"],
            id="neutropenia_anc",
        ),
        pytest.param(
            {"temp": 38.6, "phase": RCN, "day": 200, "anc": CountReading(before(days=3), 0.3)},
            ["fever.high_risk_window"],
            ["fever.outside_window"],
            id="neutropenia_anc_days",
        ),
        pytest.param({"temp": 35.7}, ["temperature.low"], [], id="low_temperature_c"),
        pytest.param({"temp": 35.2}, ["temperature.very_low"], ["temperature.low"], id="very_low_temperature_c"),
        pytest.param(
            {"symptoms": {"vision": 2}, "readings": (Reading(before(days=4), 38.6),)},
            ["ms.pseudo_relapse"],
            ["symptom.routine"],
            id="pseudo_relapse_window_days",
        ),
    ],
)
def test_custom_configuration_moves_every_threshold(kwargs, default_rules, custom_rules):
    """Each threshold comes from TriageConfig: the same report triages differently under a custom config."""
    kwargs = {"phase": APL, "day": 5, **kwargs}
    assert rules(run(**kwargs)) == default_rules
    assert rules(run(**kwargs, config=CUSTOM)) == custom_rules


@pytest.mark.parametrize(
    ("temp", "readings", "default", "custom"),
    [
        pytest.param(38.6, (), True, False, id="single_threshold"),
        pytest.param(39.0, (), True, True, id="custom_single_met"),
        pytest.param(38.6, (Reading(before(90), 38.6),), True, False, id="sustained_minutes"),
        pytest.param(38.6, (Reading(before(120), 38.6),), True, True, id="custom_sustained_met"),
        pytest.param(38.2, (Reading(before(120), 38.2),), True, False, id="sustained_threshold"),
        pytest.param(38.6, (Reading(before(hours=7), 38.6),), True, False, id="lookback_hours"),
    ],
)
def test_custom_neutropenic_fever_definition(temp, readings, default, custom):
    """The neutropenic-fever definition (e.g. a stricter variant) comes from the configuration."""
    current = Reading(NOW, temp)
    assert neutropenic_fever(current, readings) is default
    assert neutropenic_fever(current, readings, CUSTOM) is custom
    assert run(temp, readings=readings, config=CUSTOM).neutropenic_fever is custom


def test_config_overrides_reach_the_rules():
    """A centre's stored overrides (with_overrides) change the rules like a constructed config does."""
    config = DEFAULT_TRIAGE_CONFIG.with_overrides({"fever_c": 37.8, "unknown_key": 1})
    assert run(37.8, config=config).level is URGENT
    assert run(37.8).level is NONE


# --- the result: level, ordering, reasons, advice ----------------------------------------------------------


def test_result_collects_every_finding_highest_first():
    """Level is the highest finding; findings are ordered by severity, then in rule order; kinds lists them."""
    result = run(
        38.4,
        {"chills": 1, "bleeding": 3, "nausea": 4, "fatigue": 3, "pain": 2, "vision": 2},
        feels_urgent=True,
        previous={"pain": 0, "vision": 0},
        phase=EAR,
        day=20,
    )
    assert result.level is URGENT
    assert result.call_unit_now is True
    assert result.neutropenic_fever is False  # early recovery
    assert result.pseudo_relapse is True
    assert rules(result) == [
        "fever.high_risk_window",
        "red_flag.fever_with_chills",
        "red_flag.symptom",
        "patient.feels_urgent",
        "symptom.severe",
        "symptom.worsening",
        "ms.pseudo_relapse",
    ]
    assert [finding.severity for finding in result.findings] == [URGENT] * 4 + [SAME_DAY] * 3
    from_labs = {AlertKind.DELAYED_ENGRAFTMENT, AlertKind.POSSIBLE_GRAFT_FAILURE, AlertKind.EBV_VIRAEMIA}
    not_here = {AlertKind.ROUTINE_REVIEW, AlertKind.LOW_TEMPERATURE}
    assert result.kinds == frozenset(AlertKind) - not_here - from_labs


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param(
            {"temp": 38.0, "phase": CON, "day": -5},
            Finding(
                "fever.high_risk_window",
                AlertKind.FEVER,
                URGENT,
                "Temperature 38.0 °C on Day -5 (conditioning), in the high-risk window (conditioning to Day +100)",
            ),
            id="fever_in_conditioning",
        ),
        pytest.param(
            {"temp": 38.25, "phase": CON, "day": None},
            Finding(
                "fever.high_risk_window",
                AlertKind.FEVER,
                URGENT,
                "Temperature 38.25 °C (conditioning), in the high-risk window (conditioning to Day +100)",
            ),
            id="fever_without_day_number",
        ),
        pytest.param(
            {"temp": 38.1, "phase": REC, "day": 101},
            Finding(
                "fever.outside_window",
                AlertKind.FEVER,
                SAME_DAY,
                "Temperature 38.1 °C on Day +101 (recovery), outside the high-risk window",
            ),
            id="fever_outside_window",
        ),
        pytest.param(
            {"symptoms": {"confusion": 3, "shortness_of_breath": 4}},
            Finding(
                "red_flag.symptom",
                AlertKind.RED_FLAG,
                URGENT,
                "Red flag: Shortness of breath graded 4 (Very severe); Confusion or unusual drowsiness graded 3 "
                "(Severe)",
            ),
            id="red_flag_symptoms",
        ),
        pytest.param(
            {"symptoms": {"line_site": 1, "fainting": 1}},
            Finding(
                "red_flag.symptom",
                AlertKind.RED_FLAG,
                SAME_DAY,
                "Red flag, mild, outside the high-risk window: Fainting or feeling faint graded 1 (Mild); "
                "Redness, pain or swelling where your line goes in graded 1 (Mild)",
            ),
            id="mild_red_flags_outside_the_window",
        ),
        pytest.param(
            {"temp": 35.3, "phase": APL, "day": 3},
            Finding(
                "temperature.very_low",
                AlertKind.LOW_TEMPERATURE,
                URGENT,
                "Temperature 35.3 °C on Day +3 (aplasia): below 35.5 °C in the high-risk window (not yet engrafted)",
            ),
            id="very_low_temperature",
        ),
        pytest.param(
            {"temp": 38.0, "symptoms": {"chills": 2}, "phase": FUP, "day": 800},
            Finding(
                "red_flag.fever_with_chills",
                AlertKind.RED_FLAG,
                URGENT,
                "Red flag: temperature 38.0 °C with shivering or shaking chills graded 2 (moderate)",
            ),
            id="fever_with_chills",
        ),
        pytest.param(
            {"symptoms": {"mouth_sores": 3, "diarrhoea": 4}, "previous": {"mouth_sores": 1, "diarrhoea": 4}},
            Finding(
                "symptom.severe",
                AlertKind.SEVERE_SYMPTOM,
                SAME_DAY,
                "Severe: Loose or watery stools (diarrhoea) graded 4 (Very severe); "
                "Mouth or throat sores graded 3 (Severe), previously 1",
            ),
            id="severe",
        ),
        pytest.param(
            {"symptoms": {"cough": 2}, "previous": {"cough": 0}},
            Finding(
                "symptom.worsening",
                AlertKind.WORSENING,
                SAME_DAY,
                "Worse since the previous report: Cough from 0 to 2 (Moderate)",
            ),
            id="worsening",
        ),
        pytest.param(
            {"feels_urgent": True},
            Finding("patient.feels_urgent", AlertKind.FEELS_URGENT, SAME_DAY, "The patient says this feels urgent"),
            id="feels_urgent",
        ),
        pytest.param(
            {"symptoms": {"pain": 1, "fatigue": 2}},
            Finding(
                "symptom.routine",
                AlertKind.ROUTINE_REVIEW,
                ROUTINE,
                "For the weekly review: Tiredness (fatigue) graded 2 (Moderate); Pain graded 1 (Mild)",
            ),
            id="routine",
        ),
    ],
)
def test_rule_ids_and_reasons(kwargs, expected):
    """Each rule has a stable id, kind and severity, and a plain-words reason for staff."""
    kwargs = {"phase": RCN, "day": 200, **kwargs}
    assert run(**kwargs).findings[0] == expected


@pytest.mark.parametrize(
    ("kwargs", "start"),
    [
        pytest.param({"temp": 38.0}, "Call the unit now on {phone}", id="urgent"),
        pytest.param({"symptoms": {"nausea": 3}}, "Your team will look at this report today", id="same_day"),
        pytest.param(
            {"symptoms": {"nausea": 1}}, "Thank you. Your team will look at this report in their weekly", id="routine"
        ),
        pytest.param({}, "Thank you. Nothing in this report needs action", id="none"),
    ],
)
def test_patient_advice(kwargs, start):
    """Advice is plain text with a {phone} placeholder at most; urgent starts "Call the unit now on {phone}"."""
    advice = patient_advice(run(**kwargs))
    assert advice.startswith(start)
    filled = advice.format(phone="+46 8 123 456 78")
    assert "{" not in filled
    assert "}" not in filled
    if kwargs.get("temp"):
        assert filled.startswith("Call the unit now on +46 8 123 456 78")


def test_patient_advice_mentions_pseudo_relapse():
    """With a possible pseudo-relapse the patient is told both teams will see the report."""
    advice = patient_advice(run(38.0, {"vision": 2}, phase=RCN, day=200))
    assert "neurology team" in advice
    assert "neurology" not in patient_advice(run(38.0, {"nausea": 2}, phase=RCN, day=200))
