"""Lab values, engraftment, neutropenia, CD4 and EBV rules (recovery/clinical/engraftment.py).

The reference episode: Day 0 on 5 Mar 2026. A typical neutrophil course: ANC still normal on D+1 and D+2
(before the nadir), below 0.5 from D+3 to D+9, then 0.6, 0.8, 1.2 from D+10, so engraftment is D+10.
"""

import json
import math
from dataclasses import replace
from datetime import date, timedelta

import pytest

from recovery.clinical.engraftment import (
    NeutropeniaGrade,
    ReferenceFlag,
    cd4_recovered,
    check_lab_value,
    ctcae_neutrophil_grade,
    daily_lowest,
    ebv_above_threshold,
    engraftment_flags,
    first_day_below,
    neutropenia_grade,
    neutrophil_engraftment,
    platelet_engraftment,
    protracted_neutropenia,
    reference_flag,
    severe_neutropenia_since,
)
from recovery.clinical.labs_config import DEFAULT_LAB_CONFIG, LabConfig
from recovery.clinical.phases import Flag

DAY_ZERO = date(2026, 3, 5)


def d(offset: int) -> date:
    """The date `offset` days from the reference Day 0."""
    return DAY_ZERO + timedelta(days=offset)


def series(first: int, *values: float | None) -> list[tuple[date, float]]:
    """Daily counts from D+`first` on; None is a day without a count."""
    return [(d(first + i), value) for i, value in enumerate(values) if value is not None]


# D+1 .. D+12: pre-nadir, aplasia from D+3, recovery from D+10
TYPICAL = series(1, 2.1, 1.4, 0.4, 0.1, 0.0, 0.0, 0.0, 0.05, 0.2, 0.6, 0.8, 1.2)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param(TYPICAL, d(10), id="typical_D+10"),
        pytest.param(list(reversed(TYPICAL)), d(10), id="unsorted_input"),
        pytest.param(series(3, 0.1, *[0.0] * 6, 0.5, 0.5, 0.5), d(10), id="exactly_at_threshold_counts"),
        pytest.param(series(3, 0.1, *[0.0] * 6, 0.5, 0.49, 0.5), None, id="just_below_threshold_breaks_run"),
        pytest.param(series(3, 0.1, *[0.0] * 6, 0.6, 0.7), None, id="two_days_are_not_enough"),
        pytest.param(series(3, 0.1, *[0.0] * 6, 0.6, 0.7, 0.3, 0.6, 0.9, 1.1), d(13), id="dip_restarts_run"),
        pytest.param(series(3, 0.1, *[0.0] * 6, 0.6, None, 0.8, 0.9, 1.1), d(12), id="missing_day_breaks_run"),
        pytest.param(series(3, 0.1, *[0.0] * 6, 0.6, None, 0.8, 0.9), None, id="gap_leaves_two_days"),
        pytest.param([*TYPICAL, *series(20, 0.0, 0.0, 0.0)], d(10), id="later_dip_does_not_move_it"),
        pytest.param(series(1, 2.0, 1.8, 1.2, 0.9, 0.7), None, id="never_below_no_nadir"),
        pytest.param([], None, id="no_counts"),
    ],
)
def test_neutrophil_engraftment_is_first_of_three_consecutive_days_after_nadir(counts, expected):
    assert neutrophil_engraftment(counts, DAY_ZERO) == expected


def test_neutrophil_engraftment_ignores_pre_nadir_counts_above_threshold():
    """ANC still normal on D+1 to D+3 is not engraftment: the run must follow the nadir (without the rule: D+1)."""
    counts = series(1, 2.1, 1.4, 0.9, 0.3, 0.0, 0.0, 0.7, 0.8, 0.9)
    assert neutrophil_engraftment(counts, DAY_ZERO) == d(7)
    without_nadir = replace(DEFAULT_LAB_CONFIG, engraftment_after_nadir=False)
    assert neutrophil_engraftment(counts, DAY_ZERO, without_nadir) == d(1)


@pytest.mark.parametrize(
    ("counts", "after_nadir", "expected"),
    [
        pytest.param([(d(-6), 0.1), *series(1, 1.0, 1.0, 1.0)], True, None, id="nadir_before_day0_does_not_count"),
        pytest.param([(d(0), 0.1), *series(1, 1.0, 1.0, 1.0)], True, d(1), id="nadir_on_day0_counts"),
        pytest.param(series(-2, 0.9, 0.9, 0.9, 0.9, 0.9), False, None, id="day0_and_before_are_not_run_days"),
        pytest.param(series(-2, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9), False, d(1), id="run_from_D+1"),
    ],
)
def test_neutrophil_engraftment_ignores_counts_before_day0(counts, after_nadir, expected):
    config = replace(DEFAULT_LAB_CONFIG, engraftment_after_nadir=after_nadir)
    assert neutrophil_engraftment(counts, DAY_ZERO, config) == expected


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param([(d(11), 0.3)], None, id="low_second_value_breaks_day"),
        pytest.param([(d(11), 0.9), (d(11), 0.5)], d(10), id="several_values_all_at_or_above"),
        pytest.param([(d(10), 0.6)], d(10), id="exact_duplicate"),
    ],
)
def test_neutrophil_engraftment_uses_lowest_value_of_each_day(extra, expected):
    assert neutrophil_engraftment([*TYPICAL, *extra], DAY_ZERO) == expected


