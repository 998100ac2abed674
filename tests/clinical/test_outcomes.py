"""Per-patient MS outcomes (recovery/clinical/outcomes.py).

The reference patient had the transplant (Day 0) on 15 Jan 2024. `m(k)` is k calendar months after Day 0
(m(6) is 15 Jul 2024) and `m(k, days)` adds days. Unless a test says otherwise the default configuration
applies: a step of 1.0 from a baseline at or below 5.5 and 0.5 above it, confirmation at 6 months, and
assessments from a relapse onset through 30 days after it left out.
"""

import ast
import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from recovery.clinical import outcomes as outcomes_module
from recovery.clinical.config import DEFAULT_OUTCOME_CONFIG, OutcomeConfig
from recovery.clinical.outcomes import (
    ENDPOINT_NEDA3,
    ENDPOINT_PROGRESSION_FREE,
    ENDPOINT_RELAPSE_FREE,
    MRI_ACTIVITY,
    PROGRESSION,
    RELAPSE,
    Assessment,
    RelapseRecord,
    Scan,
    baseline_edss,
    confirmed_change,
    disability_progression,
    first_relapse_after,
    long_date,
    mri_activity_date,
    mri_reference,
    patient_outcome,
    required_step,
    survival_endpoints,
    usable,
    whole_months,
)
from recovery.clinical.phases import add_months
from recovery.clinical.survival import months_between
from recovery.outcome_text import plain_language

DAY0 = date(2024, 1, 15)


def m(months: int, days: int = 0) -> date:
    """`months` calendar months after Day 0, plus `days`."""
    return add_months(DAY0, months) + timedelta(days=days)


def scores(*pairs: tuple[date, str]) -> list[Assessment]:
    return [Assessment(on=on, score=Decimal(score)) for on, score in pairs]


def relapses(*onsets: date) -> list[RelapseRecord]:
    return [RelapseRecord(onset=onset) for onset in onsets]


def pseudo(*onsets: date) -> list[RelapseRecord]:
    """Relapses a clinician classified as pseudo-relapses."""
    return [RelapseRecord(onset=onset, pseudo=True) for onset in onsets]


def config(**overrides: object) -> OutcomeConfig:
    return replace(DEFAULT_OUTCOME_CONFIG, **overrides)


# --- baseline -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assessments", "day0", "recorded", "expected"),
    [
        pytest.param(scores((m(-6), "3.0"), (m(-1), "3.5")), DAY0, None, "3.5", id="last-before-day0"),
        pytest.param(scores((m(-1), "3.5"), (m(-6), "3.0")), DAY0, None, "3.5", id="order-of-input-irrelevant"),
        pytest.param(scores((m(-1), "3.5"), (DAY0, "4.0")), DAY0, None, "4.0", id="day0-itself-counts"),
        pytest.param(scores((m(-1), "3.5"), (m(0, 1), "5.0")), DAY0, "2.0", "3.5", id="after-day0-ignored"),
        pytest.param(scores((m(0, 1), "5.0")), DAY0, "2.0", "2.0", id="only-after-day0-uses-recorded"),
        pytest.param([], DAY0, "2.5", "2.5", id="no-assessments-uses-recorded"),
        pytest.param(scores((m(-1), "3.5")), DAY0, "2.5", "3.5", id="assessment-beats-recorded"),
        pytest.param([], DAY0, None, None, id="nothing"),
        pytest.param(scores((m(-1), "3.5")), None, "2.5", "2.5", id="no-day0-uses-recorded"),
        pytest.param(scores((m(-1), "3.5")), None, None, None, id="no-day0-no-recorded"),
        pytest.param(scores((m(-1), "3.0"), (m(-1), "3.5")), DAY0, None, "3.5", id="same-date-later-record"),
    ],
)
def test_baseline_edss(assessments, day0, recorded, expected):
    result = baseline_edss(assessments, day0, None if recorded is None else Decimal(recorded))
    assert result == (None if expected is None else Decimal(expected))


def test_baseline_leaves_out_a_score_taken_during_a_relapse():
    assessments = scores((m(-3), "3.0"), (m(-1), "5.0"))
    outcome = patient_outcome(
        day0=DAY0,
        assessments=assessments,
        relapses=relapses(m(-1, -10)),
        scans=[],
        recorded_baseline=None,
        on=m(12),
    )
    assert outcome.baseline_edss == Decimal("3.0")


# --- usable assessments (relapse exclusion) -------------------------------------------------------------

ONSET = m(5)


@pytest.mark.parametrize(
    ("on", "kept"),
    [
        pytest.param(ONSET - timedelta(days=1), True, id="day-before-onset"),
        pytest.param(ONSET, False, id="onset-day"),
        pytest.param(ONSET + timedelta(days=1), False, id="day-1"),
        pytest.param(ONSET + timedelta(days=29), False, id="day-29"),
        pytest.param(ONSET + timedelta(days=30), False, id="day-30-boundary-excluded"),
        pytest.param(ONSET + timedelta(days=31), True, id="day-31"),
    ],
)
def test_usable_excludes_assessments_within_30_days_after_an_onset(on, kept):
    assessment = Assessment(on=on, score=Decimal("3.0"))
    assert usable([assessment], relapses(ONSET)) == ([assessment] if kept else [])


def test_usable_follows_the_configured_window_and_every_relapse():
    days = [ONSET + timedelta(days=k) for k in (0, 10, 11, 40, 45)]
    assessments = [Assessment(on=on, score=Decimal("3.0")) for on in days]
    kept = usable(assessments, relapses(ONSET, ONSET + timedelta(days=45)), config(relapse_exclusion_days=10))
    assert [a.on for a in kept] == [days[2], days[3]]


