"""Prophylaxis start and stop dates (recovery/clinical/prophylaxis.py).

The reference episode: Day 0 on 31 Jan 2026 (a month end: month 3 is 30 Apr 2026, month 12 is 31 Jan 2027),
conditioning from D-5 (26 Jan), neutrophil engraftment on D+11 (11 Feb).
"""

import json
import math
from datetime import date, timedelta

import pytest

from recovery.clinical.labs_config import DEFAULT_LAB_CONFIG, DEFAULT_PROPHYLAXIS_CONFIG, ProphylaxisConfig
from recovery.clinical.prophylaxis import CourseStatus, MedicationPlan, course_dates, prophylaxis_plan, usable_cd4

DAY_ZERO = date(2026, 1, 31)
CONDITIONING = date(2026, 1, 26)
ENGRAFTMENT = date(2026, 2, 11)
MONTH_3 = date(2026, 4, 30)
MONTH_12 = date(2027, 1, 31)

NOT_STARTED = CourseStatus.NOT_STARTED
ACTIVE = CourseStatus.ACTIVE
STOP = CourseStatus.STOP_ALLOWED


def d(offset: int) -> date:
    return DAY_ZERO + timedelta(days=offset)


def plan(
    today: date,
    cd4=(),
    engraftment=ENGRAFTMENT,
    conditioning=CONDITIONING,
    config=DEFAULT_PROPHYLAXIS_CONFIG,
    day0=DAY_ZERO,
) -> dict[str, MedicationPlan]:
    courses = prophylaxis_plan(day0, conditioning, engraftment, list(cd4), today, config)
    return {course.medication: course for course in courses}


@pytest.mark.parametrize(
    ("medication", "start", "planned_stop", "until_cd4"),
    [
        pytest.param("aciclovir", CONDITIONING, MONTH_12, True, id="aciclovir_conditioning_to_M12"),
        pytest.param("cotrimoxazole", ENGRAFTMENT, MONTH_3, True, id="cotrimoxazole_engraftment_to_M3"),
        pytest.param("fluconazole", CONDITIONING, ENGRAFTMENT, False, id="fluconazole_to_engraftment"),
        pytest.param("levofloxacin", DAY_ZERO, ENGRAFTMENT, False, id="levofloxacin_D0_to_engraftment"),
    ],
)
def test_default_templates_start_and_planned_stop(medication, start, planned_stop, until_cd4):
    course = plan(d(20))[medication]
    assert (course.start, course.planned_stop, course.until_cd4) == (start, planned_stop, until_cd4)


def test_plan_lists_the_enabled_templates_in_order():
    assert list(plan(d(20))) == ["aciclovir", "cotrimoxazole", "fluconazole", "levofloxacin"]
    config = DEFAULT_PROPHYLAXIS_CONFIG.with_template("fluconazole", enabled=False)
    assert list(plan(d(20), config=config)) == ["aciclovir", "cotrimoxazole", "levofloxacin"]


@pytest.mark.parametrize(
    ("day0", "months", "expected"),
    [
        pytest.param(date(2026, 1, 31), 3, date(2026, 4, 30), id="31_jan_plus_3_is_30_apr"),
        pytest.param(date(2026, 1, 31), 6, date(2026, 7, 31), id="31_jan_plus_6_is_31_jul"),
        pytest.param(date(2025, 11, 30), 3, date(2026, 2, 28), id="30_nov_plus_3_is_28_feb"),
        pytest.param(date(2023, 11, 30), 3, date(2024, 2, 29), id="leap_year_29_feb"),
        pytest.param(date(2026, 3, 15), 4, date(2026, 7, 15), id="mid_month"),
    ],
)
def test_cotrimoxazole_minimum_is_calendar_months_after_day0(day0, months, expected):
    config = DEFAULT_PROPHYLAXIS_CONFIG.with_template("cotrimoxazole", stop_months=months)
    course = plan(
        day0 + timedelta(days=20), day0=day0, conditioning=None, engraftment=day0 + timedelta(days=11), config=config
    )
    assert course["cotrimoxazole"].planned_stop == expected


