"""Kaplan-Meier curves for the cohort dashboard (domain.md section 4.6; section 8 item 22).

Pure: durations and event flags in, plain values out (JSON-ready: no NaN, no infinity). The estimator is
SciPy's (`scipy.stats.ecdf` on right-censored `scipy.stats.CensoredData`); this module only shapes its
result for the API's `cohort/outcomes` resource.

Decisions a reader should know:

* **Confidence interval**: 95%, SciPy's `method="log-log"`, the "exponential Greenwood" interval (Kalbfleisch
  and Prentice): with Greenwood's variance sum V(t) = sum of d / (n (n - d)) over event times up to t, the
  interval is S(t) ** exp(+/- z * sqrt(V(t)) / log S(t)), z = 1.96. Unlike the plain ("linear") Greenwood
  interval it always lies inside [0, 1], and it is the default of Stata and SAS.
* **Where the interval is undefined** (the estimate has reached 0, so log S is infinite), SciPy returns NaN;
  both bounds are then the point estimate (0.0), so the JSON stays valid. Bounds are also clipped so that
  `ci_low <= survival <= ci_high`.
* **Points**: one at 0 months (survival 1.0, interval 1.0 to 1.0, everyone at risk), then one at each distinct
  event time, where the curve steps down. An event at 0 months gives a second point at 0 (the step at 0).
* **At risk** at time t: the number whose duration is >= t (so those censored at t are still at risk at t).
* **Months**: days / (365.25 / 12), a unit conversion, not a clinical threshold.
* `survival_at` is the step function: the value of the last point at or before t; None for an empty curve or
  after the longest follow-up, where the estimate is not defined.
"""

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy import stats

CONFIDENCE_LEVEL = 0.95
CI_METHOD = "log-log"  # SciPy's "exponential Greenwood" interval
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class CurvePoint:
    months: float
    survival: float
    ci_low: float
    ci_high: float
    at_risk: int


@dataclass(frozen=True)
class Curve:
    n: int
    events: int
    points: tuple[CurvePoint, ...]
    last_follow_up: float = 0.0  # the longest duration (event or censored), in months; 0.0 when empty


def months_between(start: date, end: date) -> float:
    """Months from `start` to `end` (negative when `end` is earlier), at 365.25 / 12 days a month."""
    return (end - start).days / DAYS_PER_MONTH


def _validated(durations: Sequence[float], events: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    if len(durations) != len(events):
        raise ValueError(f"{len(durations)} durations but {len(events)} event flags.")
    times = np.asarray(durations, dtype=float).reshape(-1)
    if not np.all(np.isfinite(times)) or np.any(times < 0):
        raise ValueError("Durations must be finite numbers of months, 0 or more.")
    return times, np.asarray(events, dtype=bool).reshape(-1)


def _bound(value: float, estimate: float, *, low: bool) -> float:
    """A confidence bound made JSON-safe: NaN becomes the estimate; never on the wrong side of it."""
    if math.isnan(value):
        return estimate
    value = min(1.0, max(0.0, value))
    return min(value, estimate) if low else max(value, estimate)


def at_risk_table(durations: Sequence[float], months_grid: Sequence[float]) -> list[int]:
    """The number at risk (duration >= t) at each t of `months_grid` (for the table under a curve)."""
    times = np.asarray(durations, dtype=float).reshape(-1)
    return [int(np.count_nonzero(times >= t)) for t in months_grid]


def kaplan_meier(durations_months: Sequence[float], events: Sequence[bool]) -> Curve:
    """The Kaplan-Meier curve with 95% log-log confidence intervals (see the module docstring).

    `events[i]` is True when subject i had the event at `durations_months[i]`, False when censored there.
    Raises ValueError for lengths that differ and for negative or non-finite durations.
    """
    times, observed = _validated(durations_months, events)
    n = int(times.size)
    if n == 0:
        return Curve(n=0, events=0, points=())
    n_events = int(np.count_nonzero(observed))
    points = [CurvePoint(months=0.0, survival=1.0, ci_low=1.0, ci_high=1.0, at_risk=n)]
    event_times = np.unique(times[observed])
    if event_times.size:
        result = stats.ecdf(stats.CensoredData.right_censored(times, ~observed))
        with warnings.catch_warnings():
            # SciPy warns where the interval is undefined (the estimate reached 0); handled in `_bound`.
            warnings.simplefilter("ignore", RuntimeWarning)
            interval = result.sf.confidence_interval(CONFIDENCE_LEVEL, method=CI_METHOD)
            survival = result.sf.evaluate(event_times)
            lows = interval.low.evaluate(event_times)
            highs = interval.high.evaluate(event_times)
        at_risk = at_risk_table(times, event_times)
        for t, s, lo, hi, r in zip(event_times, survival, lows, highs, at_risk, strict=True):
            estimate = float(s)
            points.append(
                CurvePoint(
                    months=float(t),
                    survival=estimate,
                    ci_low=_bound(float(lo), estimate, low=True),
                    ci_high=_bound(float(hi), estimate, low=False),
                    at_risk=r,
                )
            )
    return Curve(n=n, events=n_events, points=tuple(points), last_follow_up=float(times.max()))


def survival_at(curve: Curve, months: float) -> float | None:
    """The estimate at `months`: the last point at or before it (1.0 before 0 months).

    None for an empty curve, and after the longest follow-up (`curve.last_follow_up`), where it is not defined.
    """
    if not curve.points or months > curve.last_follow_up:
        return None
    value = 1.0
    for point in curve.points:
        if point.months > months:
            break
        value = point.survival
    return value