def test_usable_sorts_by_date():
    assessments = scores((m(6), "3.0"), (m(3), "2.0"))
    assert [a.on for a in usable(assessments, [])] == [m(3), m(6)]


# --- the step ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "overrides", "step"),
    [
        pytest.param("0", {}, "1.0", id="zero-default"),
        pytest.param("0", {"progression_step_from_zero": 1.5}, "1.5", id="zero-optional-1.5"),
        pytest.param("1.0", {"progression_step_from_zero": 1.5}, "1.0", id="from-zero-only-at-zero"),
        pytest.param("3.0", {}, "1.0", id="3.0"),
        pytest.param("5.5", {}, "1.0", id="5.5-at-cut"),
        pytest.param("6.0", {}, "0.5", id="6.0-above-cut"),
        pytest.param("7.5", {}, "0.5", id="7.5"),
        pytest.param("6.0", {"progression_baseline_cut": 6.0}, "1.0", id="centre-cut-6.0"),
        pytest.param("3.0", {"progression_step_low": 1.5}, "1.5", id="centre-step"),
    ],
)
def test_required_step(baseline, overrides, step):
    assert required_step(Decimal(baseline), config(**overrides)) == Decimal(step)


# --- confirmed disability progression ---------------------------------------------------------------------

R = m(9)  # a relapse onset used by the relapse-adjacent cases

PROGRESSION_CASES = [
    # baseline on both sides of 5.5
    ("b5.5-plus-1.0-confirmed", "5.5", [(m(6), "6.5"), (m(12), "6.5")], [], {}, m(6)),
    ("b5.5-plus-0.5-not-enough", "5.5", [(m(6), "6.0"), (m(12), "6.0")], [], {}, None),
    ("b6.0-plus-0.5-confirmed", "6.0", [(m(6), "6.5"), (m(12), "6.5")], [], {}, m(6)),
    ("b6.0-no-change", "6.0", [(m(6), "6.0"), (m(12), "6.0")], [], {}, None),
    ("b3.0-plus-1.0-exactly", "3.0", [(m(6), "4.0"), (m(12), "4.0")], [], {}, m(6)),
    ("b3.0-plus-0.5", "3.0", [(m(6), "3.5"), (m(12), "3.5")], [], {}, None),
    ("b0-plus-1.0-default", "0", [(m(6), "1.0"), (m(12), "1.0")], [], {}, m(6)),
    ("b0-plus-1.0-with-1.5-rule", "0", [(m(6), "1.0"), (m(12), "1.0")], [], {"progression_step_from_zero": 1.5}, None),
    ("b0-plus-1.5-with-1.5-rule", "0", [(m(6), "1.5"), (m(12), "1.5")], [], {"progression_step_from_zero": 1.5}, m(6)),
    # confirmation windows
    ("confirmed-exactly-6-months-later", "3.0", [(m(6, 3), "4.0"), (add_months(m(6, 3), 6), "4.0")], [], {}, m(6, 3)),
    ("one-day-short-of-6-months", "3.0", [(m(6), "4.0"), (m(12, -1), "4.0")], [], {}, None),
    ("5-months-does-not-confirm-at-6", "3.0", [(m(6), "4.0"), (m(11), "4.5")], [], {}, None),
    ("3-months-confirms-at-3", "3.0", [(m(6), "4.0"), (m(9), "4.0")], [], {"confirmation_months": 3}, m(6)),
    ("3-months-does-not-confirm-at-6", "3.0", [(m(6), "4.0"), (m(9), "4.0")], [], {}, None),
    ("12-months-confirms-at-12", "3.0", [(m(6), "4.0"), (m(18), "4.0")], [], {"confirmation_months": 12}, m(6)),
    ("11-months-does-not-confirm-at-12", "3.0", [(m(6), "4.0"), (m(17), "4.0")], [], {"confirmation_months": 12}, None),
    ("3-months-one-day-short", "3.0", [(m(6), "4.0"), (m(9, -1), "4.0")], [], {"confirmation_months": 3}, None),
    ("12-months-one-day-short", "3.0", [(m(6), "4.0"), (m(18, -1), "4.0")], [], {"confirmation_months": 12}, None),
    # once confirmed, later improvement never erases it (issue 12 item 9; was "later-dip-unconfirms")
    ("later-dip-does-not-erase", "3.0", [(m(6), "4.0"), (m(12), "4.0"), (m(18), "3.0")], [], {}, m(6)),
    ("later-dip-just-below-does-not-erase", "3.0", [(m(6), "4.0"), (m(12), "4.0"), (m(18), "3.5")], [], {}, m(6)),
    ("higher-later-still-confirms", "3.0", [(m(6), "4.0"), (m(12), "5.0"), (m(18), "4.5")], [], {}, m(6)),
    # every assessment in between must stay at or above the threshold (was "intervening-dip-not-looked-at")
    ("dip-in-between-breaks-the-candidate", "3.0", [(m(6), "4.0"), (m(9), "3.0"), (m(12), "4.0")], [], {}, None),
    ("dip-0.5-below-in-between-breaks", "3.0", [(m(6), "4.0"), (m(9), "3.5"), (m(12), "4.0")], [], {}, None),
    ("in-between-at-threshold-keeps", "3.0", [(m(6), "4.0"), (m(9), "4.0"), (m(12), "4.0")], [], {}, m(6)),
    ("b6.0-in-between-at-6.5-keeps", "6.0", [(m(6), "6.5"), (m(9), "6.5"), (m(12), "6.5")], [], {}, m(6)),
    ("b6.0-in-between-6.0-breaks", "6.0", [(m(6), "6.5"), (m(9), "6.0"), (m(12), "6.5")], [], {}, None),
    ("dip-on-the-confirming-visit-breaks", "3.0", [(m(6), "4.0"), (m(12), "3.5"), (m(18), "4.0")], [], {}, None),
    ("dip-after-the-confirming-visit-does-not", "3.0", [(m(6), "4.0"), (m(12), "4.0"), (m(13), "3.0")], [], {}, m(6)),
    (
        "a-later-candidate-inside-a-broken-run-confirms",
        "3.0",
        [(m(3), "4.0"), (m(6), "3.5"), (m(9), "4.0"), (m(15), "4.0")],
        [],
        {},
        m(9),
    ),
    (
        "dip-then-a-later-confirmed-rise",
        "3.0",
        [(m(6), "4.0"), (m(12), "3.0"), (m(18), "4.5"), (m(24), "4.5")],
        [],
        {},
        m(18),
    ),
    ("first-confirmed-candidate-wins", "3.0", [(m(3), "4.0"), (m(6), "4.5"), (m(12), "4.0")], [], {}, m(3)),
    ("unconfirmed-candidate-no-later-assessment", "3.0", [(m(6), "4.0")], [], {}, None),
    ("candidate-on-day0-does-not-count", "3.0", [(DAY0, "4.0"), (m(6), "4.0")], [], {}, None),
    ("before-day0-does-not-count", "3.0", [(m(-7), "4.0"), (m(-1), "4.0")], [], {}, None),
    # relapse-adjacent assessments
    ("candidate-29-days-after-onset-excluded", "3.0", [(R + timedelta(days=29), "4.0"), (m(18), "4.0")], [R], {}, None),
    ("candidate-30-days-after-onset-excluded", "3.0", [(R + timedelta(days=30), "4.0"), (m(18), "4.0")], [R], {}, None),
    (
        "candidate-31-days-after-onset-used",
        "3.0",
        [(R + timedelta(days=31), "4.0"), (m(18), "4.0")],
        [R],
        {},
        R + timedelta(days=31),
    ),
    ("confirmer-within-window-not-used", "3.0", [(m(3), "4.0"), (R + timedelta(days=5), "4.0")], [R], {}, None),
    (
        "low-score-within-window-is-not-a-dip-in-between",
        "3.0",
        [(m(3), "4.0"), (R + timedelta(days=5), "3.0"), (m(12), "4.0")],
        [R],
        {},
        m(3),
    ),
    (
        "candidate-before-onset-used",
        "3.0",
        [(R - timedelta(days=1), "4.0"), (m(18), "4.0")],
        [R],
        {},
        R - timedelta(days=1),
    ),
    # missing data
    ("no-assessments", "3.0", [], [], {}, None),
]


