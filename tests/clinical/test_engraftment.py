"""Lab values, engraftment, neutropenia, CD4 and EBV rules (recovery/clinical/engraftment.py).

The reference episode: Day 0 on 5 Mar 2026. A typical neutrophil course: ANC still normal on D+1 and D+2
(before the nadir), below 0.5 from D+3 to D+9, then 0.6, 0.8, 1.2 from D+10, so engraftment is D+10.
"""

import json
import math
from dataclasses import replace
from datetime import date, timedelta

import pytest

from recovery.clinical.config import PhaseConfig
from recovery.clinical.engraftment import (
    ImplausibleValueError,
    NeutropeniaGrade,
    ReferenceFlag,
    after_last_implausible,
    cd4_recovered,
    check_lab_value,
    ctcae_neutrophil_grade,
    daily_lowest,
    ebv_above_threshold,
    engraftment_flags,
    first_day_below,
    implausible_message,
    neutropenia_grade,
    neutrophil_engraftment,
    neutrophil_never_below,
    platelet_engraftment,
    platelet_never_below,
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
        # CIBMTR: three consecutive values on different days, not necessarily on consecutive calendar days
        pytest.param(series(3, 0.1, *[0.0] * 6, 0.6, None, 0.8, 0.9, 1.1), d(10), id="missing_day_does_not_break_run"),
        pytest.param(series(3, 0.1, *[0.0] * 6, 0.6, None, 0.8, 0.9), d(10), id="three_values_across_a_gap"),
        pytest.param([(d(3), 0.1), (d(10), 0.6), (d(15), 0.7), (d(22), 0.9)], d(10), id="values_a_week_apart"),
        pytest.param(series(3, 0.1, *[0.0] * 6, 0.6, None, 0.4, 0.9, 1.1, 1.2), d(13), id="low_value_after_gap_breaks"),
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


@pytest.mark.parametrize(
    ("same_day", "expected"),
    [
        pytest.param([(d(10), 0.6), (d(10), 0.7), (d(10), 0.8)], None, id="three_values_one_day"),
        pytest.param([(d(10), 0.6), (d(10), 0.7), (d(11), 0.8)], None, id="three_values_two_days"),
        pytest.param([(d(10), 0.6), (d(10), 0.7), (d(11), 0.8), (d(12), 0.9)], d(10), id="three_days"),
        pytest.param([(d(10), 0.6), (d(11), 0.49), (d(11), 0.8), (d(12), 0.9)], None, id="a_low_repeat_spoils_its_day"),
    ],
)
def test_same_day_repeats_are_one_value(same_day, expected):
    """Values on one day are one laboratory value (its lowest): repeats never make a run on their own."""
    assert neutrophil_engraftment([(d(3), 0.1), *same_day], DAY_ZERO) == expected


@pytest.mark.parametrize("bad", [-0.1, 50.1, 60, math.nan, math.inf, "abc", None])
def test_neutrophil_engraftment_refuses_implausible_counts(bad):
    """A count that could only be in the wrong unit (60 is 60 cells/uL) never proposes engraftment: it is refused."""
    with pytest.raises(ValueError, match=r"(?i)anc"):
        neutrophil_engraftment([*series(3, 0.1, *[0.0] * 6), (d(10), bad), (d(11), bad), (d(12), bad)], DAY_ZERO)


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
        pytest.param((d(2),), d(9), id="7_days_before_is_outside"),  # the CIBMTR example: transfusion D0, count D+7
        pytest.param((d(3),), d(10), id="6_days_before_is_inside"),
        pytest.param((d(8),), d(15), id="day_before_is_inside"),
        pytest.param((d(9),), d(16), id="on_the_first_value_is_inside"),
        pytest.param((d(10),), d(17), id="on_the_second_value_is_inside"),
        pytest.param((d(11),), d(18), id="on_the_third_value_is_inside"),
        pytest.param((d(12),), d(9), id="day_after_the_run_is_irrelevant"),
        pytest.param((d(8), d(3)), d(15), id="several_unsorted"),
        pytest.param((d(30),), d(9), id="later_transfusion_irrelevant"),
    ],
)
def test_platelet_engraftment_needs_seven_transfusion_free_days(transfusions, expected):
    """Each of the three values is at least 7 days after the last platelet transfusion (day - transfusion >= 7)."""
    assert platelet_engraftment(PLATELETS, transfusions, DAY_ZERO) == expected


