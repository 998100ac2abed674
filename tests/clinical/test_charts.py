"""The charts' windows and gaps (recovery.clinical.charts)."""

from datetime import date, timedelta

import pytest

from recovery.clinical.charts import (
    ALL,
    FIRST_DAYS,
    FROM_DAY0,
    TO_TODAY,
    YEAR,
    ChartConfig,
    Window,
    available_ranges,
    break_gaps,
    default_range,
    parse_range,
    report_gap_hours,
    window,
)
from recovery.clinical.config import ReminderConfig

DAY0 = date(2025, 3, 1)


@pytest.mark.parametrize(
    ("day", "anchor", "expected"),
    [
        (9, TO_TODAY, FIRST_DAYS),
        (100, TO_TODAY, FIRST_DAYS),
        (101, TO_TODAY, YEAR),
        (2000, TO_TODAY, YEAR),
        (9, FROM_DAY0, FIRST_DAYS),
        (200, FROM_DAY0, YEAR),
        (366, FROM_DAY0, ALL),
    ],
)
def test_default_range_follows_the_patients_day(day, anchor, expected):
    assert default_range(DAY0, DAY0 + timedelta(days=day), anchor) == expected


def test_without_day0_reports_default_to_the_last_year_and_other_charts_to_all():
    assert default_range(None, DAY0, TO_TODAY) == YEAR
    assert default_range(None, DAY0, FROM_DAY0) == ALL
    assert available_ranges(None, TO_TODAY) == (YEAR, ALL)
    assert available_ranges(None, FROM_DAY0) == (ALL,)


def test_a_bad_range_falls_back_to_the_default():
    assert parse_range("decade", (FIRST_DAYS, YEAR, ALL), YEAR) == YEAR
    assert parse_range(None, (FIRST_DAYS, YEAR, ALL), ALL) == ALL
    assert parse_range("100d", (FIRST_DAYS, YEAR, ALL), ALL) == FIRST_DAYS


def test_windows_from_day0_and_to_today():
    today = DAY0 + timedelta(days=500)
    assert window(FIRST_DAYS, DAY0, today, FROM_DAY0) == Window(DAY0 - timedelta(days=14), DAY0 + timedelta(days=100))
    assert window(YEAR, DAY0, today, FROM_DAY0) == Window(DAY0 - timedelta(days=14), DAY0 + timedelta(days=365))
    assert window(YEAR, DAY0, today, TO_TODAY) == Window(today - timedelta(days=365), today)
    assert window(ALL, DAY0, today, TO_TODAY) is None
    assert window(FIRST_DAYS, None, today, TO_TODAY) is None


def test_a_window_is_cut_at_today():
    today = DAY0 + timedelta(days=9)
    assert window(FIRST_DAYS, DAY0, today, FROM_DAY0).until(today) == Window(DAY0 - timedelta(days=14), today)


def test_the_window_follows_the_configuration():
    config = ChartConfig(first_days_start_day=-7, first_days_end_day=60)
    assert window(FIRST_DAYS, DAY0, DAY0, FROM_DAY0, config) == Window(
        DAY0 - timedelta(days=7), DAY0 + timedelta(days=60)
    )


def test_break_gaps_puts_a_null_point_between_points_further_apart_than_the_gap():
    points = [{"x": 0, "y": 1}, {"x": 1, "y": 2}, {"x": 4, "y": 3}, {"x": 5, "y": 4}]
    assert break_gaps(points, 1) == [
        {"x": 0, "y": 1},
        {"x": 1, "y": 2},
        {"x": 2.5, "y": None},
        {"x": 4, "y": 3},
        {"x": 5, "y": 4},
    ]


def test_break_gaps_joins_points_exactly_the_gap_apart_and_keeps_empty_and_single_series():
    assert break_gaps([{"x": 0, "y": 1}, {"x": 2, "y": 1}], 2) == [{"x": 0, "y": 1}, {"x": 2, "y": 1}]
    assert break_gaps([], 1) == []
    assert break_gaps([{"x": 3, "y": 1}], 1) == [{"x": 3, "y": 1}]


def test_break_gaps_reads_a_gap_that_changes_along_the_axis():
    points = [{"x": 0, "y": 1}, {"x": 3, "y": 1}, {"x": 10, "y": 1}, {"x": 13, "y": 1}]
    gaps = break_gaps(points, lambda x: 2 if x < 10 else 5)
    assert [p["y"] for p in gaps] == [1, None, 1, None, 1, 1]


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        (-5, 24),  # twice a day (08:00 and 20:00): 12 h, plus 12 h slack
        (10, 24),
        (30, 24),
        (31, 3 * 24 + 12),  # Mon, Wed, Fri: Friday to Monday
        (100, 3 * 24 + 12),
        (101, 7 * 24 + 12),  # weekly
        (None, 7 * 24 + 12),
    ],
)
def test_the_report_gap_follows_the_reminder_schedule(day, hours):
    assert report_gap_hours(day, ReminderConfig()) == hours


def test_the_report_gap_follows_a_centres_schedule():
    reminders = ReminderConfig(temperature_times=((8, 0),), early_recovery_weekdays=(0,))
    assert report_gap_hours(5, reminders, ChartConfig(report_gap_slack_hours=0)) == 24
    assert report_gap_hours(50, reminders, ChartConfig(report_gap_slack_hours=0)) == 7 * 24