@pytest.mark.parametrize(
    ("baseline", "assessments", "onsets", "overrides", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in PROGRESSION_CASES],
)
def test_confirmed_progression(baseline, assessments, onsets, overrides, expected):
    result = confirmed_change(
        scores(*assessments), relapses(*onsets), Decimal(baseline), DAY0, config(**overrides), "worse"
    )
    assert result == expected


@pytest.mark.parametrize(
    ("baseline", "day0"),
    [pytest.param(None, DAY0, id="no-baseline"), pytest.param(Decimal("3.0"), None, id="no-day0")],
)
def test_no_progression_without_a_baseline_or_day0(baseline, day0):
    assessments = scores((m(6), "6.0"), (m(12), "6.0"))
    assert confirmed_change(assessments, [], baseline, day0, DEFAULT_OUTCOME_CONFIG, "worse") is None
    assert confirmed_change(assessments, [], baseline, day0, DEFAULT_OUTCOME_CONFIG, "better") is None


IMPROVEMENT_CASES = [
    ("b3.0-minus-1.0-confirmed", "3.0", [(m(6), "2.0"), (m(12), "2.0")], m(6)),
    ("b3.0-minus-0.5-not-enough", "3.0", [(m(6), "2.5"), (m(12), "2.5")], None),
    ("b5.5-minus-1.0", "5.5", [(m(6), "4.5"), (m(12), "4.5")], m(6)),
    ("b5.5-minus-0.5-not-enough", "5.5", [(m(6), "5.0"), (m(12), "5.0")], None),
    ("b6.5-minus-0.5-above-cut", "6.5", [(m(6), "6.0"), (m(12), "6.0")], m(6)),
    ("b1.0-down-to-0", "1.0", [(m(6), "0"), (m(12), "0")], m(6)),
    ("b0-cannot-improve", "0", [(m(6), "0"), (m(12), "0")], None),
    ("later-rise-unconfirms", "3.0", [(m(6), "2.0"), (m(12), "2.0"), (m(18), "3.0")], None),
    ("5-months-does-not-confirm", "3.0", [(m(6), "2.0"), (m(11), "2.0")], None),
    ("worsening-is-not-improvement", "3.0", [(m(6), "4.0"), (m(12), "4.0")], None),
]


@pytest.mark.parametrize(
    ("baseline", "assessments", "expected"), [pytest.param(*case[1:], id=case[0]) for case in IMPROVEMENT_CASES]
)
def test_confirmed_improvement(baseline, assessments, expected):
    result = confirmed_change(scores(*assessments), [], Decimal(baseline), DAY0, DEFAULT_OUTCOME_CONFIG, "better")
    assert result == expected


def test_direction_must_be_worse_or_better():
    with pytest.raises(ValueError, match="direction"):
        confirmed_change([], [], Decimal("3.0"), DAY0, DEFAULT_OUTCOME_CONFIG, "sideways")


