"""Kaplan-Meier curves for the cohort dashboard (recovery/clinical/survival.py).

The worked example is the classic 6-MP arm of Freireich et al. (Blood 1963): remission times in weeks of 21
children with acute leukaemia given 6-mercaptopurine, `*` = still in remission (censored):

    6, 6, 6, 6*, 7, 9*, 10, 10*, 11*, 13, 16, 17*, 19*, 20*, 22, 23, 25*, 32*, 32*, 34*, 35*

Its Kaplan-Meier table, as tabulated in the standard survival-analysis texts (Kalbfleisch and Prentice; Cox
and Oakes, Analysis of Survival Data, 1984): 0.857 at 6 weeks, 0.807 at 7, 0.753 at 10, 0.690 at 13, 0.627 at
16, 0.538 at 22 and 0.448 at 23, with 21, 17, 15, 12, 11, 7 and 6 at risk.
The unit (weeks here, months in the app) does not matter to the estimator.
"""

import ast
import json
import math
import re
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path

import pytest

from recovery.clinical import survival as survival_module
from recovery.clinical.survival import (
    CI_METHOD,
    Curve,
    CurvePoint,
    at_risk_table,
    kaplan_meier,
    months_between,
    survival_at,
)

# fmt: off
SIX_MP = [
    "6", "6", "6", "6*", "7", "9*", "10", "10*", "11*", "13", "16",
    "17*", "19*", "20*", "22", "23", "25*", "32*", "32*", "34*", "35*",
]
# fmt: on
DURATIONS = [float(value.rstrip("*")) for value in SIX_MP]
EVENTS = [not value.endswith("*") for value in SIX_MP]

# (time, at risk, events there, published estimate)
PUBLISHED = [
    (6, 21, 3, 0.857),
    (7, 17, 1, 0.807),
    (10, 15, 1, 0.753),
    (13, 12, 1, 0.690),
    (16, 11, 1, 0.627),
    (22, 7, 1, 0.538),
    (23, 6, 1, 0.448),
]
Z_95 = 1.959963984540054  # the standard normal 97.5% quantile


@pytest.fixture(scope="module")
def curve() -> Curve:
    return kaplan_meier(DURATIONS, EVENTS)


def test_worked_example_counts(curve):
    assert curve.n == 21
    assert curve.events == 9
    assert curve.last_follow_up == 35.0


def test_worked_example_estimates_match_the_published_table(curve):
    assert curve.points[0] == CurvePoint(months=0.0, survival=1.0, ci_low=1.0, ci_high=1.0, at_risk=21)
    steps = curve.points[1:]
    assert [p.months for p in steps] == [float(t) for t, _, _, _ in PUBLISHED]
    assert [p.at_risk for p in steps] == [n for _, n, _, _ in PUBLISHED]
    assert [round(p.survival, 3) for p in steps] == [s for _, _, _, s in PUBLISHED]


def test_worked_example_product_limit_by_hand(curve):
    # The estimator itself: the product of (1 - d/n) over the event times.
    expected = 1.0
    for (time, at_risk, deaths, _), point in zip(PUBLISHED, curve.points[1:], strict=True):
        expected *= 1 - deaths / at_risk
        assert point.months == time
        assert point.survival == pytest.approx(expected, abs=1e-12)


def test_log_log_interval_at_13_weeks_by_hand(curve):
    # Greenwood: V = sum d / (n (n - d)) over the event times up to 13 weeks.
    greenwood = 3 / (21 * 18) + 1 / (17 * 16) + 1 / (15 * 14) + 1 / (12 * 11)
    estimate = (18 / 21) * (16 / 17) * (14 / 15) * (11 / 12)  # 0.690
    assert greenwood == pytest.approx(0.023951, abs=1e-6)
    # Greenwood standard error of the estimate, S * sqrt(V).
    assert estimate * math.sqrt(greenwood) == pytest.approx(0.1068, abs=1e-4)
    # Log-log ("exponential Greenwood") interval: S ** exp(+/- z * sqrt(V) / log S).
    spread = Z_95 * math.sqrt(greenwood) / abs(math.log(estimate))
    low, high = estimate ** math.exp(spread), estimate ** math.exp(-spread)
    assert (round(low, 3), round(high, 3)) == (0.432, 0.849)

    point = next(p for p in curve.points if p.months == 13)
    assert point.survival == pytest.approx(estimate, abs=1e-12)
    assert point.ci_low == pytest.approx(low, abs=1e-9)
    assert point.ci_high == pytest.approx(high, abs=1e-9)