@pytest.mark.parametrize("free_days", [1, 7, 10])
def test_the_transfusion_free_days_come_from_config(free_days):
    config = replace(DEFAULT_LAB_CONFIG, platelet_transfusion_free_days=free_days)
    assert platelet_engraftment(PLATELETS, (d(8),), DAY_ZERO, config) == d(8 + free_days)


def test_platelet_engraftment_matches_the_cibmtr_worked_example():
    """CIBMTR forms manual, "Reporting Platelet Recovery": last platelet transfusion on Day 0 (13 June); counts
    30, 25 (D+1, D+2), 10, 15, 19, then 23 on D+6 (within 7 days), 25 on D+7: the date reported is D+7 (20 June).
    """
    counts = series(0, 10, 30, 25, 10, 15, 19, 23, 25, 40, 50, 56, 65, 72)
    assert platelet_engraftment(counts, (d(0),), DAY_ZERO) == d(7)
    assert platelet_engraftment(counts, (), DAY_ZERO) == d(6)  # without the transfusion, D+6 would count


@pytest.mark.parametrize(
    ("transfusions", "expected"),
    [
        pytest.param((d(-2),), None, id="transfusion_before_day0_counts"),
        pytest.param((d(-8),), d(1), id="transfusion_8_days_before_D+1"),
        pytest.param((d(-6),), d(1), id="transfusion_7_days_before_D+1"),
        pytest.param((d(-5),), d(2), id="transfusion_6_days_before_D+1"),
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
        pytest.param(series(3, 10, 20, None, 20, 21, 22), d(4), id="gap_does_not_break_run"),
        pytest.param(series(3, 10, 20, 20, None, None, 19.9, 20, 21, 22), d(9), id="low_value_after_gap_breaks"),
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


@pytest.mark.parametrize("today", [d(21), d(30), d(60)])
def test_no_engraftment_flags_when_the_anc_never_fell_below(today):
    """No aplasia, nothing to engraft from: neither delayed engraftment nor possible graft failure."""
    assert engraftment_flags(DAY_ZERO, today, None, never_below=True) == ()
    assert engraftment_flags(DAY_ZERO, today, None, never_below=False) != ()


# ANC 0.6 or more on every count from Day 0 to D+14 (no aplasia)
NEVER_BELOW = series(0, *[0.6] * 15)


@pytest.mark.parametrize(
    ("counts", "on", "expected"),
    [
        pytest.param(NEVER_BELOW, d(14), True, id="daily_to_D+14"),
        pytest.param(series(0, *[0.5] * 15), d(14), True, id="exactly_0.5_is_not_below"),
        pytest.param([*NEVER_BELOW, (d(5), 0.49)], d(14), False, id="one_0.49_is_below"),
        pytest.param([*NEVER_BELOW, (d(0), 0.4)], d(14), False, id="below_on_day0_counts"),
        pytest.param([*NEVER_BELOW, (d(-1), 0.1)], d(14), True, id="below_before_day0_ignored"),
        pytest.param(series(0, *[0.6] * 14), d(20), False, id="last_count_D+13_too_early"),
        pytest.param(NEVER_BELOW, d(13), False, id="on_D+13_not_known_yet"),
        pytest.param([(d(1), 0.9), (d(7), 0.9), (d(14), 0.9)], d(14), True, id="three_days_after_day0"),
        pytest.param([(d(0), 0.9), (d(7), 0.9), (d(14), 0.9)], d(14), False, id="two_days_after_day0"),
        pytest.param([(d(1), 0.9), (d(14), 0.9), (d(14), 1.0), (d(14), 1.1)], d(14), False, id="repeats_are_one_day"),
        pytest.param([*NEVER_BELOW, (d(15), 0.1)], d(14), True, id="later_count_not_yet_known"),
        pytest.param([*NEVER_BELOW, (d(15), 0.1)], d(15), False, id="later_count_below"),
        pytest.param([], d(30), False, id="no_counts_is_not_never_below"),
        pytest.param(TYPICAL, d(30), False, id="typical_aplasia"),
    ],
)
def test_neutrophil_never_below(counts, on, expected):
    assert neutrophil_never_below(counts, DAY_ZERO, on) is expected


def test_never_below_gives_no_engraftment_date():
    assert neutrophil_engraftment(NEVER_BELOW, DAY_ZERO) is None


def test_never_below_day_comes_from_config():
    config = replace(DEFAULT_LAB_CONFIG, never_below_from_day=10)
    assert neutrophil_never_below(series(0, *[0.6] * 11), DAY_ZERO, d(10), config) is True
    assert neutrophil_never_below(series(0, *[0.6] * 10), DAY_ZERO, d(10), config) is False


@pytest.mark.parametrize(
    ("counts", "transfusions", "expected"),
    [
        pytest.param(series(0, *[25.0] * 15), (), True, id="never_below_20"),
        pytest.param(series(0, *[20.0] * 15), (), True, id="exactly_20"),
        pytest.param([*series(0, *[25.0] * 15), (d(6), 19.9)], (), False, id="one_19.9"),
        pytest.param(series(0, *[25.0] * 15), (d(3),), False, id="transfused_after_day0"),
        pytest.param(series(0, *[25.0] * 15), (d(0),), False, id="transfused_on_day0"),
        pytest.param(series(0, *[25.0] * 15), (d(-1),), True, id="transfused_before_day0"),
    ],
)
def test_platelet_never_below(counts, transfusions, expected):
    assert platelet_never_below(counts, transfusions, DAY_ZERO, d(14)) is expected


def test_engraftment_flag_days_come_from_config():
    config = PhaseConfig(delayed_engraftment_day=14, possible_graft_failure_day=28)
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
    with pytest.raises(ImplausibleValueError, match="is not possible"):
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
        pytest.param([(d(90), 3.0)], d(180), True, id="3.0_highest_plausible"),
        # a CD4 that could only be in cells/uL never counts as recovery, nor lets an older count stand in for it
        pytest.param([(d(90), 3.1)], d(180), False, id="3.1_implausible"),
        pytest.param([(d(90), 250)], d(180), False, id="250_is_cells_per_uL"),
        pytest.param([(d(90), 0.3), (d(180), 250)], d(180), False, id="latest_implausible_older_does_not_count"),
        pytest.param([(d(90), 250), (d(180), 0.3)], d(180), True, id="plausible_after_implausible"),
        pytest.param([(d(90), 250), (d(180), 0.1)], d(180), False, id="low_after_implausible"),
    ],
)
def test_cd4_recovered_reads_the_latest_count_after_day0(results, on, expected):
    assert cd4_recovered(results, DAY_ZERO, on) is expected