def test_daily_lowest_keeps_the_lowest_of_each_day():
    assert daily_lowest([(d(1), 0.9), (d(1), 0.4), (d(2), 1.0), (d(1), 0.7)], "anc") == {d(1): 0.4, d(2): 1.0}


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param(series(3, 0.1, 0.6, 0.2), d(4), id="first_qualifying_day_alone"),
        pytest.param(series(1, 0.9, 0.8, 0.1, 0.6), d(4), id="still_after_nadir"),
        pytest.param(series(3, 0.1, 0.49), None, id="below_threshold"),
    ],
)
def test_accept_first_qualifying_day_option(counts, expected):
    config = replace(DEFAULT_LAB_CONFIG, accept_first_qualifying_day=True)
    assert neutrophil_engraftment(counts, DAY_ZERO, config) == expected


def test_engraftment_threshold_and_run_length_come_from_config():
    counts = series(3, 0.1, 0.8, 0.9, 1.0, 1.1, 1.2)
    assert neutrophil_engraftment(counts, DAY_ZERO) == d(4)
    assert neutrophil_engraftment(counts, DAY_ZERO, replace(DEFAULT_LAB_CONFIG, neutrophil_threshold=1.0)) == d(6)
    assert neutrophil_engraftment(counts, DAY_ZERO, replace(DEFAULT_LAB_CONFIG, engraftment_consecutive_days=5)) == d(4)
    assert neutrophil_engraftment(counts, DAY_ZERO, replace(DEFAULT_LAB_CONFIG, engraftment_consecutive_days=6)) is None


@pytest.mark.parametrize("bad", [-0.1, 100.1, math.nan, math.inf, "abc", None])
def test_neutrophil_engraftment_refuses_implausible_counts(bad):
    with pytest.raises(ValueError, match="anc"):
        neutrophil_engraftment([*TYPICAL, (d(13), bad)], DAY_ZERO)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param(TYPICAL, d(3), id="typical"),
        pytest.param([(d(-3), 0.1), *series(0, 0.7, 0.3)], d(1), id="before_day0_ignored"),
        pytest.param(series(1, 0.5, 0.9), None, id="exactly_threshold_is_not_below"),
    ],
)
def test_first_day_below_is_the_start_of_the_nadir(counts, expected):
    assert first_day_below(counts, DAY_ZERO, 0.5) == expected


# Platelets: 50 on Day 0, below 20 from D+3 to D+8, 25 from D+9 to D+25.
PLATELETS = [(d(0), 50.0), *series(3, 15, 10, 8, 12, 18, 19), *series(9, *[25.0] * 17)]


@pytest.mark.parametrize(
    ("transfusions", "expected"),
    [
        pytest.param((), d(9), id="no_transfusion"),
        pytest.param((d(1),), d(9), id="8_days_before_is_outside"),
        pytest.param((d(2),), d(10), id="7_days_before_is_inside"),
        pytest.param((d(8),), d(16), id="day_before_is_inside"),
        pytest.param((d(10),), d(18), id="during_the_run_is_inside"),
        pytest.param((d(8), d(3)), d(16), id="several_unsorted"),
        pytest.param((d(30),), d(9), id="later_transfusion_irrelevant"),
    ],
)
def test_platelet_engraftment_needs_seven_transfusion_free_days(transfusions, expected):
    assert platelet_engraftment(PLATELETS, transfusions, DAY_ZERO) == expected


@pytest.mark.parametrize(
    ("transfusions", "expected"),
    [
        pytest.param((d(-2),), None, id="transfusion_before_day0_counts"),
        pytest.param((d(-8),), d(1), id="transfusion_8_days_before_D+1"),
    ],
)
def test_platelet_transfusions_before_day0_count(transfusions, expected):
    counts = [(d(0), 15.0), *series(1, 30, 30, 30, 30, 30)]
    assert platelet_engraftment(counts, transfusions, DAY_ZERO) == expected


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param(series(3, 10, 20, 20, 20), d(4), id="exactly_20_counts"),
        pytest.param(series(3, 10, 20, 19.9, 20, 21, 22), d(6), id="19.9_breaks_run"),
        pytest.param(series(3, 10, 20, None, 20, 21, 22), d(6), id="gap_breaks_run"),
        pytest.param(series(1, 80, 60, 40, 30), None, id="never_below_20"),
        pytest.param([*series(3, 10, 25, 25, 25), (d(5), 12)], None, id="low_second_value"),
    ],
)
def test_platelet_engraftment_counts_and_gaps(counts, expected):
    assert platelet_engraftment(counts, (), DAY_ZERO) == expected