def test_float_scores_are_compared_exactly():
    # 3.3 + 1.0 is not 4.3 in binary floating point; the rule must not miss the threshold by a rounding error.
    assessments = [Assessment(on=m(6), score=4.3), Assessment(on=m(12), score=4.3)]
    assert confirmed_change(assessments, [], Decimal("3.3"), DAY0, DEFAULT_OUTCOME_CONFIG, "worse") == m(6)


# --- progression details: confirmation date, tentative rise, improvement after progression ------------------


def progression(assessments, baseline="3.0", onsets=(), cfg=DEFAULT_OUTCOME_CONFIG, day0=DAY0):
    return disability_progression(scores(*assessments), relapses(*onsets), Decimal(baseline), day0, cfg)


@pytest.mark.parametrize(
    ("assessments", "onsets", "tentative"),
    [
        pytest.param([(m(6), "4.0")], [], m(6), id="rise-at-the-only-visit"),
        pytest.param([(m(6), "4.0"), (m(12, -1), "4.0")], [], m(6), id="one-day-short-of-confirmation"),
        pytest.param([(m(6), "4.0"), (m(12), "4.0")], [], None, id="confirmed-is-not-tentative"),
        pytest.param([(m(6), "4.0"), (m(9), "3.5")], [], None, id="rise-then-dip-at-the-last-visit"),
        pytest.param([(m(6), "3.5"), (m(9), "4.0")], [], m(9), id="dip-then-rise-at-the-last-visit"),
        pytest.param([(m(3), "4.0"), (m(6), "3.0"), (m(9), "4.5")], [], m(9), id="a-broken-run-then-a-new-rise"),
        pytest.param([(m(6), "3.5")], [], None, id="below-threshold-is-nothing"),
        pytest.param([(m(6), "3.0"), (m(9, 10), "4.5")], [m(9)], None, id="relapse-adjacent-rise-is-not-tentative"),
        pytest.param([(m(6), "4.0"), (m(9, 10), "3.0")], [m(9)], m(6), id="relapse-adjacent-dip-ignored"),
    ],
)
def test_an_unconfirmed_rise_at_the_last_visit_is_tentative(assessments, onsets, tentative):
    found = progression(assessments, onsets=onsets)
    assert found.tentative_since == tentative
    if tentative is not None:
        assert found.onset is None
        assert found.threshold == Decimal("4.0")


def test_a_tentative_rise_is_not_an_event():
    outcome = outcome_for([BASELINE_ASSESSMENT, (m(6), "3.0"), (m(12), "4.5")], on=m(12))
    assert outcome.progression.tentative_since == m(12)
    assert outcome.confirmed_progression is False
    assert outcome.neda3 is True
    assert outcome.edss_change_category == "stable"


@pytest.mark.parametrize(
    ("assessments", "improved_since"),
    [
        pytest.param([(m(6), "4.0"), (m(12), "4.0")], None, id="still-up"),
        pytest.param([(m(6), "4.0"), (m(12), "4.0"), (m(18), "3.5")], m(18), id="0.5-below-threshold"),
        pytest.param([(m(6), "4.0"), (m(12), "4.0"), (m(18), "4.0")], None, id="at-threshold-is-not-improvement"),
        pytest.param(
            [(m(6), "4.0"), (m(12), "4.0"), (m(18), "3.0"), (m(24), "2.5")], m(18), id="trailing-run-from-its-first"
        ),
        pytest.param([(m(6), "4.0"), (m(12), "4.0"), (m(18), "3.0"), (m(24), "4.0")], None, id="back-up-again"),
    ],
)
def test_improvement_after_progression_keeps_the_event(assessments, improved_since):
    found = progression(assessments)
    assert found.onset == m(6)
    assert found.confirmed_on == m(12)
    assert found.improved_since == improved_since


def test_later_improvement_never_erases_a_confirmed_progression():
    """Progression confirmed at M12, back to baseline from M18: still an event at M6; NEDA-3 stays lost."""
    outcome = outcome_for(
        [BASELINE_ASSESSMENT, (m(6), "4.0"), (m(12), "4.0"), (m(18), "3.0"), (m(24), "3.0")], on=m(24)
    )
    assert outcome.confirmed_progression is True
    assert outcome.progression_date == m(6)
    assert outcome.progression.improved_since == m(18)
    assert outcome.neda3 is False
    assert outcome.neda3_lost_on == m(6)
    assert outcome.edss_change_category == "worse"
    assert survival_endpoints(outcome)[ENDPOINT_PROGRESSION_FREE] == (months_between(DAY0, m(6)), True)
    text = plain_language(outcome)
    assert "lasting rise in your disability score (EDSS), first seen on 15 July 2024. It has come down again" in text


def test_progression_wins_over_a_later_confirmed_improvement():
    """Confirmed progression, then a sustained fall to baseline - step: the category stays "worse"."""
    outcome = outcome_for([BASELINE_ASSESSMENT, (m(3), "4.0"), (m(9), "4.0"), (m(12), "2.0"), (m(18), "2.0")], on=m(18))
    assert (outcome.confirmed_progression, outcome.confirmed_improvement) == (True, True)
    assert outcome.edss_change_category == "worse"


# --- roving reference --------------------------------------------------------------------------------------

ROVING = config(roving_reference=True)