def test_after_last_implausible_keeps_only_what_follows_it():
    values = [(d(30), 0.1), (d(60), 250), (d(90), 0.3), (d(120), "x"), (d(150), 0.25)]
    assert after_last_implausible(values, "cd4") == [(d(150), 0.25)]
    assert after_last_implausible([(d(30), 0.1), (d(60), 0.3)], "cd4") == [(d(30), 0.1), (d(60), 0.3)]


@pytest.mark.parametrize(
    ("copies", "expected"),
    [(0, False), (499_999, False), (500_000, False), (500_001, True), (2_000_000, True)],
)
def test_ebv_above_threshold_is_strictly_above(copies, expected):
    assert ebv_above_threshold(copies) is expected


# (test, lowest, highest) plausible, in the canonical unit: pinned here so that a change is deliberate
PLAUSIBLE = [
    ("anc", 0.0, 50.0),
    ("platelets", 0.0, 2000.0),
    ("haemoglobin", 20.0, 250.0),
    ("wbc", 0.0, 100.0),
    ("lymphocytes", 0.0, 50.0),
    ("cd4", 0.0, 3.0),
    ("cd8", 0.0, 5.0),
    ("cd19", 0.0, 3.0),
    ("nk", 0.0, 3.0),
    ("igg", 0.0, 50.0),
    ("tsh", 0.0, 150.0),
    ("ft4", 1.0, 100.0),
    ("ebv_pcr", 0.0, 1e9),
    ("cmv_pcr", 0.0, 1e9),
]