@pytest.mark.parametrize(
    ("today", "neutrophil_date", "expected"),
    [
        pytest.param(d(-1), None, (), id="before_day0"),
        pytest.param(d(20), None, (), id="D+20_not_yet_delayed"),
        pytest.param(d(21), None, (Flag.DELAYED_ENGRAFTMENT,), id="D+21_delayed"),
        pytest.param(d(29), None, (Flag.DELAYED_ENGRAFTMENT,), id="D+29_delayed"),
        pytest.param(d(30), None, (Flag.DELAYED_ENGRAFTMENT, Flag.POSSIBLE_GRAFT_FAILURE), id="D+30_both"),
        pytest.param(d(25), d(12), (), id="engrafted"),
        pytest.param(d(21), d(21), (), id="engrafted_on_D+21"),
        pytest.param(d(24), d(25), (Flag.DELAYED_ENGRAFTMENT,), id="engraftment_dated_after_today"),
        pytest.param(d(40), d(35), (), id="late_engraftment_clears_flags"),
    ],
)
def test_engraftment_flags(today, neutrophil_date, expected):
    assert engraftment_flags(DAY_ZERO, today, neutrophil_date) == expected


def test_engraftment_flag_days_come_from_config():
    config = replace(DEFAULT_LAB_CONFIG, delayed_engraftment_day=14, possible_graft_failure_day=28)
    assert engraftment_flags(DAY_ZERO, d(14), None, config) == (Flag.DELAYED_ENGRAFTMENT,)
    assert engraftment_flags(DAY_ZERO, d(28), None, config) == (Flag.DELAYED_ENGRAFTMENT, Flag.POSSIBLE_GRAFT_FAILURE)


@pytest.mark.parametrize(
    ("anc", "grade", "ctcae"),
    [
        pytest.param(2.5, NeutropeniaGrade.NONE, 0, id="2.5"),
        pytest.param(2.0, NeutropeniaGrade.NONE, 0, id="2.0_lln"),
        pytest.param(1.9, NeutropeniaGrade.NONE, 1, id="1.9"),
        pytest.param(1.5, NeutropeniaGrade.NONE, 1, id="1.5"),
        pytest.param(1.49, NeutropeniaGrade.MILD, 2, id="1.49"),
        pytest.param(1.0, NeutropeniaGrade.MILD, 2, id="1.0"),
        pytest.param(0.99, NeutropeniaGrade.MODERATE, 3, id="0.99"),
        pytest.param(0.5, NeutropeniaGrade.MODERATE, 3, id="0.5"),
        pytest.param(0.49, NeutropeniaGrade.SEVERE, 4, id="0.49"),
        pytest.param(0.1, NeutropeniaGrade.SEVERE, 4, id="0.1"),
        pytest.param(0.09, NeutropeniaGrade.PROFOUND, 4, id="0.09"),
        pytest.param(0.0, NeutropeniaGrade.PROFOUND, 4, id="0.0"),
    ],
)
def test_neutropenia_grade_and_ctcae_grade(anc, grade, ctcae):
    assert neutropenia_grade(anc) == grade
    assert ctcae_neutrophil_grade(anc) == ctcae


def test_neutropenia_grade_refuses_a_negative_count():
    with pytest.raises(ValueError, match="plausible range"):
        neutropenia_grade(-0.1)


# ANC 0.8 on D+2, below 0.5 from D+3 (no count on D+5), recovered on D+11; a later count on D+12.
NEUTROPENIA = [*series(2, 0.8, 0.4, 0.2, None, 0.1, 0.0, 0.0, 0.05, 0.3, 0.6), (d(12), 0.3)]


@pytest.mark.parametrize(
    ("on", "since", "protracted"),
    [
        pytest.param(d(2), None, False, id="before"),
        pytest.param(d(3), d(3), False, id="first_day"),
        pytest.param(d(5), d(3), False, id="gap_does_not_end_it"),
        pytest.param(d(9), d(3), False, id="6_days"),
        pytest.param(d(10), d(3), True, id="7_days_protracted"),
        pytest.param(d(11), None, False, id="recovered"),
        pytest.param(d(12), d(12), False, id="new_episode"),
    ],
)
def test_severe_neutropenia_duration(on, since, protracted):
    assert severe_neutropenia_since(NEUTROPENIA, on) == since
    assert protracted_neutropenia(NEUTROPENIA, on) is protracted