ROVING_CASES = [
    # id, baseline, assessments, roving expected (onset, reference, reference_on), fixed expected onset
    (
        "confirmed-lower-score-resets",
        "3.0",
        [(m(6), "2.0"), (m(12), "2.0"), (m(18), "3.0"), (m(24), "3.0")],
        (m(18), "2.0", m(6)),
        None,
    ),
    (
        "lower-score-one-day-short-does-not-reset",
        "3.0",
        [(m(6), "2.0"), (m(12, -1), "2.0"), (m(18), "3.0"), (m(24), "3.0")],
        (None, "3.0", None),
        None,
    ),
    (
        "lower-run-broken-by-a-return-does-not-reset",
        "3.0",
        [(m(6), "2.0"), (m(9), "3.0"), (m(12), "2.0"), (m(15), "3.0"), (m(21), "3.0")],
        (None, "3.0", None),
        None,
    ),
    (
        "reference-is-the-highest-score-of-the-lower-run",
        "3.0",
        [(m(6), "2.0"), (m(9), "2.5"), (m(12), "2.0"), (m(18), "3.5"), (m(24), "3.5")],
        (m(18), "2.5", m(6)),
        None,
    ),
    (
        "one-below-the-new-threshold-is-not-progression",
        "3.0",
        [(m(6), "2.0"), (m(9), "2.5"), (m(12), "2.0"), (m(18), "3.0"), (m(24), "3.0")],
        (None, "2.5", m(6)),
        None,
    ),
    (
        "the-step-follows-the-new-reference-across-the-cut",
        "6.0",
        [(m(6), "5.0"), (m(12), "5.0"), (m(18), "6.0"), (m(24), "6.0")],
        (m(18), "5.0", m(6)),
        None,
    ),
    (
        "a-rise-from-the-baseline-still-counts",
        "3.0",
        [(m(6), "4.0"), (m(12), "4.0")],
        (m(6), "3.0", None),
        m(6),
    ),
    (
        "a-second-lower-level-resets-again",
        "4.0",
        [(m(6), "3.0"), (m(12), "3.0"), (m(18), "2.0"), (m(24), "2.0"), (m(30), "3.0"), (m(36), "3.0")],
        (m(30), "2.0", m(18)),
        None,
    ),
]


@pytest.mark.parametrize(
    ("baseline", "assessments", "roving", "fixed"), [pytest.param(*case[1:], id=case[0]) for case in ROVING_CASES]
)
def test_roving_reference(baseline, assessments, roving, fixed):
    onset, reference, reference_on = roving
    found = progression(assessments, baseline, cfg=ROVING)
    assert (found.onset, found.reference, found.reference_on) == (onset, Decimal(reference), reference_on)
    assert progression(assessments, baseline).onset == fixed  # the default: a fixed baseline


def test_roving_is_off_by_default():
    assert DEFAULT_OUTCOME_CONFIG.roving_reference is False


def test_roving_reference_ignores_scores_before_day0():
    found = progression([(m(-8), "1.0"), (m(-1), "1.0"), (m(6), "3.0"), (m(12), "3.0")], "3.0", cfg=ROVING)
    assert (found.onset, found.reference) == (None, Decimal("3.0"))


# --- pseudo-relapses -----------------------------------------------------------------------------------------


def test_a_pseudo_relapse_does_not_end_neda3_or_relapse_free_time():
    outcome = patient_outcome(
        day0=DAY0,
        assessments=scores(*STABLE),
        relapses=pseudo(m(10)),
        scans=CLEAN_SCANS,
        recorded_baseline=None,
        on=m(18),
    )
    assert outcome.neda3 is True
    assert (outcome.relapse_count, outcome.pseudo_relapse_count, outcome.first_relapse) == (0, 1, None)
    assert survival_endpoints(outcome)[ENDPOINT_RELAPSE_FREE] == (months_between(DAY0, m(18)), False)
    assert "relapse" not in plain_language(outcome)


def test_an_unclassified_relapse_counts_and_a_real_one_beside_a_pseudo_one_still_ends_neda3():
    outcome = patient_outcome(
        day0=DAY0,
        assessments=scores(*STABLE),
        relapses=[*pseudo(m(8)), *relapses(m(12))],
        scans=CLEAN_SCANS,
        recorded_baseline=None,
        on=m(18),
    )
    assert (outcome.neda3_lost_on, outcome.neda3_lost_by) == (m(12), (RELAPSE,))
    assert (outcome.relapse_count, outcome.pseudo_relapse_count) == (1, 1)


@pytest.mark.parametrize(
    ("days_after", "used"),
    [
        pytest.param(0, False, id="onset-day"),
        pytest.param(30, False, id="day-30-excluded"),
        pytest.param(31, True, id="day-31-used"),
        pytest.param(-1, True, id="day-before"),
    ],
)
def test_a_pseudo_relapse_opens_the_same_exclusion_window(days_after, used):
    """A score taken around a pseudo-relapse is not used for progression either (documented decision)."""
    candidate = R + timedelta(days=days_after)
    assessments = scores((candidate, "4.0"), (add_months(candidate, 6), "4.0"))
    found = disability_progression(assessments, pseudo(R), Decimal("3.0"), DAY0, DEFAULT_OUTCOME_CONFIG)
    assert found.onset == (candidate if used else None)


# --- MRI activity -----------------------------------------------------------------------------------------


def scan(on: date, t2: int = 0, gd: int = 0, *, rebaseline: bool = False) -> Scan:
    return Scan(on=on, new_t2=t2, gd_enhancing=gd, is_rebaseline=rebaseline)


