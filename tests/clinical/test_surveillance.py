"""Long-term surveillance labs: TSH and platelets every 6 months from month 6 (recovery/clinical/surveillance.py).

The reference episode: Day 0 on 31 Aug 2026 (a month end: month 6 is 28 Feb 2027, month 12 is 31 Aug 2027).
"""

from datetime import date, timedelta

import pytest

from recovery.clinical.surveillance import (
    DEFAULT_SURVEILLANCE_CONFIG,
    DrawStatus,
    SurveillanceConfig,
    surveillance_schedule,
)

DAY0 = date(2026, 8, 31)
M6 = date(2027, 2, 28)
M12 = date(2027, 8, 31)
M18 = date(2028, 2, 29)  # a leap year


def schedule(today, results=None, config=DEFAULT_SURVEILLANCE_CONFIG):
    return surveillance_schedule(DAY0, results or {}, today, config)


def test_draws_are_every_six_months_from_month_6_to_year_10_on_calendar_months():
    draws = schedule(DAY0)
    assert [d.due_date for d in draws[:3]] == [M6, M12, M18]
    assert [d.month for d in draws] == list(range(6, 121, 6))
    assert draws[-1].due_date == date(2036, 8, 31)


def test_the_interval_and_the_span_are_configurable():
    config = SurveillanceConfig(interval_months=12, first_month=12, until_month=36)
    assert [d.due_date for d in schedule(DAY0, config=config)] == [M12, date(2028, 8, 31), date(2029, 8, 31)]


@pytest.mark.parametrize(
    ("today", "status"),
    [
        pytest.param(M6 - timedelta(days=1), DrawStatus.UPCOMING, id="day_before"),
        pytest.param(M6, DrawStatus.DUE, id="due_date"),
        pytest.param(M6 + timedelta(days=29), DrawStatus.DUE, id="last_day_of_grace"),
        pytest.param(M6 + timedelta(days=30), DrawStatus.MISSED, id="grace_over"),
    ],
)
def test_status_of_a_draw_without_results(today, status):
    first = schedule(today)[0]
    assert first.status == status
    assert first.missed_on == M6 + timedelta(days=30)
    assert first.missing == ("tsh", "platelets")


@pytest.mark.parametrize(
    ("tsh", "platelets", "status", "missing"),
    [
        pytest.param(M6, M6, DrawStatus.DONE, (), id="both_on_the_day"),
        pytest.param(M6 - timedelta(days=30), M6, DrawStatus.DONE, (), id="tsh_at_the_window_start"),
        pytest.param(M6 - timedelta(days=31), M6, DrawStatus.MISSED, ("tsh",), id="tsh_too_early"),
        pytest.param(M6 + timedelta(days=40), M6, DrawStatus.DONE, (), id="late_tsh_still_counts"),
        pytest.param(None, M6, DrawStatus.MISSED, ("tsh",), id="platelets_only"),
    ],
)
def test_a_draw_is_done_when_every_test_has_a_result_that_counts(tsh, platelets, status, missing):
    results = {"tsh": [tsh] if tsh else [], "platelets": [platelets]}
    first = schedule(M6 + timedelta(days=60), results)[0]
    assert (first.status, first.missing) == (status, missing)


def test_a_later_draws_result_does_not_make_up_for_a_missed_one():
    results = {"tsh": [M12], "platelets": [M12]}
    draws = schedule(M12, results)
    assert (draws[0].status, draws[1].status) == (DrawStatus.MISSED, DrawStatus.DONE)


def test_a_result_in_the_future_of_today_does_not_count():
    results = {"tsh": [M6 + timedelta(days=5)], "platelets": [M6 + timedelta(days=5)]}
    assert schedule(M6, results)[0].status == DrawStatus.DUE


def test_results_of_other_tests_are_ignored_and_keys_are_stable():
    draws = schedule(M6, {"cd4": [M6]})
    assert draws[0].status == DrawStatus.DUE
    assert draws[0].key == "surveillance:2027-02-28"


@pytest.mark.parametrize(
    "overrides", [{"interval_months": 0}, {"first_month": -1}, {"missed_grace_days": -1}, {"done_window_days": -2}]
)
def test_a_nonsense_configuration_is_refused(overrides):
    with pytest.raises(ValueError, match=r"Surveillance|cannot be negative"):
        SurveillanceConfig(**overrides)


def test_configuration_round_trips_through_json_overrides():
    config = DEFAULT_SURVEILLANCE_CONFIG.with_overrides({"interval_months": 12, "unknown": 1})
    assert config.interval_months == 12
    assert SurveillanceConfig(**config.as_dict()) == config