@pytest.mark.parametrize(
    ("today", "cd4", "stop_allowed", "awaiting_cd4", "status"),
    [
        pytest.param(MONTH_3 - timedelta(days=1), [(d(60), 0.3)], False, False, ACTIVE, id="before_M3_recovered"),
        pytest.param(MONTH_3, [(d(60), 0.3)], True, False, STOP, id="M3_recovered"),
        pytest.param(MONTH_3, [(d(60), 0.2)], True, False, STOP, id="M3_exactly_0.2"),
        pytest.param(MONTH_3, [(d(60), 0.19)], False, True, ACTIVE, id="M3_0.19_awaiting"),
        pytest.param(MONTH_3, [], False, True, ACTIVE, id="M3_no_cd4_awaiting"),
        pytest.param(MONTH_3, [(d(-10), 0.9)], False, True, ACTIVE, id="cd4_before_day0_ignored"),
        pytest.param(MONTH_3, [(MONTH_3 + timedelta(days=1), 0.5)], False, True, ACTIVE, id="cd4_after_today_ignored"),
        pytest.param(MONTH_3, [(d(80), 0.15), (d(40), 0.3)], False, True, ACTIVE, id="latest_fell_again_unsorted"),
        pytest.param(MONTH_3, [(d(80), 0.25), (d(80), 0.18)], False, True, ACTIVE, id="same_day_lowest"),
        pytest.param(d(150), [(d(60), 0.1), (d(140), 0.21)], True, False, STOP, id="later_recovery"),
    ],
)
def test_cotrimoxazole_stops_after_M3_only_with_cd4_recovered(today, cd4, stop_allowed, awaiting_cd4, status):
    course = plan(today, cd4)["cotrimoxazole"]
    assert (course.stop_allowed, course.awaiting_cd4, course.status) == (stop_allowed, awaiting_cd4, status)
    assert course.cd4_recovered is (stop_allowed or today < MONTH_3)


@pytest.mark.parametrize(
    ("today", "cd4", "stop_allowed", "awaiting_cd4"),
    [
        pytest.param(MONTH_12 - timedelta(days=1), [(d(300), 0.4)], False, False, id="before_M12"),
        pytest.param(MONTH_12, [(d(300), 0.4)], True, False, id="M12_recovered"),
        pytest.param(MONTH_12, [(d(300), 0.12)], False, True, id="M12_cd4_low_prompt"),
        pytest.param(date(2027, 6, 1), [(d(300), 0.12), (d(480), 0.22)], True, False, id="recovered_later"),
    ],
)
def test_aciclovir_stops_after_M12_only_with_cd4_recovered(today, cd4, stop_allowed, awaiting_cd4):
    course = plan(today, cd4)["aciclovir"]
    assert (course.stop_allowed, course.awaiting_cd4) == (stop_allowed, awaiting_cd4)


@pytest.mark.parametrize(
    ("today", "medication", "status"),
    [
        pytest.param(d(-6), "aciclovir", NOT_STARTED, id="aciclovir_before_conditioning"),
        pytest.param(d(-5), "aciclovir", ACTIVE, id="aciclovir_from_conditioning"),
        pytest.param(d(-1), "levofloxacin", NOT_STARTED, id="levofloxacin_before_day0"),
        pytest.param(d(0), "levofloxacin", ACTIVE, id="levofloxacin_from_day0"),
        pytest.param(d(10), "levofloxacin", ACTIVE, id="levofloxacin_before_engraftment"),
        pytest.param(d(11), "levofloxacin", STOP, id="levofloxacin_stops_at_engraftment"),
        pytest.param(d(11), "fluconazole", STOP, id="fluconazole_stops_at_engraftment"),
        pytest.param(d(10), "cotrimoxazole", NOT_STARTED, id="cotrimoxazole_waits_for_engraftment"),
        pytest.param(d(11), "cotrimoxazole", ACTIVE, id="cotrimoxazole_from_engraftment"),
    ],
)
def test_course_status_follows_the_episode(today, medication, status):
    assert plan(today)[medication].status == status