MRI_CASES = [
    ("no-scans", [], None, None),
    ("new-t2-after-rebaseline", [scan(m(6), rebaseline=True), scan(m(12), t2=1)], m(6), m(12)),
    ("gd-after-rebaseline", [scan(m(6), rebaseline=True), scan(m(12)), scan(m(18), gd=1)], m(6), m(18)),
    ("clean-after-rebaseline", [scan(m(6), rebaseline=True), scan(m(12)), scan(m(18))], m(6), None),
    ("activity-before-rebaseline-does-not-count", [scan(m(3), t2=4, gd=2), scan(m(6), rebaseline=True)], m(6), None),
    ("rebaseline-scan-itself-does-not-count", [scan(m(6), gd=3, rebaseline=True), scan(m(12))], m(6), None),
    (
        "first-rebaseline-is-the-reference",
        [scan(m(6), rebaseline=True), scan(m(12), t2=2), scan(m(18), rebaseline=True)],
        m(6),
        m(12),
    ),
    ("no-flag-first-scan-after-day0-is-reference", [scan(m(3), gd=1), scan(m(9), t2=1)], m(3), m(9)),
    ("no-flag-first-scan-only", [scan(m(3), gd=1)], m(3), None),
    ("pre-day0-scans-ignored", [scan(m(-2), t2=5), scan(m(6)), scan(m(12))], m(6), None),
    (
        "pre-day0-rebaseline-flag-ignored",
        [scan(m(-1), rebaseline=True), scan(m(6), gd=1), scan(m(12), t2=1)],
        m(6),
        m(12),
    ),
    ("unsorted-input", [scan(m(18), t2=1), scan(m(12), gd=1), scan(m(6), rebaseline=True)], m(6), m(12)),
]


@pytest.mark.parametrize(
    ("scans", "reference", "expected"), [pytest.param(*case[1:], id=case[0]) for case in MRI_CASES]
)
def test_mri_activity(scans, reference, expected):
    found = mri_reference(scans, DAY0)
    assert (None if found is None else found.on) == reference
    assert mri_activity_date(scans, DAY0) == expected


def test_no_mri_activity_without_day0():
    assert mri_activity_date([scan(m(6), rebaseline=True), scan(m(12), t2=1)], None) is None


# --- relapses ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("onsets", "day0", "expected"),
    [
        pytest.param([], DAY0, None, id="none"),
        pytest.param([m(-3)], DAY0, None, id="before-day0"),
        pytest.param([DAY0], DAY0, None, id="on-day0"),
        pytest.param([m(0, 1)], DAY0, m(0, 1), id="day-after"),
        pytest.param([m(20), m(-3), m(8)], DAY0, m(8), id="earliest-after"),
        pytest.param([m(8)], None, None, id="no-day0"),
    ],
)
def test_first_relapse_after(onsets, day0, expected):
    assert first_relapse_after(relapses(*onsets), day0) == expected


# --- NEDA-3 and the whole outcome -------------------------------------------------------------------------

BASELINE_ASSESSMENT = (m(-1), "3.0")
STABLE = [BASELINE_ASSESSMENT, (m(6), "3.0"), (m(12), "3.0"), (m(18), "3.0")]
CLEAN_SCANS = [scan(m(6), rebaseline=True), scan(m(12)), scan(m(18))]
M18 = m(18)


def outcome_for(
    assessments=STABLE,
    onsets=(),
    scans=CLEAN_SCANS,
    *,
    on=M18,
    day0=DAY0,
    recorded=None,
    cfg=DEFAULT_OUTCOME_CONFIG,
):
    return patient_outcome(
        day0=day0,
        assessments=scores(*assessments),
        relapses=relapses(*onsets),
        scans=scans,
        recorded_baseline=None if recorded is None else Decimal(recorded),
        on=on,
        config=cfg,
    )


NEDA_CASES = [
    # id, assessments, onsets, scans, on, neda3, lost_on, lost_by, months
    ("holds", STABLE, [], CLEAN_SCANS, m(18), True, None, (), 18),
    ("holds-partial-month", STABLE, [], CLEAN_SCANS, m(18, -1), True, None, (), 17),
    ("lost-by-relapse", STABLE, [m(10)], CLEAN_SCANS, m(18), False, m(10), (RELAPSE,), 10),
    (
        "lost-by-progression-at-candidate-date",
        [BASELINE_ASSESSMENT, (m(6), "4.0"), (m(12), "4.0"), (m(18), "4.5")],
        [],
        CLEAN_SCANS,
        m(18),
        False,
        m(6),
        (PROGRESSION,),
        6,
    ),
    (
        "lost-by-mri",
        STABLE,
        [],
        [scan(m(6), rebaseline=True), scan(m(12), gd=1), scan(m(18))],
        m(18),
        False,
        m(12),
        (MRI_ACTIVITY,),
        12,
    ),
    (
        "earliest-cause-wins",
        STABLE,
        [m(14)],
        [scan(m(6), rebaseline=True), scan(m(12), t2=1)],
        m(18),
        False,
        m(12),
        (MRI_ACTIVITY,),
        12,
    ),
    (
        "same-day-causes-both-named",
        STABLE,
        [m(12)],
        [scan(m(6), rebaseline=True), scan(m(12), t2=1)],
        m(18),
        False,
        m(12),
        (RELAPSE, MRI_ACTIVITY),
        12,
    ),
    ("relapse-before-day0-does-not-count", STABLE, [m(-2)], CLEAN_SCANS, m(18), True, None, (), 18),
    ("relapse-after-on-not-yet-known", STABLE, [m(20)], CLEAN_SCANS, m(18), True, None, (), 18),
    (
        "progression-not-yet-confirmed-on-the-day",
        [BASELINE_ASSESSMENT, (m(6), "4.0"), (m(12), "4.0")],
        [],
        CLEAN_SCANS,
        m(11),
        True,
        None,
        (),
        11,
    ),
    (
        "relapse-adjacent-rise-is-not-progression-but-the-relapse-counts",
        [BASELINE_ASSESSMENT, (m(6), "3.0"), (m(10, 10), "4.5"), (m(18), "3.0")],
        [m(10)],
        CLEAN_SCANS,
        m(18),
        False,
        m(10),
        (RELAPSE,),
        10,
    ),
    ("no-data-after-day0-holds", [BASELINE_ASSESSMENT], [], [], m(18), True, None, (), 18),
]