@pytest.mark.parametrize(
    ("results", "on", "expected"),
    [
        pytest.param([], d(180), False, id="no_results"),
        pytest.param([(d(-10), 0.8)], d(180), False, id="before_day0_ignored"),
        pytest.param([(d(0), 0.8)], d(180), False, id="day0_ignored"),
        pytest.param([(d(90), 0.19)], d(180), False, id="0.19_not_recovered"),
        pytest.param([(d(90), 0.2)], d(180), True, id="exactly_0.2_recovered"),
        pytest.param([(d(180), 0.3), (d(90), 0.1)], d(180), True, id="latest_counts_unsorted"),
        pytest.param([(d(90), 0.3), (d(180), 0.1)], d(180), False, id="latest_fell_again"),
        pytest.param([(d(180), 0.3), (d(180), 0.15)], d(180), False, id="same_day_lowest"),
        pytest.param([(d(90), 0.1), (d(200), 0.3)], d(180), False, id="result_after_on_ignored"),
    ],
)
def test_cd4_recovered_reads_the_latest_count_after_day0(results, on, expected):
    assert cd4_recovered(results, DAY_ZERO, on) is expected


@pytest.mark.parametrize(
    ("copies", "expected"),
    [(0, False), (499_999, False), (500_000, False), (500_001, True), (2_000_000, True)],
)
def test_ebv_above_threshold_is_strictly_above(copies, expected):
    assert ebv_above_threshold(copies) is expected


@pytest.mark.parametrize(
    ("test", "value"),
    [
        ("anc", 0.0),
        ("anc", 100.0),
        ("platelets", 2000.0),
        ("haemoglobin", 20.0),
        ("haemoglobin", 250.0),
        ("wbc", 500.0),
        ("lymphocytes", 100.0),
        ("cd4", 10.0),
        ("cd8", 10.0),
        ("cd19", 10.0),
        ("nk", 10.0),
        ("igg", 50.0),
        ("tsh", 150.0),
        ("ebv_pcr", 1e9),
        ("cmv_pcr", 1e9),
    ],
)
def test_check_lab_value_accepts_plausible_bounds(test, value):
    assert check_lab_value(test, value) == value


@pytest.mark.parametrize(
    ("test", "value", "message"),
    [
        ("anc", 100.1, r"anc result 100\.1 x10\^9/L is outside the plausible range 0 to 100 x10\^9/L"),
        ("platelets", 2001, "platelets result 2001 x10"),
        ("haemoglobin", 19.9, "19.9 g/L"),
        ("igg", 50.1, "0 to 50 g/L"),
        ("tsh", 151, "mIU/L"),
        ("cd4", 250, "cd4 result 250"),  # typed in cells/uL
        ("ebv_pcr", 1.1e9, "copies/mL"),
        ("wbc", -1, "outside the plausible range"),
        ("anc", math.nan, "finite"),
        ("anc", "high", "not a number"),
        ("sodium", 140, "Unknown lab test 'sodium'"),
    ],
)
def test_check_lab_value_refuses_typing_errors(test, value, message):
    with pytest.raises(ValueError, match=message):
        check_lab_value(test, value)


@pytest.mark.parametrize(
    ("test", "value", "expected"),
    [
        ("anc", 1.9, ReferenceFlag.LOW),
        ("anc", 2.0, ReferenceFlag.NORMAL),
        ("anc", 7.5, ReferenceFlag.NORMAL),
        ("anc", 7.6, ReferenceFlag.HIGH),
        ("igg", 5.9, ReferenceFlag.LOW),
        ("ebv_pcr", 1, ReferenceFlag.HIGH),
    ],
)
def test_reference_flag(test, value, expected):
    assert reference_flag(test, value) == expected


def test_every_lab_test_has_a_unit_and_both_ranges():
    config = DEFAULT_LAB_CONFIG
    for test, _unit in config.units:
        low, high = config.plausible_range(test)
        ref_low, ref_high = config.reference_range(test)
        assert low <= ref_low <= ref_high <= high, test


def test_lab_config_read_back_from_json_still_works():
    stored = json.loads(json.dumps(DEFAULT_LAB_CONFIG.as_dict()))
    config = LabConfig().with_overrides({**stored, "neutrophil_threshold": 1.0})
    assert config.unit("igg") == "g/L"
    assert check_lab_value("cd4", 0.3, config) == 0.3
    assert neutrophil_engraftment(series(3, 0.1, 0.8, 0.9, 1.0, 1.1, 1.2), DAY_ZERO, config) == d(6)