def test_log_log_interval_at_every_event_time(curve):
    assert CI_METHOD == "log-log"
    greenwood, estimate = 0.0, 1.0
    for (_, at_risk, deaths, _), point in zip(PUBLISHED, curve.points[1:], strict=True):
        greenwood += deaths / (at_risk * (at_risk - deaths))
        estimate *= 1 - deaths / at_risk
        spread = Z_95 * math.sqrt(greenwood) / abs(math.log(estimate))
        assert point.ci_low == pytest.approx(estimate ** math.exp(spread), abs=1e-9)
        assert point.ci_high == pytest.approx(estimate ** math.exp(-spread), abs=1e-9)
        assert 0.0 <= point.ci_low <= point.survival <= point.ci_high <= 1.0


@pytest.mark.parametrize(
    ("months", "expected"),
    [
        pytest.param(-1, 1.0, id="before-start"),
        pytest.param(0, 1.0, id="start"),
        pytest.param(5.9, 1.0, id="before-first-event"),
        pytest.param(6, 0.857, id="at-first-event"),
        pytest.param(9, 0.807, id="between-events"),
        pytest.param(12.99, 0.753, id="just-before-13"),
        pytest.param(23, 0.448, id="last-event"),
        pytest.param(35, 0.448, id="last-follow-up"),
    ],
)
def test_survival_at_is_the_step_function(curve, months, expected):
    assert round(survival_at(curve, months), 3) == expected


def test_survival_at_is_undefined_after_the_longest_follow_up(curve):
    assert survival_at(curve, 35.01) is None


def test_at_risk_table(curve):
    assert at_risk_table(DURATIONS, [0, 6, 6.5, 12, 24, 35, 36]) == [21, 21, 17, 12, 5, 1, 0]
    assert at_risk_table([], [0, 12]) == [0, 0]


def test_empty_input():
    curve = kaplan_meier([], [])
    assert curve == Curve(n=0, events=0, points=())
    assert survival_at(curve, 0) is None


def test_all_censored():
    curve = kaplan_meier([3.0, 5.0, 5.0, 12.0], [False] * 4)
    assert curve.n == 4
    assert curve.events == 0
    assert curve.points == (CurvePoint(months=0.0, survival=1.0, ci_low=1.0, ci_high=1.0, at_risk=4),)
    assert survival_at(curve, 12) == 1.0
    assert survival_at(curve, 13) is None


def test_curve_reaching_zero_has_no_nan():
    # The last subject at risk has the event: the estimate is 0 and the log-log interval is undefined there.
    curve = kaplan_meier([1.0, 2.0, 3.0], [True, True, True])
    last = curve.points[-1]
    assert (last.months, last.survival, last.ci_low, last.ci_high, last.at_risk) == (3.0, 0.0, 0.0, 0.0, 1)
    assert all(not math.isnan(value) for p in curve.points for value in (p.survival, p.ci_low, p.ci_high))
    json.dumps(asdict(curve), allow_nan=False)  # valid JSON


def test_single_event():
    curve = kaplan_meier([4.0], [True])
    assert [(p.months, p.survival, p.at_risk) for p in curve.points] == [(0.0, 1.0, 1), (4.0, 0.0, 1)]
    json.dumps(asdict(curve), allow_nan=False)


def test_event_at_zero_steps_down_at_zero():
    curve = kaplan_meier([0.0, 2.0, 4.0], [True, False, True])
    assert [(p.months, round(p.survival, 4)) for p in curve.points] == [(0.0, 1.0), (0.0, 0.6667), (4.0, 0.0)]
    assert round(survival_at(curve, 0), 4) == 0.6667


def test_ties_between_events_and_censoring_count_the_censored_at_risk():
    # As in the worked example at 6 weeks: the censored subject at t is still at risk at t.
    curve = kaplan_meier([5.0, 5.0, 8.0], [True, False, True])
    assert [(p.months, p.at_risk) for p in curve.points] == [(0.0, 3), (5.0, 3), (8.0, 1)]
    assert curve.points[1].survival == pytest.approx(2 / 3)


def test_order_of_input_does_not_matter(curve):
    assert kaplan_meier(DURATIONS[::-1], EVENTS[::-1]) == curve


@pytest.mark.parametrize(
    ("durations", "events"),
    [
        pytest.param([1.0, 2.0], [True], id="length-mismatch"),
        pytest.param([-1.0], [True], id="negative"),
        pytest.param([math.nan], [True], id="nan"),
        pytest.param([math.inf], [False], id="infinite"),
    ],
)
def test_invalid_input_is_refused(durations, events):
    with pytest.raises(ValueError, match=r"[Dd]urations"):
        kaplan_meier(durations, events)


def test_months_between():
    start = date(2024, 1, 15)
    assert months_between(start, start) == 0.0
    assert months_between(start, start + timedelta(days=365.25 * 5)) == pytest.approx(60.0, abs=0.02)
    assert months_between(start, start - timedelta(days=1)) < 0


def test_module_is_pure():
    source = Path(survival_module.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith("django") for name in imported)
    assert not re.search(r"\b(now|today|utcnow)\(", source)