@pytest.mark.parametrize(
    ("assessments", "onsets", "scans", "on", "neda3", "lost_on", "lost_by", "months"),
    [pytest.param(*case[1:], id=case[0]) for case in NEDA_CASES],
)
def test_neda3(assessments, onsets, scans, on, neda3, lost_on, lost_by, months):
    outcome = outcome_for(assessments, onsets, scans, on=on)
    assert outcome.neda3 is neda3
    assert outcome.neda3_lost_on == lost_on
    assert outcome.neda3_lost_by == lost_by
    assert outcome.neda3_months == months


@pytest.mark.parametrize(
    ("day0", "on"),
    [pytest.param(None, m(18), id="no-day0"), pytest.param(DAY0, m(0, -1), id="before-day0")],
)
def test_no_neda3_status_before_a_transplant(day0, on):
    outcome = outcome_for(onsets=[m(-3)], on=on, day0=day0, recorded="3.0")
    assert outcome.neda3 is None
    assert outcome.neda3_months is None
    assert outcome.relapse_count == 0
    assert outcome.first_relapse is None
    assert outcome.confirmed_progression is False
    assert outcome.edss_change_category is None
    assert survival_endpoints(outcome) is None


def test_full_outcome_fields():
    outcome = outcome_for(
        [BASELINE_ASSESSMENT, (m(6), "4.0"), (m(12), "4.5"), (m(18), "4.0"), (m(20), "4.0")],
        [m(8), m(15)],
        [scan(m(-2), gd=2), scan(m(6), rebaseline=True), scan(m(19), t2=2)],
        on=m(20),
    )
    assert outcome.day0 == DAY0
    assert outcome.as_of == m(20)
    assert outcome.baseline_edss == Decimal("3.0")
    assert outcome.last_edss == Decimal("4.0")
    assert outcome.last_assessed == m(20)
    assert outcome.confirmed_progression is True
    assert outcome.progression_date == m(6)
    assert outcome.confirmed_improvement is False
    assert outcome.improvement_date is None
    assert outcome.relapse_count == 2
    assert outcome.first_relapse == m(8)
    assert outcome.mri_reference_date == m(6)
    assert outcome.mri_activity_date == m(19)
    assert outcome.neda3_lost_on == m(6)
    assert outcome.follow_up_end == m(20)
    assert outcome.edss_change_category == "worse"


def test_records_after_on_are_ignored():
    outcome = outcome_for([*STABLE, (m(24), "6.0")], [m(22)], [*CLEAN_SCANS, scan(m(24), t2=3)], on=m(18))
    assert outcome.last_edss == Decimal("3.0")
    assert outcome.last_assessed == m(18)
    assert outcome.relapse_count == 0
    assert outcome.mri_activity_date is None
    assert outcome.follow_up_end == m(18)


def test_last_edss_includes_a_relapse_adjacent_score():
    outcome = outcome_for([BASELINE_ASSESSMENT, (m(6), "3.0"), (m(10, 5), "5.0")], [m(10)], on=m(11))
    assert outcome.last_edss == Decimal("5.0")
    assert outcome.last_assessed == m(10, 5)


@pytest.mark.parametrize(
    ("assessments", "recorded", "expected"),
    [
        pytest.param([BASELINE_ASSESSMENT, (m(6), "2.0"), (m(12), "2.0")], None, "improved", id="improved"),
        pytest.param([BASELINE_ASSESSMENT, (m(6), "3.5"), (m(12), "2.5")], None, "stable", id="stable"),
        pytest.param([BASELINE_ASSESSMENT, (m(6), "4.0")], None, "stable", id="unconfirmed-rise-is-stable"),
        pytest.param([BASELINE_ASSESSMENT, (m(6), "4.0"), (m(12), "4.0")], None, "worse", id="worse"),
        pytest.param([(m(6), "4.0"), (m(12), "4.0")], "3.0", "worse", id="recorded-baseline"),
        pytest.param([(m(6), "4.0"), (m(12), "4.0")], None, None, id="no-baseline"),
        pytest.param([BASELINE_ASSESSMENT], None, None, id="no-assessment-after-day0"),
        pytest.param([], None, None, id="no-assessments"),
    ],
)
def test_edss_change_category(assessments, recorded, expected):
    outcome = outcome_for(assessments, recorded=recorded, on=m(18))
    assert outcome.edss_change_category == expected


def test_confirmation_window_comes_from_the_config():
    assessments = [BASELINE_ASSESSMENT, (m(6), "4.0"), (m(9), "4.0")]
    assert outcome_for(assessments, on=m(9)).confirmed_progression is False
    assert outcome_for(assessments, on=m(9), cfg=config(confirmation_months=3)).progression_date == m(6)


# --- Kaplan-Meier inputs --------------------------------------------------------------------------------


def test_survival_endpoints_events_and_censoring():
    outcome = outcome_for(
        [BASELINE_ASSESSMENT, (m(6), "3.0"), (m(12), "3.0"), (m(20), "3.0")],
        [m(10)],
        [scan(m(6), rebaseline=True), scan(m(18))],
        on=m(24),
    )
    endpoints = survival_endpoints(outcome)
    assert endpoints == {
        ENDPOINT_NEDA3: (months_between(DAY0, m(10)), True),
        ENDPOINT_PROGRESSION_FREE: (months_between(DAY0, m(20)), False),  # censored at the last follow-up
        ENDPOINT_RELAPSE_FREE: (months_between(DAY0, m(10)), True),
    }