@pytest.mark.parametrize(("test", "low", "high"), PLAUSIBLE)
def test_check_lab_value_accepts_both_bounds_and_refuses_just_outside(test, low, high):
    step = 0.01 if high <= 1000 else 1.0
    assert check_lab_value(test, low) == low
    assert check_lab_value(test, high) == high
    for outside in (low - step, high + step):
        with pytest.raises(ImplausibleValueError, match="is not possible"):
            check_lab_value(test, outside)


def test_every_test_has_a_pinned_plausible_range():
    assert {test for test, _, _ in PLAUSIBLE} == {test for test, _ in DEFAULT_LAB_CONFIG.units}


@pytest.mark.parametrize(
    ("test", "value", "message"),
    [
        # the wording
        ("anc", 60, "An ANC of 60 x10^9/L is not possible; 60 cells/µL is 0.06 x10^9/L — did you mean 0.06?"),
        ("anc", 50.01, "An ANC of 50.01 x10^9/L is not possible; 50.01 cells/µL is 0.05001 x10^9/L"),
        ("anc", 600, "600 cells/µL is 0.6 x10^9/L — did you mean 0.6?"),
        ("wbc", 1500, "A white cell count of 1500 x10^9/L is not possible; 1500 cells/µL is 1.5 x10^9/L"),
        ("platelets", 21000, "A platelet count of 21000 x10^9/L is not possible; 21000 /µL is 21 x10^9/L"),
        ("haemoglobin", 9.5, "A haemoglobin of 9.5 g/L is not possible; 9.5 g/dL is 95 g/L — did you mean 95?"),
        ("igg", 800, "An IgG of 800 g/L is not possible; 800 mg/dL is 8 g/L — did you mean 8?"),
        ("cd4", 250, "A CD4 count of 250 x10^9/L is not possible; 250 cells/µL is 0.25 x10^9/L"),
        ("cd19", 40, "40 cells/µL is 0.04 x10^9/L — did you mean 0.04?"),
        ("ft4", 0.9, "0.9 ng/dL is 11.583 pmol/L — did you mean 11.583?"),
        # no unit makes it plausible: the unit and the range
        ("anc", 600000, "An ANC of 600000 x10^9/L is not possible: enter it in x10^9/L, between 0 and 50."),
        ("wbc", -1, "A white cell count of -1 x10^9/L is not possible: enter it in x10^9/L, between 0 and 100."),
        ("tsh", 151, "A TSH of 151 mIU/L is not possible: enter it in mIU/L, between 0 and 150."),
        ("ebv_pcr", 1.1e9, "An EBV load of 1100000000 copies/mL is not possible: enter it in copies/mL"),
    ],
)
def test_an_implausible_value_names_the_probable_unit_mix_up(test, value, message):
    """The message shows the unit with the multiplication sign (written x10^9/L in this table)."""
    message = message.replace("x10^9", "\u00d710^9")
    with pytest.raises(ImplausibleValueError) as exc:
        check_lab_value(test, value)
    assert message in str(exc.value)
    assert str(exc.value) == implausible_message(test, float(value))


@pytest.mark.parametrize(
    ("test", "value", "message"),
    [
        ("anc", math.nan, "finite"),
        ("anc", "high", "not a number"),
        ("sodium", 140, "Unknown lab test 'sodium'"),
    ],
)
def test_check_lab_value_refuses_what_is_not_a_result(test, value, message):
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
    assert config.unit_mixups_of("anc") == [("cells/µL", 0.001)]
    with pytest.raises(ImplausibleValueError, match=r"did you mean 0\.06"):
        check_lab_value("anc", 60, config)
    assert neutrophil_engraftment(series(3, 0.1, 0.8, 0.9, 1.0, 1.1, 1.2), DAY_ZERO, config) == d(6)