def test_without_engraftment_stops_at_engraftment_are_unknown():
    courses = plan(d(25), engraftment=None)
    assert courses["fluconazole"].planned_stop is None
    assert courses["fluconazole"].status == ACTIVE
    assert courses["levofloxacin"].stop_allowed is False
    assert courses["cotrimoxazole"].start is None
    assert courses["cotrimoxazole"].status == NOT_STARTED


def test_engraftment_dated_after_today_is_not_yet_known():
    courses = plan(d(10), engraftment=d(12))
    assert courses["fluconazole"].planned_stop is None
    assert courses["cotrimoxazole"].start is None


def test_missing_conditioning_start_counts_as_started_from_day0():
    before, after = plan(d(-1), conditioning=None), plan(d(1), conditioning=None)
    assert before["aciclovir"].start is None
    assert before["aciclovir"].status == NOT_STARTED
    assert after["aciclovir"].status == ACTIVE
    assert after["aciclovir"].planned_stop == MONTH_12


def test_planned_stop_is_never_before_the_start():
    late = d(100)  # after month 3 (D+89)
    course = plan(d(120), [(d(110), 0.4)], engraftment=late)["cotrimoxazole"]
    assert course.planned_stop == late
    assert course.stop_allowed is True


def test_cd4_threshold_comes_from_config():
    config = ProphylaxisConfig(cd4_threshold=0.3)
    assert plan(MONTH_3, [(d(60), 0.25)], config=config)["cotrimoxazole"].awaiting_cd4 is True
    assert plan(MONTH_3, [(d(60), 0.25)])["cotrimoxazole"].awaiting_cd4 is False


def test_template_without_cd4_gate_stops_on_date_alone():
    config = DEFAULT_PROPHYLAXIS_CONFIG.with_template("aciclovir", until_cd4=False)
    course = plan(MONTH_12, config=config)["aciclovir"]
    assert (course.stop_allowed, course.awaiting_cd4) == (True, False)


def test_config_read_back_from_json_gives_the_same_plan():
    stored = json.loads(json.dumps(DEFAULT_PROPHYLAXIS_CONFIG.as_dict()))
    config = ProphylaxisConfig().with_overrides(stored)
    assert plan(MONTH_3, [(d(60), 0.1)], config=config) == plan(MONTH_3, [(d(60), 0.1)])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"conditioning": d(1)}, "Conditioning cannot start", id="conditioning_after_day0"),
        pytest.param({"engraftment": d(-1)}, "cannot be before Day 0", id="engraftment_before_day0"),
        pytest.param({"cd4": [(d(60), -0.1)]}, "CD4 result", id="negative_cd4"),
        pytest.param({"cd4": [(d(60), math.nan)]}, "CD4 result", id="nan_cd4"),
        pytest.param({"cd4": [(d(60), "0.3")]}, "CD4 result", id="text_cd4"),
        pytest.param(
            {"config": DEFAULT_PROPHYLAXIS_CONFIG.with_template("aciclovir", start="admission")},
            "unknown start or stop",
            id="unknown_anchor",
        ),
    ],
)
def test_prophylaxis_plan_refuses_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plan(d(20), **kwargs)


def test_with_template_refuses_an_unknown_medication():
    with pytest.raises(ValueError, match="No prophylaxis template for 'valaciclovir'"):
        DEFAULT_PROPHYLAXIS_CONFIG.with_template("valaciclovir", stop_months=12)


# --- course_dates: the dates the timeline takes, the same formula as the plan ------------------------------------

COURSE_EDGES = [
    # (Day 0, engraftment day, co-trimoxazole stop months, expected planned stop)
    pytest.param(date(2026, 1, 31), 11, 3, date(2026, 4, 30), id="31_jan_m3_to_30_apr"),
    pytest.param(date(2023, 11, 30), 11, 3, date(2024, 2, 29), id="30_nov_m3_to_leap_day"),
    pytest.param(date(2024, 2, 29), 11, 6, date(2024, 8, 29), id="leap_day0_m6"),
    pytest.param(date(2025, 8, 31), 11, 6, date(2026, 2, 28), id="31_aug_m6_to_28_feb"),
    pytest.param(date(2026, 1, 31), 40, 1, date(2026, 3, 12), id="late_engraftment_moves_the_stop_to_the_start"),
]