def test_survival_endpoints_without_follow_up_are_censored_at_zero():
    endpoints = survival_endpoints(outcome_for([BASELINE_ASSESSMENT], [], [], on=m(6)))
    keys = (ENDPOINT_NEDA3, ENDPOINT_PROGRESSION_FREE, ENDPOINT_RELAPSE_FREE)
    assert endpoints == dict.fromkeys(keys, (0.0, False))


# --- plain language ------------------------------------------------------------------------------------

JARGON = re.compile(r"NEDA|CDP|gadolinium|\bGd\b|\bT2\b|lesion|baseline|censor|confirmed", re.IGNORECASE)


def test_plain_language_while_neda_holds():
    outcome = outcome_for(on=m(18))
    assert plain_language(outcome, m(18)) == (
        "No evidence of disease activity for 18 months since your transplant. "
        "This is based on your check-ups up to 15 July 2025."
    )


def test_plain_language_counts_months_to_the_day_given():
    outcome = outcome_for([BASELINE_ASSESSMENT, (m(0, 20), "3.0")], [], [], on=m(1))
    assert plain_language(outcome, m(1)).startswith("No evidence of disease activity for 1 month since")
    assert plain_language(outcome, m(1, -1)).startswith("No evidence of disease activity since your transplant.")
    assert plain_language(outcome) == plain_language(outcome, m(1))


def test_plain_language_after_a_relapse():
    outcome = outcome_for(STABLE, [date(2025, 3, 3)], CLEAN_SCANS, on=m(18))
    assert plain_language(outcome, m(18)) == (
        "There was no evidence of disease activity for 13 months after your transplant. "
        "Your team noted a relapse on 3 March 2025. "
        "Your team will talk with you about what this means for you and what happens next."
    )


def test_plain_language_lists_every_cause_in_date_order():
    outcome = outcome_for(
        [BASELINE_ASSESSMENT, (m(6), "3.0"), (m(9), "4.0"), (m(16), "4.0")],
        [m(12), m(14)],
        [scan(m(6), rebaseline=True), scan(m(15), gd=1)],
        on=m(16),
    )
    text = plain_language(outcome, m(16))
    assert text.index("disability score") < text.index("2 relapses") < text.index("scan on 15 April 2025")
    assert "first seen on 15 October 2024" in text
    assert "the first on 15 January 2025" in text
    assert text.startswith("There was no evidence of disease activity for 9 months after your transplant.")


def test_plain_language_mentions_a_lasting_improvement():
    outcome = outcome_for([BASELINE_ASSESSMENT, (m(6), "2.0"), (m(12), "2.0")], on=m(12))
    assert plain_language(outcome).endswith("has improved since your transplant, and it has stayed better.")


def test_plain_language_without_results_after_the_transplant():
    outcome = outcome_for([BASELINE_ASSESSMENT], [], [], on=m(3))
    assert "has not recorded any check-up results since your transplant" in plain_language(outcome)
    assert "No evidence" not in plain_language(outcome)


@pytest.mark.parametrize(
    ("day0", "on"), [pytest.param(None, m(3), id="no-day0"), pytest.param(DAY0, m(0, -2), id="before-day0")]
)
def test_plain_language_before_the_transplant(day0, on):
    outcome = outcome_for([BASELINE_ASSESSMENT], on=on, day0=day0)
    assert "once your transplant has taken place" in plain_language(outcome)


def test_plain_language_has_no_jargon():
    outcomes = [
        outcome_for(on=m(18)),
        outcome_for(STABLE, [m(10), m(12)], [scan(m(6), rebaseline=True), scan(m(8), t2=1, gd=1)], on=m(18)),
        outcome_for([BASELINE_ASSESSMENT, (m(6), "4.0"), (m(12), "4.0")], on=m(12)),
        outcome_for([BASELINE_ASSESSMENT, (m(6), "2.0"), (m(12), "2.0")], on=m(12)),
        outcome_for([BASELINE_ASSESSMENT], [], [], on=m(3)),
        outcome_for(day0=None),
    ]
    for outcome in outcomes:
        assert not JARGON.search(plain_language(outcome)), plain_language(outcome)


# --- helpers and purity -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        pytest.param(date(2024, 2, 7), date(2024, 8, 6), 5, id="one-day-short"),
        pytest.param(date(2024, 2, 7), date(2024, 8, 7), 6, id="exact"),
        pytest.param(date(2024, 1, 31), date(2024, 2, 29), 1, id="month-end-clamped"),
        pytest.param(date(2024, 1, 31), date(2024, 2, 28), 0, id="month-end-short"),
        pytest.param(date(2024, 2, 7), date(2024, 2, 1), 0, id="end-before-start"),
        pytest.param(date(2024, 2, 7), date(2024, 2, 7), 0, id="same-day"),
    ],
)
def test_whole_months(start, end, months):
    assert whole_months(start, end) == months


def test_long_date():
    assert long_date(date(2025, 3, 3)) == "3 March 2025"


def test_rules_are_pure_and_take_thresholds_from_config():
    source = Path(outcomes_module.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith("django") for name in imported)
    assert not re.search(r"\b(now|today|utcnow)\(", source)
    floats = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and type(node.value) is float]
    assert floats == []
    decimal_literals = [
        node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Decimal"
    ]
    assert all(not isinstance(arg, ast.Constant) for call in decimal_literals for arg in call.args)