@pytest.mark.parametrize(("day0", "engrafted", "months", "expected"), COURSE_EDGES)
def test_course_dates_give_the_day_the_plan_first_allows_stopping(day0, engrafted, months, expected):
    """On the planned stop from course_dates the plan allows stopping (CD4 recovered); the day before it does not."""
    config = DEFAULT_PROPHYLAXIS_CONFIG.with_template("cotrimoxazole", stop_months=months)
    engraftment = day0 + timedelta(days=engrafted)
    start, stop = course_dates(
        "cotrimoxazole", day0=day0, conditioning_start=None, neutrophil_engraftment=engraftment, config=config
    )
    assert (start, stop) == (engraftment, expected)
    cd4 = [(day0 + timedelta(days=1), 0.4)]
    on = plan(stop, cd4, engraftment=engraftment, conditioning=None, config=config, day0=day0)["cotrimoxazole"]
    before = plan(stop - timedelta(days=1), cd4, engraftment=engraftment, conditioning=None, config=config, day0=day0)
    assert (on.planned_stop, on.stop_allowed) == (stop, True)
    assert before["cotrimoxazole"].stop_allowed is False


def test_course_dates_of_a_disabled_or_unknown_medication_are_none():
    config = DEFAULT_PROPHYLAXIS_CONFIG.with_template("cotrimoxazole", enabled=False)
    kwargs = {"day0": DAY_ZERO, "conditioning_start": CONDITIONING, "neutrophil_engraftment": ENGRAFTMENT}
    assert course_dates("cotrimoxazole", config=config, **kwargs) == (None, None)
    assert course_dates("pentamidine", **kwargs) == (None, None)
    assert course_dates("aciclovir", **kwargs) == (CONDITIONING, MONTH_12)


def test_course_dates_without_engraftment_stop_from_day0_alone():
    """Before engraftment is recorded the co-trimoxazole stop is Day 0 + 3 months; its start is unknown."""
    dates = course_dates("cotrimoxazole", day0=DAY_ZERO, conditioning_start=CONDITIONING, neutrophil_engraftment=None)
    assert dates == (None, MONTH_3)


@pytest.mark.parametrize(
    ("today", "engraftment", "stop_allowed", "status"),
    [
        pytest.param(d(40), None, False, NOT_STARTED, id="not_engrafted_not_stoppable"),
        pytest.param(d(40), d(41), False, NOT_STARTED, id="engraftment_tomorrow"),
        pytest.param(d(41), d(41), True, STOP, id="stoppable_from_the_start_once_the_minimum_passed"),
    ],
)
def test_a_course_that_has_not_started_cannot_be_stopped(today, engraftment, stop_allowed, status):
    """With a one-month minimum, co-trimoxazole is not "may stop" before engraftment starts it."""
    config = DEFAULT_PROPHYLAXIS_CONFIG.with_template("cotrimoxazole", stop_months=1)
    course = plan(today, [(d(1), 0.5)], engraftment=engraftment, config=config)["cotrimoxazole"]
    assert (course.stop_allowed, course.status) == (stop_allowed, status)


@pytest.mark.parametrize(
    ("results", "usable"),
    [
        pytest.param([], [], id="none"),
        pytest.param([(-3, 0.9), (0, 0.8), (30, 0.1)], [(30, 0.1)], id="only_after_day0"),
        pytest.param([(30, 0.3), (60, 250.0)], [], id="implausible_latest_hides_the_older"),
        pytest.param([(30, 250.0), (60, 0.25)], [(60, 0.25)], id="after_the_implausible_one"),
        pytest.param([(-5, 400.0), (30, 0.25)], [(30, 0.25)], id="implausible_before_day0_still_cuts"),
        pytest.param([(60, 0.1), (60, 250.0)], [], id="same_day_as_the_implausible_one"),
    ],
)
def test_usable_cd4_is_after_day0_and_after_the_last_implausible_count(results, usable):
    days = [(DAY_ZERO + timedelta(days=day), value) for day, value in results]
    expected = [(DAY_ZERO + timedelta(days=day), value) for day, value in usable]
    assert usable_cd4(days, DAY_ZERO, DEFAULT_LAB_CONFIG) == expected
